#!/bin/sh
# setup.sh DIR [BUILD]: create or upgrade an nqmail instance in DIR.
# As root: the qmail users and groups (created when missing), qmail's
# ownerships and modes, qmail-queue set-uid qmailq. As anyone else: a
# single-user instance where every role is the caller.
# Running it again replaces the programs and keeps control/, users/,
# alias/ and queue/.
# Optional (environment or make variables):
#   SENDMAIL_LINKS=1  also link /usr/sbin/sendmail, /usr/lib/sendmail, /usr/bin/mailq
#   BOOT_RC=1         also install DIR/rc (qmail's boot script)
set -eu
DIR=${1:?usage: setup.sh DIR [BUILD]}
B=${2:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$B" in /*) ;; *) B="$top/$B" ;; esac
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
[ -x "$B/bin/qmail-queue" ] || { echo "setup: $B/bin has no programs; run make first" >&2; exit 100; }

if [ "$(id -u)" = 0 ]; then MODE=root; else MODE=single; fi

if [ $MODE = root ]; then
	# Every parent of DIR must let the qmail users through.
	p=$(dirname "$DIR")
	while [ "$p" != / ]; do
		if [ -d "$p" ]; then
			perm=$(stat -c %a "$p")
			case "$perm" in
			*[1357]) ;;
			*) echo "setup: $p (mode $perm) keeps the qmail users out of $DIR; use another PREFIX or chmod o+x $p" >&2; exit 100 ;;
			esac
		fi
		p=$(dirname "$p")
	done
	getent group qmail >/dev/null || groupadd -r qmail
	getent group nofiles >/dev/null || groupadd -r nofiles
	for u in alias qmaild qmaill qmailp; do
		getent passwd $u >/dev/null || useradd -r -g nofiles -d "$DIR/alias" -s /usr/sbin/nologin $u
	done
	for u in qmailq qmailr qmails; do
		getent passwd $u >/dev/null || useradd -r -g qmail -d "$DIR" -s /usr/sbin/nologin $u
	done
	uid() { id -u "$1"; }
	gid() { id -g "$1"; }
	QG=$(getent group qmail | cut -d: -f3)
	NG=$(getent group nofiles | cut -d: -f3)
else
	me=$(id -u); mg=$(id -g)
	uid() { echo "$me"; }
	gid() { echo "$mg"; }
	QG=$mg; NG=$mg
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
if [ $MODE = root ]; then
	R=root; Q=qmail; AL=alias; QQ=qmailq; QS=qmails; QR=qmailr
else
	R=$(id -un); Q=$(id -gn); AL=$R; QQ=$R; QS=$R; QR=$R
fi

d "$DIR" 755 $R $Q
for sub in bin boot doc man man/man1 man/man5 man/man7 man/man8 control users service; do
	d "$DIR/$sub" 755 $R $Q
done
d "$DIR/alias" 2755 $AL $Q
d "$DIR/queue" 750 $QQ $Q
d "$DIR/queue/pid" 700 $QQ $Q
d "$DIR/queue/intd" 700 $QQ $Q
d "$DIR/queue/todo" 750 $QQ $Q
d "$DIR/queue/mess" 750 $QQ $Q
d "$DIR/queue/lock" 750 $QQ $Q
for sub in info local remote; do d "$DIR/queue/$sub" 700 $QS $Q; done
d "$DIR/queue/bounce" 700 $QS $Q
i=0
while [ $i -lt 23 ]; do
	d "$DIR/queue/mess/$i" 750 $QQ $Q
	for sub in info local remote; do d "$DIR/queue/$sub/$i" 700 $QS $Q; done
	i=$((i+1))
done
[ -e "$DIR/queue/lock/tcpto" ] || : > "$DIR/queue/lock/tcpto"
[ -e "$DIR/queue/lock/sendmutex" ] || : > "$DIR/queue/lock/sendmutex"
[ -p "$DIR/queue/lock/trigger" ] || { rm -f "$DIR/queue/lock/trigger"; mkfifo "$DIR/queue/lock/trigger"; }
if [ $MODE = root ]; then
	chown $QR:$Q "$DIR/queue/lock/tcpto"; chmod 644 "$DIR/queue/lock/tcpto"
	chown $QS:$Q "$DIR/queue/lock/sendmutex"; chmod 600 "$DIR/queue/lock/sendmutex"
	chown $QS:$Q "$DIR/queue/lock/trigger"; chmod 622 "$DIR/queue/lock/trigger"
else
	chmod 644 "$DIR/queue/lock/tcpto"; chmod 600 "$DIR/queue/lock/sendmutex"
	chmod 622 "$DIR/queue/lock/trigger"
fi

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

# Programs: modes as qmail's hier.c gives them.
for p in "$B"/bin/*; do
	n=$(basename "$p")
	case "$n" in
	qmail-queue)  f "$p" "$DIR/bin/$n" 4711 $QQ $Q ;;
	qmail-lspawn|qmail-start|qmail-newu|qmail-newmrh) f "$p" "$DIR/bin/$n" 700 $R $Q ;;
	qmail-getpw|qmail-local|qmail-remote|qmail-rspawn|qmail-clean|qmail-send|splogger|qmail-pw2u)
	              f "$p" "$DIR/bin/$n" 711 $R $Q ;;
	*)            f "$p" "$DIR/bin/$n" 755 $R $Q ;;
	esac
done
if [ $MODE = single ]; then chmod 755 "$DIR/bin/qmail-queue"; fi

# Documentation.
for m in "$top"/doc/*.[1-8]; do
	[ -f "$m" ] || continue
	sec=${m##*.}
	f "$m" "$DIR/man/man$sec/$(basename "$m")" 644 $R $Q
done
for m in "$top"/doc/*.md; do
	[ -f "$m" ] && f "$m" "$DIR/doc/$(basename "$m")" 644 $R $Q
done

# Optional system links and boot script.
if [ "${SENDMAIL_LINKS:-0}" = 1 ]; then
	ln -sf "$DIR/bin/sendmail" /usr/sbin/sendmail
	ln -sf "$DIR/bin/sendmail" /usr/lib/sendmail
	ln -sf "$DIR/bin/qmail-qread" /usr/bin/mailq
fi
if [ "${BOOT_RC:-0}" = 1 ] && [ -f "$top/conf/rc" ]; then
	[ -e "$DIR/rc" ] || f "$top/conf/rc" "$DIR/rc" 755 $R $Q
fi
echo "setup: $MODE instance ready in $DIR"
