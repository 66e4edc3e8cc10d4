#!/bin/sh
# datemail [sendmail options]: sendmail, with the Date field in local time
# (predate puts it on top; see doc/datemail.1).
bin=$(dirname "$(readlink -f "$0")") || { echo "datemail: unable to find my own location" >&2; exit 111; }
exec "$bin/predate" "$bin/sendmail" "$@"
