#!/bin/sh
# setup.sh DIR [BUILD]: create or upgrade an nqmail instance in DIR.
# As root: the qmail users and groups (created when missing), qmail's
# ownerships and modes (the model is qmail's hier.c), qmail-queue set-uid
# qmailq, and for SMTP qmail-rcptcheck set-uid root and checkpassword
# set-gid shadow. As anyone else: a single-user instance where every role
# is the caller. Either way: state/smtpd for qmail-smtpd, and a
# self-signed control/servercert.pem (qmail-mkcert) when there is none.
# Running it again replaces the programs, the start scripts in boot/ and
# the run script of service/qmail-send, and keeps control/, users/,
# alias/, queue/, state/ and log/ (qmailctl writes the SMTP and POP3
# listeners' service directories from boot/smtpd.run and boot/pop3d.run).
# Optional (environment or make variables):
#   SENDMAIL_LINKS=1  also link /usr/sbin/sendmail, /usr/lib/sendmail and
#                     /usr/bin/mailq to the instance (LINK_ROOT=D puts the
#                     links under D instead of /, for packaging and tests)
#   BOOT_RC=1         also install DIR/rc (qmail's boot script)
#   SYSTEMD_UNITS=1   also install the systemd units of DIR/boot/systemd/
#                     into /etc/systemd/system (SYSTEMD_UNIT_DIR=D: into D)
set -eu
umask 022
DIR=${1:?usage: setup.sh DIR [BUILD]}
B=${2:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$B" in /*) ;; *) B="$top/$B" ;; esac
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
DIR=$(printf '%s\n' "$DIR" | sed 's://*:/:g; s:/$::')
# DIR is written into run scripts and unit files: keep it to plain path characters.
case "$DIR" in
*[!A-Za-z0-9._/+@:,-]*|'')
	echo "setup: $DIR: use a directory name made of letters, digits and ._/+@:,-" >&2; exit 100 ;;
esac
[ -x "$B/bin/qmail-queue" ] || { echo "setup: $B/bin has no programs; run make first" >&2; exit 100; }

if [ "$(id -u)" = 0 ]; then MODE=root; else MODE=single; fi

# retry CMD...: user and group databases are locked while another setup
# (a parallel test) edits them; try again for a while.
retry() {
	n=0
	until "$@"; do
		n=$((n+1))
		[ $n -lt 20 ] || return 1
		sleep 1
	done
}
addgroup_() { getent group "$1" >/dev/null || groupadd -r "$1" 2>/dev/null || getent group "$1" >/dev/null; }
adduser_() { getent passwd "$1" >/dev/null || useradd -r -g "$2" -d "$3" -s /usr/sbin/nologin "$1" 2>/dev/null || getent passwd "$1" >/dev/null; }

if [ $MODE = root ]; then
	# Every parent of DIR must let the qmail users through: qmail-send,
	# qmail-local and the rest run as them and start by changing into DIR.
	p=$(dirname "$DIR")
	while :; do
		if [ -d "$p" ]; then
			perm=$(stat -L -c %a "$p")
			case "$perm" in
			*[1357]) ;;
			*) echo "setup: $p (mode $perm) keeps the qmail users out of $DIR; use another PREFIX or chmod o+x $p" >&2; exit 100 ;;
			esac
		fi
		[ "$p" != / ] || break
		p=$(dirname "$p")
	done
	retry addgroup_ qmail || { echo "setup: unable to create group qmail" >&2; exit 111; }
	retry addgroup_ nofiles || { echo "setup: unable to create group nofiles" >&2; exit 111; }
	for u in alias qmaild qmaill qmailp; do
		retry adduser_ $u nofiles "$DIR/alias" || { echo "setup: unable to create user $u" >&2; exit 111; }
	done
	for u in qmailq qmailr qmails; do
		retry adduser_ $u qmail "$DIR" || { echo "setup: unable to create user $u" >&2; exit 111; }
	done
	uid() { id -u "$1"; }
	gid() { id -g "$1"; }
	QG=$(getent group qmail | cut -d: -f3)
	NG=$(getent group nofiles | cut -d: -f3)
	R=root; Q=qmail; AL=alias; QL=qmaill; QQ=qmailq; QS=qmails; QR=qmailr
else
	me=$(id -u); mg=$(id -g)
	uid() { echo "$me"; }
	gid() { echo "$mg"; }
	QG=$mg; NG=$mg
	R=$me; Q=$mg; AL=$me; QL=$me; QQ=$me; QS=$me; QR=$me
fi

# d PATH MODE OWNER GROUP: directory with owner and mode
d() {
	mkdir -p "$1"
	if [ $MODE = root ]; then chown "$3:$4" "$1"; fi
	chmod "$2" "$1"
}
# f SRC DST MODE OWNER GROUP: install a file atomically
f() {
	cp "$1" "$2.new"
	if [ $MODE = root ]; then chown "$4:$5" "$2.new"; fi
	chmod "$3" "$2.new"
	mv -f "$2.new" "$2"
}
# t SRC DST MODE: install a template from conf/ with the instance filled in
t() {
	sed -e "s|@DIR@|$DIR|g" -e "s|@LOGUSER@|$LOGUSER|g" "$1" > "$2.tmp"
	f "$2.tmp" "$2" "$3" $R $Q
	rm -f "$2.tmp"
}

d "$DIR" 755 $R $Q
for sub in bin boot doc man man/man1 man/man5 man/man7 man/man8 control users service log; do
	d "$DIR/$sub" 755 $R $Q
done
d "$DIR/alias" 2755 $AL $Q
# The alias user's mailbox, where config-fast's .qmail-postmaster delivers.
for sub in "" /cur /new /tmp; do d "$DIR/alias/Maildir$sub" 700 $AL $Q; done
d "$DIR/queue" 750 $QQ $Q
d "$DIR/queue/pid" 700 $QQ $Q
d "$DIR/queue/intd" 700 $QQ $Q
d "$DIR/queue/todo" 750 $QQ $Q
d "$DIR/queue/mess" 750 $QQ $Q
d "$DIR/queue/lock" 750 $QQ $Q
for sub in info local remote; do d "$DIR/queue/$sub" 700 $QS $Q; done
d "$DIR/queue/bounce" 700 $QS $Q
d "$DIR/queue/hold" 700 $QS $Q      # qmail-qctl hold (src/mail/qctl.h)
d "$DIR/queue/mtasts" 700 $QR $Q    # MTA-STS policy cache, TLS-RPT counts (src/mail/mtasts.h)
i=0
while [ $i -lt 23 ]; do
	d "$DIR/queue/mess/$i" 750 $QQ $Q
	for sub in info local remote; do d "$DIR/queue/$sub/$i" 700 $QS $Q; done
	i=$((i+1))
done
[ -e "$DIR/queue/lock/tcpto" ] || : > "$DIR/queue/lock/tcpto"
[ -e "$DIR/queue/lock/sendmutex" ] || : > "$DIR/queue/lock/sendmutex"
[ -p "$DIR/queue/lock/trigger" ] || { rm -f "$DIR/queue/lock/trigger"; mkfifo "$DIR/queue/lock/trigger"; }
[ -p "$DIR/queue/lock/qctl" ] || { rm -f "$DIR/queue/lock/qctl"; mkfifo "$DIR/queue/lock/qctl"; }
if [ $MODE = root ]; then
	chown $QR:$Q "$DIR/queue/lock/tcpto"
	chown $QS:$Q "$DIR/queue/lock/sendmutex"
	chown $QS:$Q "$DIR/queue/lock/trigger"
	chown $QS:$Q "$DIR/queue/lock/qctl"
fi
chmod 644 "$DIR/queue/lock/tcpto"
chmod 600 "$DIR/queue/lock/sendmutex"
chmod 622 "$DIR/queue/lock/trigger"
chmod 600 "$DIR/queue/lock/qctl"

# The role ids (see src/mail/instance.h).
{
	for r in alias qmaild qmaill qmailp qmailq qmailr qmails; do
		echo "$r:$(uid $r):$(gid $r)"
	done
	echo "qmail::$QG"
	echo "nofiles::$NG"
} > "$DIR/users/ids.new"
chmod 644 "$DIR/users/ids.new"
mv -f "$DIR/users/ids.new" "$DIR/users/ids"

# Programs: modes as qmail's hier.c gives them. A single-user instance has
# no other uid to switch to, so nothing there is set-id.
for p in "$B"/bin/*; do
	[ -f "$p" ] || continue
	n=$(basename "$p")
	case "$n" in
	qmail-queue)
		if [ $MODE = root ]; then f "$p" "$DIR/bin/$n" 4711 $QQ $Q
		else f "$p" "$DIR/bin/$n" 755 $R $Q; fi ;;
	qmail-lspawn|qmail-start|qmail-newu|qmail-newmrh|qmail-vuser|qmail-mkcert)
		f "$p" "$DIR/bin/$n" 700 $R $Q ;;
	qmail-rcptcheck)
		# qmail-smtpd (qmaild) asks it about recipients in homes closed to
		# qmaild; it checks its caller and uses root only in children.
		if [ $MODE = root ]; then f "$p" "$DIR/bin/$n" 4711 root $Q
		else f "$p" "$DIR/bin/$n" 755 $R $Q; fi ;;
	checkpassword)
		# Set-gid shadow, as Debian's unix_chkpwd, so that qmail-smtpd can
		# check system passwords without being root.
		if [ $MODE = root ] && getent group shadow >/dev/null; then f "$p" "$DIR/bin/$n" 2755 root shadow
		else f "$p" "$DIR/bin/$n" 755 $R $Q; fi ;;
	qmail-getpw|qmail-local|qmail-remote|qmail-rspawn|qmail-clean|qmail-send|splogger|qmail-pw2u|qmail-popup)
		f "$p" "$DIR/bin/$n" 711 $R $Q ;;
	*)	f "$p" "$DIR/bin/$n" 755 $R $Q ;;
	esac
done

# SMTP state: qmail-smtpd keeps its per-IP lock slots and AUTH rate
# counters in state/smtpd, writable by qmaild alone.
d "$DIR/state" 755 $R $Q
if [ $MODE = root ]; then d "$DIR/state/smtpd" 700 qmaild "$(gid qmaild)"
else d "$DIR/state/smtpd" 700 $R $Q; fi

# A self-signed certificate for STARTTLS and SMTPS when there is none
# (config-fast replaces it when it names the host). Without openssl the
# servers simply offer no TLS.
if [ ! -e "$DIR/control/servercert.pem" ]; then
	if command -v openssl >/dev/null 2>&1; then
		NQMAIL_HOME="$DIR" "$DIR/bin/qmail-mkcert" || echo "setup: no certificate made; the servers offer no TLS" >&2
	else
		echo "setup: openssl is not installed: no control/servercert.pem, so the servers offer no TLS" >&2
	fi
fi

# Start scripts. boot/ holds them for the administrator to use or copy:
# rc (qmail's boot script), the daemontools run scripts and systemd units.
# service/qmail-send is the daemontools service that qmailctl supervises.
if [ $MODE = root ]; then LOGUSER="setuidgid qmaill "; else LOGUSER=""; fi
t "$top/conf/rc" "$DIR/boot/rc" 755
t "$top/conf/qmail-send.run" "$DIR/boot/qmail-send.run" 755
t "$top/conf/qmail-send.log.run" "$DIR/boot/qmail-send.log.run" 755
t "$top/conf/nqmail.service" "$DIR/boot/nqmail.service" 644
t "$top/conf/nqmail-svscan.service" "$DIR/boot/nqmail-svscan.service" 644
t "$top/conf/tcp.smtp" "$DIR/boot/tcp.smtp.sample" 644
# The listeners' run scripts, which qmailctl writes into service/ for
# each line of control/smtpd-listen, submission-listen, smtps-listen
# (smtpd.run) and pop3-listen, pop3s-listen (pop3d.run).
t "$top/conf/smtpd.run" "$DIR/boot/smtpd.run" 644
t "$top/conf/smtpd.log.run" "$DIR/boot/smtpd.log.run" 644
t "$top/conf/pop3d.run" "$DIR/boot/pop3d.run" 644
t "$top/conf/pop3d.log.run" "$DIR/boot/pop3d.log.run" 644
# QMQP and QMTP listeners (control/qmqp-listen, qmtp-listen), with the
# loopback-only QMQP rules qmailctl compiles while the administrator has
# written none, and a sample of QMTP's.
t "$top/conf/qmqpd.run" "$DIR/boot/qmqpd.run" 644
t "$top/conf/qmqpd.log.run" "$DIR/boot/qmqpd.log.run" 644
t "$top/conf/qmtpd.run" "$DIR/boot/qmtpd.run" 644
t "$top/conf/qmtpd.log.run" "$DIR/boot/qmtpd.log.run" 644
t "$top/conf/tcp.qmqp" "$DIR/boot/tcp.qmqp.default" 644
t "$top/conf/tcp.qmtp" "$DIR/boot/tcp.qmtp.sample" 644
d "$DIR/service/qmail-send" 755 $R $Q
d "$DIR/service/qmail-send/log" 755 $R $Q
t "$top/conf/qmail-send.run" "$DIR/service/qmail-send/run" 755
t "$top/conf/qmail-send.log.run" "$DIR/service/qmail-send/log/run" 755
# multilog writes here as qmaill; qmailctl appends here without daemontools.
d "$DIR/log/qmail-send" 755 $QL $Q

# systemd units (conf/systemd/), always in boot/systemd/ for the
# administrator to read or copy; with SYSTEMD_UNITS=1 also installed into
# /etc/systemd/system (SYSTEMD_UNIT_DIR=D: into D instead). In a root
# instance the listeners start as root (tcpserver switches to qmaild) and a
# socket-activated session runs as qmaild; in a single-user one everything
# runs as the owner.
if [ $MODE = root ]; then
	UROOT=root; USMTPD=qmaild; GSMTPD=nofiles
else
	UROOT=$(id -un); USMTPD=$UROOT; GSMTPD=$(id -gn)
fi
d "$DIR/boot/systemd" 755 $R $Q
for u in "$top"/conf/systemd/*; do
	n=${u##*/}
	case $n in *.service|*.socket) m=644 ;; *) m=755 ;; esac
	sed -e "s|@ROOTUSER@|$UROOT|g" -e "s|@SMTPDUSER@|$USMTPD|g" -e "s|@SMTPDGROUP@|$GSMTPD|g" "$u" > "$DIR/boot/systemd/$n.in"
	t "$DIR/boot/systemd/$n.in" "$DIR/boot/systemd/$n" $m
	rm -f "$DIR/boot/systemd/$n.in"
done
# Units of earlier versions, replaced by the listener templates
# nqmail-KIND@.service and nqmail-smtpd-accept.socket: an upgrade removes
# them here and, when they are this instance's, from the unit directory.
retired="nqmail-smtpd.service nqmail-submission.service nqmail-smtps.service nqmail-pop3.service nqmail-pop3s.service nqmail-smtpd.socket"
for n in $retired; do rm -f "$DIR/boot/systemd/$n"; done
if [ "${SYSTEMD_UNITS:-0}" = 1 ]; then
	ud=${SYSTEMD_UNIT_DIR:-/etc/systemd/system}
	mkdir -p "$ud"
	for u in "$DIR"/boot/systemd/*.service "$DIR"/boot/systemd/*.socket; do
		cp "$u" "$ud/${u##*/}.new" && chmod 644 "$ud/${u##*/}.new" && mv -f "$ud/${u##*/}.new" "$ud/${u##*/}"
	done
	for n in $retired; do
		if [ -f "$ud/$n" ] && grep -q "$DIR/" "$ud/$n"; then rm -f "$ud/$n"; fi
	done
	echo "setup: systemd units installed in $ud (then $DIR/bin/qmailctl units enables and starts nqmail-send and a listener for each line of control/*-listen)"
	if [ "$ud" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
fi

# Documentation.
for m in "$top"/doc/*.[1-8]; do
	[ -f "$m" ] || continue
	sec=${m##*.}
	d "$DIR/man/man$sec" 755 $R $Q
	f "$m" "$DIR/man/man$sec/$(basename "$m")" 644 $R $Q
done
for m in "$top"/doc/*.md "$top/README.md"; do
	[ -f "$m" ] && f "$m" "$DIR/doc/$(basename "$m")" 644 $R $Q
done

# Optional system links and boot script.
if [ "${SENDMAIL_LINKS:-0}" = 1 ]; then
	LR=${LINK_ROOT:-}
	# link TARGET NAME: NAME becomes a symbolic link to TARGET; a real file
	# already there (another MTA's sendmail) is kept as NAME.before-nqmail.
	link() {
		mkdir -p "$(dirname "$2")"
		if [ -e "$2" ] && [ ! -L "$2" ] && [ ! -e "$2.before-nqmail" ]; then
			mv "$2" "$2.before-nqmail"
			echo "setup: kept the old $2 as $2.before-nqmail"
		fi
		ln -sfn "$1" "$2"
	}
	link "$DIR/bin/sendmail" "$LR/usr/sbin/sendmail"
	link "$DIR/bin/sendmail" "$LR/usr/lib/sendmail"
	link "$DIR/bin/qmail-qread" "$LR/usr/bin/mailq"
fi
if [ "${BOOT_RC:-0}" = 1 ]; then
	# An administrator may have edited DIR/rc: an upgrade leaves it alone.
	[ -e "$DIR/rc" ] || t "$top/conf/rc" "$DIR/rc" 755
fi
echo "setup: $MODE instance ready in $DIR"
