#!/bin/sh
# setmaildir: the name the project's contract gives fastforward's
# setmaillist (create a binary mailing list); see setmaildir(1).
exec "$(dirname "$0")/setmaillist" "$@"
