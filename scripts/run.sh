#!/bin/sh
# run.sh DIR [BUILD]: `make run`. Creates (or upgrades) a demonstration
# instance in DIR (./run by default), names it DEMO_NAME (default
# demo.nqmail.test) unless it already has a name, gives it SMTP and
# submission listeners on free loopback ports (kept in its
# control/smtpd-listen and submission-listen; SMTPS off), a virtual user
# demo@NAME with a new password, starts it with qmailctl and says how to
# send it a message (qmail-inject, swaks, Python's smtplib) and where the
# message lands.
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

# free_port FIRST: the first port from FIRST on where nothing listens
free_port() {
	p=$1
	while [ "$p" -lt $(($1 + 200)) ]; do
		if ! ss -Hltn 2>/dev/null | awk '{ print $4 }' | grep -q "[:.]$p\$"; then
			echo "$p"; return 0
		fi
		p=$((p + 1))
	done
	return 1
}
# put FILE TEXT: control/FILE becomes TEXT (owned like control/)
put() {
	printf '%s\n' "$2" > "$DIR/control/$1.tmp" && chmod 644 "$DIR/control/$1.tmp" &&
		chown --reference="$DIR/control" "$DIR/control/$1.tmp" 2>/dev/null
	mv -f "$DIR/control/$1.tmp" "$DIR/control/$1"
}
# Loopback only, on ports found free the first time and kept afterwards
# (a running demo holds them).
if [ ! -e "$DIR/control/smtpd-listen" ]; then
	p=$(free_port 2525) || { echo "run: no free port for SMTP" >&2; exit 111; }
	put smtpd-listen "127.0.0.1:$p"
fi
if [ ! -e "$DIR/control/submission-listen" ]; then
	p=$(free_port 5870) || { echo "run: no free port for submission" >&2; exit 111; }
	put submission-listen "127.0.0.1:$p"
fi
[ -e "$DIR/control/smtps-listen" ] || put smtps-listen ""
smtp=$(sed -n 1p "$DIR/control/smtpd-listen")
sub=$(sed -n 1p "$DIR/control/submission-listen")
subport=${sub##*:}
subhost=${sub%:*}; subhost=${subhost#[}; subhost=${subhost%]}

# A virtual user for submission, with a new password every time.
user="demo@$name"
pass=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
printf '%s\n' "$pass" | "$DIR/bin/qmail-vuser" add "$user" >/dev/null || exit 111

if "$DIR/bin/qmailctl" stat >/dev/null 2>&1; then
	"$DIR/bin/qmailctl" restart || exit 111
else
	"$DIR/bin/qmailctl" start || exit 111
fi

cat <<EOF

nqmail runs in $DIR as $name.
Send it a message:
    echo 'Subject: hello' | $DIR/bin/qmail-inject postmaster@$name
or over SMTP, on $smtp:
    swaks --server $smtp --from you@example.com --to postmaster@$name
or through submission, on $sub (STARTTLS, then AUTH as $user, password $pass):
    swaks --server $sub --tls --auth LOGIN --auth-user $user --auth-password $pass --from $user --to postmaster@$name
    python3 -c 'import smtplib, ssl; s = smtplib.SMTP("$subhost", $subport, local_hostname="localhost"); s.starttls(context=ssl._create_unverified_context()); s.login("$user", "$pass"); s.sendmail("$user", ["postmaster@$name"], "Subject: hello\\r\\n\\r\\nhi\\r\\n"); s.quit()'
It lands in $DIR/alias/Maildir/new/ (postmaster, root and mailer-daemon
are delivered there):
    ls $DIR/alias/Maildir/new/
What runs, and the queue:     $DIR/bin/qmailctl stat
The logs:                     $DIR/log/*/current
The configuration explained:  $DIR/bin/qmail-showctl
Stop it:                      $DIR/bin/qmailctl stop
EOF
