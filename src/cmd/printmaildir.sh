#!/bin/sh
# printmaildir: the name the project's contract gives fastforward's
# printmaillist (print a binary mailing list); see printmaildir(1).
exec "$(dirname "$0")/printmaillist" "$@"
