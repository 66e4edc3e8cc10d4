#!/bin/sh
# qmailctl: start, stop and control one nqmail instance, with the verbs of
# "Life with qmail"'s qmailctl (see doc/qmailctl.8).
#
# Each service is a daemontools service directory DIR/service/NAME with a
# run script and a log/run script (setup installs them). With daemontools
# installed, `start` runs svscan on DIR/service in a session of its own and
# the verbs become svc commands; logs go through multilog into
# DIR/log/NAME/. Without daemontools (or with NQ_NO_DAEMONTOOLS=1) `start`
# runs each service's run script directly, in a session of its own, with
# its output appended to DIR/log/NAME/current and its pid in
# DIR/service/NAME/direct.pid, and the verbs send signals themselves.
# The other verbs find out how the instance was started from what runs, so
# they work whichever way it was.
#
# Today the only service is qmail-send; the SMTP and POP3 services of later
# releases are added to SERVICES (and, for their rules, to RULES).
set -u

SERVICES="qmail-send"
RULES="tcp.smtp"
STOP_TIMEOUT=${NQ_STOP_TIMEOUT:-60}
START_TIMEOUT=${NQ_START_TIMEOUT:-15}

me=qmailctl
die() { code=$1; shift; echo "$me: $*" >&2; exit "$code"; }
say() { echo "$me: $*"; }

# The instance: NQMAIL_HOME when it is an absolute path, else the directory
# above the bin/ that holds this script (symbolic links followed).
if [ -n "${NQMAIL_HOME:-}" ] && [ "${NQMAIL_HOME#/}" != "$NQMAIL_HOME" ]; then
	DIR=$NQMAIL_HOME
else
	self=$(readlink -f "$0") || die 111 "unable to find my own location"
	DIR=$(dirname "$(dirname "$self")")
fi
if [ ! -d "$DIR/service" ] || [ ! -d "$DIR/bin" ]; then
	die 111 "$DIR is not an nqmail instance (no bin/ or service/)"
fi
DIR=$(cd "$DIR" && pwd -P) || die 111 "unable to switch to $DIR"
PATH="$DIR/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
export PATH
SVSCANPID="$DIR/service/.svscan.pid"

# --- who may run it -------------------------------------------------------

# The instance belongs to the owner of DIR: root for a root instance, the
# user for a single-user one. root acting on a single-user instance becomes
# that user, so nothing of the instance ever runs as root by mistake.
owner_check() {
	owner=$(stat -c %u "$DIR")
	uid=$(id -u)
	[ "$uid" = "$owner" ] && return 0
	if [ "$uid" = 0 ]; then
		group=$(stat -c %g "$DIR")
		if getent passwd "$owner" >/dev/null; then groups=--init-groups; else groups=--clear-groups; fi
		exec setpriv --reuid="$owner" --regid="$group" $groups -- "$DIR/bin/qmailctl" "$@"
	fi
	die 100 "$DIR belongs to uid $owner: run qmailctl as that user or as root"
}

# --- what runs ------------------------------------------------------------

have_daemontools() {
	[ "${NQ_NO_DAEMONTOOLS:-0}" != 1 ] || return 1
	for p in svscan supervise svc svok svstat multilog; do
		command -v $p >/dev/null 2>&1 || return 1
	done
}

# readpid FILE: the pid in FILE if that process still runs
readpid() {
	[ -f "$1" ] || return 1
	read -r p < "$1" 2>/dev/null || return 1
	case "$p" in ''|*[!0-9]*) return 1 ;; esac
	kill -0 "$p" 2>/dev/null || return 1
	echo "$p"
}

# The svscan this script started for DIR/service, if it still runs.
svscan_pid() {
	p=$(readpid "$SVSCANPID") || return 1
	tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "svscan $DIR/service" || return 1
	echo "$p"
}

# ours PID: the process runs a program of this instance or works in it
ours() {
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || exe=
	cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || cwd=
	case "$exe" in "$DIR"/bin/*) return 0 ;; esac
	case "$cwd" in "$DIR"|"$DIR"/*) return 0 ;; esac
	return 1
}

# The session leader started directly (no daemontools) for service $1.
direct_pid() {
	p=$(readpid "$DIR/service/$1/direct.pid") || return 1
	ours "$p" || return 1
	echo "$p"
}

# Service $1 is supervised (by our svscan or any other).
supervised() { svok "$DIR/service/$1" 2>/dev/null; }

# How the instance runs now: daemontools, direct or none.
running_mode() {
	if command -v svok >/dev/null 2>&1; then
		for s in $SERVICES; do supervised "$s" && { echo daemontools; return; }; done
	fi
	svscan_pid >/dev/null && { echo daemontools; return; }
	for s in $SERVICES; do direct_pid "$s" >/dev/null && { echo direct; return; }; done
	echo none
}

# Every process that belongs to the running instance: in the process group
# of our svscan or of a directly started service, running a daemon from
# DIR/bin, or a supervise/multilog/svscan working in DIR. Not this script,
# and not the programs users and administrators run themselves (a
# qmail-inject outside the services is none of stop's business).
instance_pids() {
	groups=" ${STOPPED_GROUPS:-} "
	p=$(svscan_pid) && groups="$groups$p "
	for s in $SERVICES; do p=$(direct_pid "$s") && groups="$groups$p "; done
	# One find for the /proc links and one ps, joined by awk: a shell loop
	# with a readlink per process is far too slow on a busy machine.
	{
		find /proc/[0-9]*/exe /proc/[0-9]*/cwd -maxdepth 0 \
			\( -lname "$DIR/bin/*" -o -lname "$DIR" -o -lname "$DIR/*" \) -printf 'L %p %l\n'
		ps -eo pid=,pgid=,stat=,comm= | sed 's/^ */P /'
	} 2>/dev/null | awk -v dir="$DIR" -v groups="$groups" -v self="$$" '
		$1 == "L" {
			split($2, a, "/"); p = a[3]; target = $0
			sub(/^L [^ ]+ /, "", target)
			if (a[4] == "cwd") { incwd[p] = 1; next }
			if (substr(target, 1, length(dir) + 5) != dir "/bin/") next
			name = substr(target, length(dir) + 6); sub(/ \(deleted\)$/, "", name)
			if (name !~ /^(qmail-inject|sendmail|qmail-queue|qmail-qread|qmail-qstat|qmail-showctl|qmail-tcpok|qmail-tcpto|maildirmake|qmail-newu|qmail-newmrh|qmail-pw2u)$/)
				daemon[p] = 1
			next
		}
		$1 == "P" { n++; pid[n] = $2; pgid[n] = $3; st[n] = $4; comm[n] = $5 }
		END {
			for (i = 1; i <= n; i++) {
				if (pid[i] == self || st[i] ~ /^Z/) continue   # zombies wait to be reaped
				if (index(groups, " " pgid[i] " ") || daemon[pid[i]] ||
				    (comm[i] ~ /^(svscan|supervise|multilog|readproctitle)$/ && incwd[pid[i]]))
					print pid[i]
			}
		}'
}

# The running qmail-send processes of the instance.
send_pids() {
	find /proc/[0-9]*/exe -maxdepth 0 \( -lname "$DIR/bin/qmail-send" -o -lname "$DIR/bin/qmail-send (deleted)" \) \
		-printf '%h\n' 2>/dev/null | sed 's|^/proc/||'
}

# now: time since boot in hundredths of a second, without a fork
now() {
	read -r up _ < /proc/uptime
	up="${up%.*}${up#*.}"
	while [ "${up#0}" != "$up" ] && [ "${#up}" -gt 1 ]; do up=${up#0}; done
	echo "$up"
}

# waitfor SECONDS CMD...: run CMD every 0.1 s until it succeeds or SECONDS pass
waitfor() {
	end=$(( $(now) + $1 * 100 )); shift
	while :; do
		"$@" && return 0
		[ "$(now)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# svstat's line for a service: "DIR/service/S: up (pid N) T seconds" ...
svup() { svstat "$DIR/service/$1" 2>/dev/null | grep -q ': up (pid '; }
svpid() { svstat "$DIR/service/$1" 2>/dev/null | sed -n 's/.*: up (pid \([0-9]*\)).*/\1/p'; }
newpid() { p=$(svpid "$1"); [ -n "$p" ] && [ "$p" != "$2" ]; }
svdown() { svstat "$DIR/service/$1" 2>/dev/null | grep -q ': down '; }
directup() { direct_pid "$1" >/dev/null; }
nonegone() { [ -z "$(instance_pids)" ]; }
send_runs() { [ -n "$(send_pids)" ]; }
tail_log() {
	f="$DIR/log/$1/current"
	[ -f "$f" ] && { echo "$me: last lines of $f:" >&2; tail -n 5 "$f" >&2; }
}

# --- starting and stopping --------------------------------------------------

start_svscan() {
	say "starting svscan on $DIR/service"
	( cd "$DIR/service" && setsid sh -c 'echo $$ > "$1"; exec env - PATH="$2" svscan "$3"' \
		sh "$SVSCANPID" "$PATH" "$DIR/service" </dev/null >>"$DIR/log/svscan.log" 2>&1 & )
	waitfor 5 svscan_pid >/dev/null || die 111 "svscan did not start (see $DIR/log/svscan.log)"
}

start_direct() {
	s=$1
	logd="$DIR/log/$s"
	[ -d "$logd" ] || mkdir -p "$logd"
	if [ ! -e "$logd/current" ]; then
		: >> "$logd/current"
		chown --reference="$logd" "$logd/current" 2>/dev/null
	fi
	say "starting $s without supervision, log in $logd/current"
	( cd "$DIR/service/$s" && setsid sh -c 'echo $$ > direct.pid; exec ./run' \
		</dev/null >>"$logd/current" 2>&1 & )
	waitfor 5 directup "$s" || { tail_log "$s"; die 111 "$s did not start"; }
}

# stable S: supervise's child for S is the same live process a second
# later (a run script that keeps failing gets a new pid every second); for
# qmail-send, the queue manager itself runs.
stable() {
	p1=$(svpid "$1")
	[ -n "$p1" ] || { sleep 1; return 1; }
	sleep 1
	[ "$(svpid "$1")" = "$p1" ] && kill -0 "$p1" 2>/dev/null || return 1
	[ "$1" != qmail-send ] || send_runs
}

# wait_started S: the service has stayed up for a second
wait_started() {
	s=$1
	case $(running_mode) in
	daemontools)
		n=$START_TIMEOUT
		while [ "$n" -gt 0 ]; do
			if stable "$s"; then say "$s: up"; return 0; fi
			n=$((n - 1))
		done
		tail_log "$s"
		echo "$me: $s did not stay up; supervise keeps trying (qmailctl stop gives up)" >&2
		return 1 ;;
	direct)
		sleep 1
		if directup "$s"; then say "$s: up (pid $(direct_pid "$s"))"; return 0; fi ;;
	esac
	tail_log "$s"
	echo "$me: $s did not stay up" >&2
	return 1
}

do_start() {
	# qmail-send cannot run without a name; say so rather than let
	# supervise retry it forever.
	if [ ! -s "$DIR/control/me" ] && [ ! -s "$DIR/control/locals" ]; then
		die 111 "$DIR/control/me is missing: run $DIR/bin/config-fast FQDN (or $DIR/bin/config) first"
	fi
	case $(running_mode) in
	daemontools)
		for s in $SERVICES; do svc -u "$DIR/service/$s" "$DIR/service/$s/log"; done ;;
	direct)
		for s in $SERVICES; do directup "$s" || start_direct "$s"; done ;;
	none)
		if have_daemontools; then
			start_svscan
			for s in $SERVICES; do
				waitfor 10 supervised "$s" || die 111 "supervise did not start for $s (see $DIR/log/svscan.log)"
				svc -u "$DIR/service/$s" "$DIR/service/$s/log"
			done
		else
			for s in $SERVICES; do start_direct "$s"; done
		fi ;;
	esac
	rc=0
	for s in $SERVICES; do wait_started "$s" || rc=111; done
	return $rc
}

# reverse LIST: the words of LIST in reverse order (services stop backwards)
reverse() { r=""; for w in "$@"; do r="$w $r"; done; echo "$r"; }

do_stop() {
	mode=$(running_mode)
	scan=$(svscan_pid) || scan=
	# The process groups to clean up, remembered before their leaders go.
	STOPPED_GROUPS=$scan
	for s in $SERVICES; do p=$(direct_pid "$s") && STOPPED_GROUPS="$STOPPED_GROUPS $p"; done
	case $mode in
	daemontools)
		for s in $(reverse $SERVICES); do
			supervised "$s" || continue
			say "stopping $s"
			svc -d "$DIR/service/$s"
			waitfor "$STOP_TIMEOUT" svdown "$s" || { say "$s ignored TERM; killing it"; svc -k "$DIR/service/$s"; waitfor 5 svdown "$s"; }
		done
		if [ -n "$scan" ]; then
			# svscan first, or it would restart the supervise processes
			# that are told to exit below.
			kill -TERM "$scan" 2>/dev/null
			for s in $(reverse $SERVICES); do
				svc -dx "$DIR/service/$s" "$DIR/service/$s/log" 2>/dev/null
			done
		fi ;;
	direct)
		for s in $(reverse $SERVICES); do
			p=$(direct_pid "$s") || continue
			say "stopping $s"
			kill -TERM "$p" 2>/dev/null
			for q in $(send_pids); do kill -TERM "$q" 2>/dev/null; done
			waitfor "$STOP_TIMEOUT" sh -c '! kill -0 "$1" 2>/dev/null' sh "$p" ||
				{ say "$s ignored TERM; killing it"; kill -KILL -- "-$p" 2>/dev/null; }
			rm -f "$DIR/service/$s/direct.pid"
		done ;;
	none)
		say "not running" ;;
	esac
	# When qmailctl started the services (its own svscan, or directly),
	# nothing of the instance may be left: supervise and multilog exit by
	# themselves at once; what is still there after that (a delivery that
	# hangs) gets TERM, then KILL. Under someone else's svscan, stop only
	# takes the services down, as the original qmailctl does.
	if [ -n "$scan" ] || [ "$mode" = direct ]; then
		if ! waitfor 3 nonegone; then
			left=$(instance_pids)
			say "still running after stop: $(echo $left); sending TERM"
			for p in $left; do kill -TERM "$p" 2>/dev/null; done
			if ! waitfor 5 nonegone; then
				left=$(instance_pids)
				say "killing $(echo $left)"
				for p in $left; do kill -KILL "$p" 2>/dev/null; done
				waitfor 5 nonegone
			fi
		fi
		rm -f "$SVSCANPID"
	fi
	say "stopped"
}

do_restart() {
	case $(running_mode) in
	daemontools)
		rc=0
		for s in $SERVICES; do
			say "restarting $s"
			old=$(svpid "$s")
			svc -t "$DIR/service/$s"
			svc -u "$DIR/service/$s"
			waitfor "$STOP_TIMEOUT" newpid "$s" "$old" || { echo "$me: $s did not stop" >&2; rc=111; continue; }
			wait_started "$s" || rc=111
		done
		return $rc ;;
	*)
		do_stop
		do_start ;;
	esac
}

# signal SVCFLAG SIG WHAT: send a signal to qmail-send
signal_send() {
	case $(running_mode) in
	daemontools)
		svc "$1" "$DIR/service/qmail-send" ;;
	direct)
		for p in $(send_pids); do kill "-$2" "$p"; done ;;
	none)
		die 111 "qmail-send is not running" ;;
	esac
	say "$3"
}

# signal_all SVCFLAG SIG WHAT: pause or continue every service
signal_all() {
	case $(running_mode) in
	daemontools)
		for s in $SERVICES; do svc "$1" "$DIR/service/$s"; done ;;
	direct)
		for s in $SERVICES; do
			p=$(direct_pid "$s") && kill "-$2" "$p"
			[ "$s" = qmail-send ] && for p in $(send_pids); do kill "-$2" "$p"; done
		done ;;
	none)
		die 111 "not running" ;;
	esac
	say "$3"
}

do_stat() {
	mode=$(running_mode)
	rc=0
	for s in $SERVICES; do
		case $mode in
		daemontools)
			svstat "$DIR/service/$s" "$DIR/service/$s/log"
			svup "$s" || rc=3 ;;
		direct)
			if p=$(direct_pid "$s"); then
				echo "$DIR/service/$s: up (pid $p) without supervision, log in $DIR/log/$s/current"
			else
				echo "$DIR/service/$s: down"; rc=3
			fi ;;
		none)
			echo "$DIR/service/$s: down (not started)"; rc=3 ;;
		esac
	done
	pids=$(instance_pids)
	if [ -n "$pids" ]; then
		echo "processes:"
		# shellcheck disable=SC2086
		ps -o pid,ppid,user:16,uid,args -p "$(echo $pids | tr ' ' ,)" | sed 's/^/  /'
	else
		echo "processes: none"
	fi
	[ -x "$DIR/bin/qmail-qstat" ] && "$DIR/bin/qmail-qstat"
	return $rc
}

do_queue() {
	"$DIR/bin/qmail-qstat"
	"$DIR/bin/qmail-qread"
}

do_flush() {
	"$DIR/bin/qmail-tcpok" || die 111 "qmail-tcpok failed"
	signal_send -a ALRM "flushed the timeout table and sent ALRM to qmail-send"
}

# cdb: rebuild every compiled table from its source
do_cdb() {
	rc=0
	for r in $RULES; do
		src=""
		for f in "$DIR/control/$r" "/etc/$r"; do
			[ -f "$f" ] && { src=$f; break; }
		done
		if [ -z "$src" ]; then
			say "no $r ($DIR/control/$r or /etc/$r): skipped"
			continue
		fi
		# Some lines send tcprules into an endless loop: bound its time.
		if timeout 60 tcprules "$src.cdb" "$src.cdb.tmp" < "$src"; then
			chmod 644 "$src.cdb"
			say "rebuilt $src.cdb"
		else
			rm -f "$src.cdb.tmp"
			echo "$me: tcprules failed on $src" >&2; rc=111
		fi
	done
	if [ -f "$DIR/users/assign" ]; then
		if qmail-newu; then say "rebuilt $DIR/users/cdb"; else echo "$me: qmail-newu failed" >&2; rc=111; fi
	else
		say "no $DIR/users/assign: users/cdb left as it is"
	fi
	if [ -f "$DIR/control/morercpthosts" ] && [ -x "$DIR/bin/qmail-newmrh" ]; then
		if qmail-newmrh; then say "rebuilt $DIR/control/morercpthosts.cdb"; else echo "$me: qmail-newmrh failed" >&2; rc=111; fi
	fi
	return $rc
}

usage() {
	cat <<EOF
usage: qmailctl VERB    (instance $DIR)
  start     start the services (svscan on service/ when daemontools is installed)
  stop      stop them; nothing of the instance is left running
  restart   stop and start again (under daemontools: svc -t)
  stat      what runs, under which uid, and the queue's size (also: status)
  pause     stop qmail-send from delivering (SIGSTOP)
  cont      let it deliver again (SIGCONT)
  doqueue   clear the remote timeout table, then retry every message now (ALRM)
  alrm      the same as doqueue
  flush     the same as doqueue
  hup       make qmail-send reread locals, virtualdomains, concurrency* (also: reload)
  queue     the queue: qmail-qstat and qmail-qread
  cdb       rebuild tcp.smtp.cdb (tcprules), users/cdb (qmail-newu) and morercpthosts.cdb
  help      this text
EOF
}

# --- main ------------------------------------------------------------------

[ $# -ge 1 ] || { usage >&2; exit 100; }
case "$1" in
help|-h|--help) usage; exit 0 ;;
start|stop|restart|stat|status|pause|cont|doqueue|alrm|flush|hup|reload|queue|cdb)
	owner_check "$@" ;;
*) echo "$me: unknown verb: $1" >&2; usage >&2; exit 100 ;;
esac
case "$1" in
start)   do_start ;;
stop)    do_stop ;;
restart) do_restart ;;
stat|status) do_stat ;;
pause)   signal_all -p STOP "paused" ;;
cont)    signal_all -c CONT "continued" ;;
doqueue|alrm|flush) do_flush ;;
hup|reload) signal_send -h HUP "sent HUP to qmail-send" ;;
queue)   do_queue ;;
cdb)     do_cdb ;;
esac
