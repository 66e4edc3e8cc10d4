#!/bin/sh
# run.sh DIR [BUILD]: `make run`. Creates (or upgrades) a demonstration
# instance in DIR (./run by default), names it DEMO_NAME (default
# demo.nqmail.test) unless it already has a name, gives it SMTP,
# submission and POP3 listeners on free loopback ports (kept in its
# control/smtpd-listen, submission-listen and pop3-listen; SMTPS and POP3S
# off), a virtual user demo@NAME with a new password whose POP3 mailbox is
# alias/Maildir (where postmaster's mail goes), starts it with qmailctl
# and says how to send it a message (qmail-inject, swaks, Python's
# smtplib), where the message lands and how to read it over POP3
# (Python's poplib, STLS).
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
if [ ! -e "$DIR/control/pop3-listen" ]; then
	p=$(free_port 1110) || { echo "run: no free port for POP3" >&2; exit 111; }
	put pop3-listen "127.0.0.1:$p"
fi
[ -e "$DIR/control/smtps-listen" ] || put smtps-listen ""
[ -e "$DIR/control/pop3s-listen" ] || put pop3s-listen ""
smtp=$(sed -n 1p "$DIR/control/smtpd-listen")
sub=$(sed -n 1p "$DIR/control/submission-listen")
subport=${sub##*:}
subhost=${sub%:*}; subhost=${subhost#[}; subhost=${subhost%]}
pop=$(sed -n 1p "$DIR/control/pop3-listen")
popport=${pop##*:}
pophost=${pop%:*}; pophost=${pophost#[}; pophost=${pophost%]}

# A virtual user for submission and POP3, with a new password every
# time. Its POP3 mailbox is the alias user's: it runs as that account (the
# owner in a single-user instance) in DIR/alias, so it reads what
# postmaster receives.
user="demo@$name"
pass=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
if [ "$(id -u)" = 0 ]; then account=alias; else account=$(id -un); fi
printf '%s\n' "$pass" | "$DIR/bin/qmail-vuser" add "$user" "$account" "$DIR/alias" >/dev/null || exit 111

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
Read it over POP3, on $pop (STLS, then USER $user, password $pass):
    python3 -c 'import poplib, ssl; p = poplib.POP3("$pophost", $popport); p.stls(ssl._create_unverified_context()); p.user("$user"); p.pass_("$pass"); n = p.stat()[0]; print(b"\n".join(p.retr(n)[1]).decode() if n else "no mail yet"); p.quit()'
What runs, and the queue:     $DIR/bin/qmailctl stat
The logs:                     $DIR/log/*/current
The configuration explained:  $DIR/bin/qmail-showctl
Stop it:                      $DIR/bin/qmailctl stop
EOF
