#!/bin/sh
# elq [options]: move new mail from $MAILDIR to the mbox $MAIL with
# maildir2mbox (MAILTMP names its journal), then run elm on it
# (see doc/elq.1). Nothing is started when maildir2mbox fails.
bin=$(dirname "$(readlink -f "$0")") || { echo "elq: unable to find my own location" >&2; exit 111; }
"$bin/maildir2mbox" || exit $?
exec elm "$@"
