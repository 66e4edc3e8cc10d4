#!/bin/sh
# qail [options]: move new mail from $MAILDIR to the mbox $MAIL with
# maildir2mbox (MAILTMP names its journal), then run Mail on it
# (see doc/qail.1). Nothing is started when maildir2mbox fails.
bin=$(dirname "$(readlink -f "$0")") || { echo "qail: unable to find my own location" >&2; exit 111; }
"$bin/maildir2mbox" || exit $?
exec Mail "$@"
