#!/bin/sh
# pinq [options]: move new mail from $MAILDIR to the mbox $MAIL with
# maildir2mbox (MAILTMP names its journal), then run pine on it
# (see doc/pinq.1). Nothing is started when maildir2mbox fails.
bin=$(dirname "$(readlink -f "$0")") || { echo "pinq: unable to find my own location" >&2; exit 111; }
"$bin/maildir2mbox" || exit $?
exec pine "$@"
