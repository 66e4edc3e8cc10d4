#!/bin/sh
# mailsubj SUBJECT RECIPIENT ...: send standard input as the body of a
# message with that Subject to those recipients (see doc/mailsubj.1).
# The header is "Subject: SUBJECT" and "To: RECIPIENT ...", written as
# given (quote them for a mail header yourself); qmail-inject of this
# instance completes and sends the message.
set -u
[ $# -ge 2 ] || { echo "mailsubj: usage: mailsubj subject recipient ..." >&2; exit 100; }
bin=$(dirname "$(readlink -f "$0")") || { echo "mailsubj: unable to find my own location" >&2; exit 111; }
subject=$1
shift
case "$subject$*" in
*'
'*) echo "mailsubj: a line break in the subject or a recipient would forge header lines" >&2; exit 100 ;;
esac
{
	printf 'Subject: %s\n' "$subject"
	printf 'To: %s\n' "$*"
	printf '\n'
	cat
} | "$bin/qmail-inject"
