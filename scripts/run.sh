#!/bin/sh
# run.sh DIR [BUILD]: `make run`. Creates (or upgrades) a demonstration
# instance in DIR (./run by default), names it DEMO_NAME (default
# demo.nqmail.test) unless it already has a name, starts it with qmailctl
# and says how to send it a message and where the message lands.
# As root the instance is a root instance, with the qmail users; as anyone
# else a single-user instance.
set -u
DIR=${1:?usage: run.sh DIR [BUILD]}
B=${2:-build}
NAME=${DEMO_NAME:-demo.nqmail.test}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac

if ! out=$(sh "$top/scripts/setup.sh" "$DIR" "$B" 2>&1); then
	printf '%s\n' "$out" >&2
	case "$out" in
	*"keeps the qmail users out"*)
		cat >&2 <<EOF

run: as root, the demo is a root instance: its programs run as the qmail
users, which must be able to reach $DIR. Either make the directory named
above searchable (chmod o+x), or choose a place they can reach:
    make run PREFIX=/var/qmail-demo
or run \`make run\` as an ordinary user for a single-user instance.
EOF
		;;
	esac
	exit 100
fi
printf '%s\n' "$out"
[ -s "$DIR/control/me" ] || "$DIR/bin/config-fast" "$NAME" >/dev/null || exit 111
name=$(head -n 1 "$DIR/control/me")

if "$DIR/bin/qmailctl" stat >/dev/null 2>&1; then
	"$DIR/bin/qmailctl" restart || exit 111
else
	"$DIR/bin/qmailctl" start || exit 111
fi

cat <<EOF

nqmail runs in $DIR as $name.
Send it a message:
    echo 'Subject: hello' | $DIR/bin/qmail-inject postmaster@$name
It lands in $DIR/alias/Maildir/new/ (postmaster, root and mailer-daemon
are delivered there):
    ls $DIR/alias/Maildir/new/
What runs, and the queue:     $DIR/bin/qmailctl stat
qmail-send's log:             $DIR/log/qmail-send/current
The configuration explained:  $DIR/bin/qmail-showctl
Stop it:                      $DIR/bin/qmailctl stop
EOF
