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
# The services are qmail-send and one listener for each line of
# control/smtpd-listen, submission-listen and smtps-listen (SMTP) and of
# pop3-listen and pop3s-listen (POP3) (address:port, [v6address]:port; an
# empty file turns the kind off, a missing one means 0.0.0.0 and [::] on
# 25, 587, 465, 110 and 995 in a root instance, off in a single-user one),
# and of qmqp-listen (QMQP, qmail-qmqpd, port 628) and qmtp-listen (QMTP,
# qmail-qmtpd, port 209), which are off unless their file has lines.
# `start` (and `restart`) bring DIR/service in line with those files: a
# service directory DIR/service/KIND-ADDR-PORT, holding a run script made
# from DIR/boot/smtpd.run, pop3d.run, qmqpd.run or qmtpd.run and a file
# `listen`, for each line, and the directories of lines that went away
# stopped and removed.
#
# The tcpserver rules: control/tcp.smtp (SMTP on port 25), tcp.qmtp (QMTP)
# and tcp.qmqp (QMQP), each compiled by tcprules into control/R.cdb. QMQP
# has no authentication and no relay control, so its listener never runs
# without rules: without control/tcp.qmqp (or /etc/tcp.qmqp) the default
# DIR/boot/tcp.qmqp.default admits loopback clients only.
set -u

SERVICES="qmail-send"   # and the listeners: see load_services
RULES="tcp.smtp tcp.qmtp tcp.qmqp"
KINDS="smtpd submission smtps pop3 pop3s qmtp qmqp"
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
# DIR/bin, or a supervise/multilog/svscan/tcpserver working in DIR. Not this script,
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
			if (name !~ /^(qmail-inject|sendmail|qmail-queue|qmail-qread|qmail-qstat|qmail-showctl|qmail-tcpok|qmail-tcpto|maildirmake|qmail-newu|qmail-newmrh|qmail-pw2u|qmail-vuser|newaliases)$/)
				daemon[p] = 1
			next
		}
		$1 == "P" { n++; pid[n] = $2; pgid[n] = $3; st[n] = $4; comm[n] = $5 }
		END {
			for (i = 1; i <= n; i++) {
				if (pid[i] == self || st[i] ~ /^Z/) continue   # zombies wait to be reaped
				if (index(groups, " " pgid[i] " ") || daemon[pid[i]] ||
				    (comm[i] ~ /^(svscan|supervise|multilog|readproctitle|tcpserver)$/ && incwd[pid[i]]))
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

# --- the SMTP and POP3 listeners ----------------------------------------------

root_instance() { [ "$(stat -c %u "$DIR")" = 0 ]; }

kind_port() {
	case $1 in
	smtpd) echo 25 ;; submission) echo 587 ;; smtps) echo 465 ;;
	pop3) echo 110 ;; pop3s) echo 995 ;;
	qmtp) echo 209 ;; qmqp) echo 628 ;;
	esac
}

# kind_template KIND: the boot/ templates of its run scripts
kind_template() {
	case $1 in pop3|pop3s) echo pop3d ;; qmtp) echo qmtpd ;; qmqp) echo qmqpd ;; *) echo smtpd ;; esac
}

# IPv6 is there when the kernel lists an IPv6 address; with bindv6only 0
# (Linux's default) a tcpserver on [::] also takes IPv4 connections, and a
# second one on 0.0.0.0 and the same port could not bind.
have_ipv6() { grep -q . /proc/net/if_inet6 2>/dev/null; }
dualstack() { [ "$(cat /proc/sys/net/ipv6/bindv6only 2>/dev/null)" = 0 ]; }

# listen_lines KIND: the lines of control/KIND-listen (comments and blank
# lines left out), or the default when the file is missing.
listen_lines() {
	f="$DIR/control/$1-listen"
	if [ -e "$f" ]; then
		[ -r "$f" ] || { echo "$me: unable to read $f" >&2; return 1; }
		sed -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$f"
	elif root_instance && [ "$1" != qmtp ] && [ "$1" != qmqp ]; then
		# QMQP and QMTP serve hubs only: never on by default.
		echo "0.0.0.0:$(kind_port "$1")"
		if have_ipv6; then echo "[::]:$(kind_port "$1")"; fi
	fi
}

# parse_listen KIND LINE: prints "NAME ADDR PORT IFACE" (ADDR as tcpserver
# takes it, IFACE - when none), or says what is wrong and fails. Only
# numeric addresses: tcpserver would look a name up in DNS.
parse_listen() {
	k=$1 l=$2 iface=-
	case "$l" in
	\[*\]:*)
		a=${l#\[}; a=${a%%\]:*}; port=${l##*\]:}
		case "$a" in *%*) iface=${a#*%}; a=${a%%\%*} ;; esac
		case "$a" in *:*) ;; *) a= ;; esac
		case "$a" in ''|*[!0-9A-Fa-f:.]*) a= ;; esac
		case "$iface" in ''|*[!A-Za-z0-9_.-]*) a= ;; esac
		[ -n "$a" ] || { echo "$me: control/$k-listen: $l: not an IPv6 address in brackets" >&2; return 1; }
		id=$a; [ "$iface" = - ] || id="$a%$iface"
		case "$a" in *[!0:]*) ;; *) a=::0; id=:: ;; esac ;;   # tcpserver wants :: as ::0
	*:*:*)
		echo "$me: control/$k-listen: $l: write an IPv6 address as [address]:port" >&2; return 1 ;;
	*:*)
		a=${l%:*}; port=${l##*:}; id=$a
		ok=1
		case "$a" in ''|*[!0-9.]*|.*|*.|*..*) ok=0 ;; esac
		if [ $ok = 1 ]; then
			n=0
			for o in $(echo "$a" | tr . ' '); do
				n=$((n + 1))
				[ ${#o} -le 3 ] && [ "$o" -le 255 ] || ok=0
			done
			[ $n = 4 ] || ok=0
		fi
		[ $ok = 1 ] || { echo "$me: control/$k-listen: $l: not an IPv4 address" >&2; return 1; } ;;
	*)
		echo "$me: control/$k-listen: $l: not address:port" >&2; return 1 ;;
	esac
	case "$port" in ''|*[!0-9]*) port=0 ;; esac
	if [ ${#port} -gt 5 ] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
		echo "$me: control/$k-listen: $l: not a port from 1 to 65535" >&2; return 1
	fi
	echo "$k-$id-$port $a $port $iface"
}

# listeners_wanted: one line "NAME KIND ADDR PORT IFACE LISTEN" for each listener
# the control files ask for, duplicates left out. Always run in a
# subshell: it turns globbing off, as lines come from a file.
listeners_wanted() {
	set -f
	for k in $KINDS; do
		lines=$(listen_lines "$k") || return 1
		parsed=""
		for l in $lines; do
			p=$(parse_listen "$k" "$l") || return 1
			parsed="$parsed$p $l
"
		done
		# [::]:P also takes IPv4 on a dual-stack kernel: 0.0.0.0:P beside
		# it is served by the same tcpserver.
		if dualstack; then
			for p in $(printf '%s' "$parsed" | awk '$2 == "::0" { print $3 }'); do
				if printf '%s' "$parsed" | grep -q "^$k-0\.0\.0\.0-$p "; then
					parsed=$(printf '%s' "$parsed" | grep -v "^$k-0\.0\.0\.0-$p ")
					parsed="$parsed
"
				fi
			done
		fi
		printf '%s' "$parsed" | awk -v k="$k" 'NF && !seen[$1]++ { print $1, k, $2, $3, $4, $5 }'
	done
}

# The listeners' service directories qmailctl made (they hold a file `listen`).
listeners_present() {
	for d in "$DIR"/service/*; do
		[ -f "$d/listen" ] && [ -f "$d/run" ] || continue
		case "${d##*/}" in smtpd-*|submission-*|smtps-*|pop3-*|pop3s-*|qmtp-*|qmqp-*) echo "${d##*/}" ;; esac
	done
}

load_services() { SERVICES="qmail-send $(listeners_present | tr '\n' ' ')"; }

# gen TEMPLATE DEST NAME KIND ADDR PORT IFACE LISTEN: DEST from TEMPLATE,
# unless the administrator took the "generated by qmailctl" line out.
gen() {
	if [ -f "$2" ] && ! sed -n 2p "$2" | grep -q '^# generated by qmailctl'; then
		return 0
	fi
	i=$7; [ "$i" != - ] || i=
	sed -e "s|@NAME@|$3|g" -e "s|@KIND@|$4|g" -e "s|@ADDR@|$5|g" -e "s|@PORT@|$6|g" \
		-e "s|@IFACE@|$i|g" -e "s|@LISTEN@|$8|g" "$1" > "$2.tmp" &&
		chmod 755 "$2.tmp" && mv -f "$2.tmp" "$2"
}

# make_service NAME KIND ADDR PORT IFACE LISTEN: DIR/service/NAME with its
# run and log/run scripts, and DIR/log/NAME for multilog. A new directory
# is built under a name svscan ignores and renamed into place complete.
make_service() {
	tpl=$(kind_template "$2")
	for t in "$tpl.run" "$tpl.log.run"; do
		[ -f "$DIR/boot/$t" ] || { echo "$me: $DIR/boot/$t is missing: run setup again" >&2; return 1; }
	done
	sd="$DIR/service/$1"
	if [ -d "$sd" ]; then new=$sd; else new="$DIR/service/.new.$1"; rm -rf "$new"; fi
	mkdir -p "$new/log" && chmod 755 "$new" "$new/log" || return 1
	gen "$DIR/boot/$tpl.run" "$new/run" "$@" || return 1
	gen "$DIR/boot/$tpl.log.run" "$new/log/run" "$@" || return 1
	printf '%s %s\n' "$2" "$6" > "$new/listen" || return 1
	logd="$DIR/log/$1"
	if [ ! -d "$logd" ]; then
		mkdir -p "$logd" || return 1
		# multilog writes as qmaill: the log directory is qmail-send's twin.
		chown --reference="$DIR/log/qmail-send" "$logd" 2>/dev/null
		chmod 755 "$logd"
	fi
	[ "$new" = "$sd" ] || mv "$new" "$sd" || return 1
}

# retire NAME: stop a listener no control file asks for and remove its
# directory. Under daemontools the directory is first renamed so svscan
# does not start it again.
retire() {
	sd="$DIR/service/$1"
	say "$1 is no longer in control/${1%%-*}-listen: stopping and removing it"
	if p=$(direct_pid "$1"); then
		kill -TERM "$p" 2>/dev/null
		waitfor 10 sh -c '! kill -0 "$1" 2>/dev/null' sh "$p" || kill -KILL "$p" 2>/dev/null
	fi
	if command -v svok >/dev/null 2>&1 && { svok "$sd" 2>/dev/null || svok "$sd/log" 2>/dev/null; }; then
		gone="$DIR/service/.gone.$1.$$"
		mv "$sd" "$gone" || return 1
		svc -dx "$gone" "$gone/log" 2>/dev/null
		waitfor 10 sh -c '! svok "$1" 2>/dev/null && ! svok "$1/log" 2>/dev/null' sh "$gone" ||
			say "supervise for $1 did not exit"
		sd=$gone
	fi
	rm -rf "$sd"
}

# sync_listeners: DIR/service holds exactly the listeners the control files ask for.
sync_listeners() {
	want=$(listeners_wanted) || return 1
	names=" $(printf '%s\n' "$want" | awk 'NF { print $1 }' | tr '\n' ' ') "
	for s in $(listeners_present); do
		case "$names" in *" $s "*) ;; *) retire "$s" ;; esac
	done
	printf '%s\n' "$want" | while read -r n k a p i l; do
		[ -n "$n" ] || continue
		make_service "$n" "$k" "$a" "$p" "$i" "$l" || { echo "$me: unable to set up $DIR/service/$n" >&2; exit 1; }
	done || return 1
	load_services
}

# tcp.smtp written but never compiled, or changed since: compile it now,
# since the listeners would otherwise run with old rules or none.
rules_fresh() {
	for r in $RULES; do
		src=$(rules_source "$r") || continue
		cdb="$DIR/control/$r.cdb"
		if [ ! -f "$cdb" ] || [ "$src" -nt "$cdb" ]; then compile_rules "$r" || return 1; fi
	done
	return 0
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

# pidof_list S LIST: the pid recorded for service S in "S=PID ..." LIST
pidof_list() {
	for e in $2; do [ "${e%=*}" = "$1" ] && { echo "${e#*=}"; return; }; done
}

# wait_started: every service has stayed up for a second. Under
# daemontools, supervise's child must be the same live process a second
# later (a run script that keeps failing gets a new pid every second); for
# qmail-send, the queue manager itself must run. All services are watched
# at once, so starting many listeners takes no longer than starting one.
wait_started() {
	case $(running_mode) in
	daemontools)
		pending=$SERVICES
		n=$START_TIMEOUT
		while [ -n "$pending" ] && [ "$n" -gt 0 ]; do
			before=""
			for s in $pending; do before="$before $s=$(svpid "$s")"; done
			sleep 1
			left=""
			for s in $pending; do
				p1=$(pidof_list "$s" "$before")
				if [ -n "$p1" ] && [ "$(svpid "$s")" = "$p1" ] && kill -0 "$p1" 2>/dev/null &&
				   { [ "$s" != qmail-send ] || send_runs; }; then
					say "$s: up"
				else
					left="$left $s"
				fi
			done
			pending=$left
			n=$((n - 1))
		done
		[ -z "$pending" ] && return 0
		for s in $pending; do
			tail_log "$s"
			echo "$me: $s did not stay up; supervise keeps trying (qmailctl stop gives up)" >&2
		done
		return 1 ;;
	direct)
		sleep 1
		rc=0
		for s in $SERVICES; do
			if directup "$s"; then
				say "$s: up (pid $(direct_pid "$s"))"
			else
				tail_log "$s"
				echo "$me: $s did not stay up" >&2
				rc=1
			fi
		done
		return $rc ;;
	esac
	echo "$me: nothing runs" >&2
	return 1
}

# supervise_up S: wait for supervise to pick up S (svscan looks for new
# service directories every five seconds), then tell it to run S.
supervise_up() {
	if ! waitfor 10 supervised "$1"; then
		if [ -z "$(svscan_pid)" ]; then
			echo "$me: $DIR/service/$1 is not supervised: the svscan that runs this instance does not watch $DIR/service (link the directory where it looks)" >&2
		else
			echo "$me: supervise did not start for $1 (see $DIR/log/svscan.log)" >&2
		fi
		return 1
	fi
	svc -u "$DIR/service/$1" "$DIR/service/$1/log"
}

do_start() {
	# qmail-send cannot run without a name; say so rather than let
	# supervise retry it forever.
	if [ ! -s "$DIR/control/me" ] && [ ! -s "$DIR/control/locals" ]; then
		die 111 "$DIR/control/me is missing: run $DIR/bin/config-fast FQDN (or $DIR/bin/config) first"
	fi
	rules_fresh || die 111 "the tcpserver rules could not be compiled"
	sync_listeners || die 111 "the listeners could not be set up; nothing started"
	rc=0
	case $(running_mode) in
	daemontools)
		for s in $SERVICES; do supervise_up "$s" || rc=111; done ;;
	direct)
		for s in $SERVICES; do directup "$s" || start_direct "$s"; done ;;
	none)
		if have_daemontools; then
			start_svscan
			for s in $SERVICES; do supervise_up "$s" || rc=111; done
		else
			for s in $SERVICES; do start_direct "$s"; done
		fi ;;
	esac
	wait_started || rc=111
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
			if [ "$s" = qmail-send ]; then
				for q in $(send_pids); do kill -TERM "$q" 2>/dev/null; done
			fi
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
		rules_fresh || rc=111
		before=" $SERVICES "
		sync_listeners || die 111 "the listeners could not be set up"
		olds=""
		for s in $SERVICES; do
			case "$before" in
			*" $s "*)
				if supervised "$s"; then
					say "restarting $s"
					olds="$olds $s=$(svpid "$s")"
					svc -t "$DIR/service/$s"
					svc -u "$DIR/service/$s"
					continue
				fi ;;
			esac
			supervise_up "$s" || rc=111
		done
		for e in $olds; do
			waitfor "$STOP_TIMEOUT" newpid "${e%=*}" "${e#*=}" || { echo "$me: ${e%=*} did not stop" >&2; rc=111; }
		done
		wait_started || rc=111
		return $rc ;;
	*)
		do_stop
		do_start ;;
	esac
}

# restart_one S: stop and start one running service (after its rules
# file appeared, which its tcpserver was started without).
restart_one() {
	case $(running_mode) in
	daemontools)
		supervised "$1" && svc -t "$DIR/service/$1" ;;
	direct)
		if p=$(direct_pid "$1"); then
			kill -TERM "$p" 2>/dev/null
			waitfor 10 sh -c '! kill -0 "$1" 2>/dev/null' sh "$p" || kill -KILL -- "-$p" 2>/dev/null
			start_direct "$1"
		fi ;;
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

# --- status -------------------------------------------------------------------

# describe NAME PID: the process that does service NAME's work: its pid,
# uid and user, and how long it has run.
describe() {
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(ps -o uid=,user:32=,etimes= -p "$2" 2>/dev/null)
	[ $# -ge 5 ] || { echo "  $1: pid $2 is gone"; return 1; }
	echo "  $1: pid $2, uid $3 ($4), uptime $5 s ($(human "$5"))"
}

# human SECONDS: 3d 04:05:06
human() {
	d=$(($1 / 86400)) h=$(($1 % 86400 / 3600)) m=$(($1 % 3600 / 60)) x=$(($1 % 60))
	if [ $d -gt 0 ]; then printf '%dd %02d:%02d:%02d\n' $d $h $m $x; else printf '%02d:%02d:%02d\n' $h $m $x; fi
}

# lastlog NAME FILE: the last line of a log file, its TAI64N stamp made
# readable when tai64nlocal is there.
lastlog() {
	l=$(grep -v '^[[:space:]]*$' "$2" 2>/dev/null | tail -n 1)
	[ -n "$l" ] || { echo "  $1: last log: (none in $2)"; return; }
	case "$l" in @4000*) command -v tai64nlocal >/dev/null 2>&1 && l=$(printf '%s\n' "$l" | tai64nlocal) ;; esac
	printf '  %s: last log: %.300s\n' "$1" "$l"
}

# workpid S PID: the process to describe for service S whose supervised
# process is PID: qmail-send itself for qmail-send (whatever started it),
# PID for the listeners (tcpserver).
workpid() {
	if [ "$1" = qmail-send ]; then
		p=$(send_pids | head -n 1)
		[ -n "$p" ] && { echo "$p"; return; }
	fi
	echo "$2"
}

# The systemd units of this instance (DIR/boot/systemd/) that a running
# systemd has loaded from a file naming DIR. NQ_SYSTEMD=1 makes qmailctl
# believe systemd runs (tests, with systemctl and journalctl stand-ins in
# DIR/bin, which comes first in PATH).
systemd_runs() {
	[ "${NQ_SYSTEMD:-0}" = 1 ] || [ -d /run/systemd/system ] || return 1
	command -v systemctl >/dev/null 2>&1
}
systemd_units() {
	systemd_runs || return 0
	# DIR as a regular expression (setup allows only A-Za-z0-9._/+@:,- in it)
	re=$(printf '%s\n' "$DIR" | sed 's/[.+]/\\&/g')
	# The single units, then the listeners the *-listen files ask for and
	# any other instance of their templates that systemd has loaded.
	{
		for u in "$DIR"/boot/systemd/*.service "$DIR"/boot/systemd/*.socket; do printf '%s\n' "${u##*/}"; done
		(units_wanted) 2>/dev/null
		systemctl list-units --all --plain --no-legend --full 'nqmail-*@*.service' 2>/dev/null |
			awk '$1 ~ /^nqmail-[a-z0-9]+@/ && $1 !~ /^nqmail-smtpd-accept@/ { print $1 }'
	} | awk '!seen[$0]++' | while read -r n; do
		case "$n" in '*'*|*@.service) continue ;; esac
		f=$(systemctl show -p FragmentPath --value "$n" 2>/dev/null) || continue
		[ -n "$f" ] && [ -f "$f" ] && grep -Eq "$re([/ ),]|\$)" "$f" && printf '%s\n' "$n"
	done
}

# unit_escape LINE: LINE as an instance name, as systemd-escape writes it
# (the characters of a listen line that need it: [ ] % -).
unit_escape() {
	printf '%s\n' "$1" | sed -e 's/\\/\\x5c/g' -e 's/\[/\\x5b/g' -e 's/\]/\\x5d/g' -e 's/%/\\x25/g' -e 's/-/\\x2d/g'
}

# units_wanted: nqmail-send.service and one nqmail-KIND@LINE.service for
# each listener the *-listen files ask for (as start would make them).
units_wanted() {
	want=$(listeners_wanted) || return 1
	echo nqmail-send.service
	printf '%s\n' "$want" | while read -r n k a p i l; do
		[ -n "$n" ] || continue
		printf 'nqmail-%s@%s.service\n' "$k" "$(unit_escape "$l")"
	done
}

# units: print the units the control files ask for; where systemd runs,
# enable and start them, and stop and disable the instances of the
# listener templates that no line asks for any more.
do_units() {
	# stdout is the list of units alone
	rules_fresh >&2 || die 111 "the tcpserver rules could not be compiled"
	list=$(units_wanted) || die 111 "the listen files are wrong; nothing changed"
	printf '%s\n' "$list"
	if ! systemd_runs; then
		echo "$me: systemd does not run here: nothing enabled (the templates are in $DIR/boot/systemd)" >&2
		return 0
	fi
	rc=0
	for u in $list; do
		systemctl enable --now "$u" >/dev/null 2>&1 || { echo "$me: systemctl enable --now $u failed" >&2; rc=111; }
	done
	old=$(systemctl list-units --all --plain --no-legend --full 'nqmail-*@*.service' 2>/dev/null |
		awk '$1 ~ /^nqmail-[a-z0-9]+@/ && $1 !~ /^nqmail-smtpd-accept@/ { print $1 }')
	for u in $old; do
		case " $(printf '%s ' $list)" in *" $u "*) continue ;; esac
		say "$u is no longer in control/*-listen: stopping and disabling it"
		systemctl disable --now "$u" >/dev/null 2>&1 || { echo "$me: systemctl disable --now $u failed" >&2; rc=111; }
	done
	return $rc
}

# stat_systemd: each loaded unit of the instance, as stat shows a service;
# fails when nqmail-send.service is not active.
stat_systemd() {
	rc=3
	for n in $(systemd_units); do
		state=$(systemctl show -p ActiveState --value "$n" 2>/dev/null)
		sub=$(systemctl show -p SubState --value "$n" 2>/dev/null)
		case "$n" in
		*.socket)
			c=$(systemctl show -p NConnections --value "$n" 2>/dev/null)
			echo "$n: $state ($sub) under systemd, ${c:-0} connections now" ;;
		*)
			echo "$n: $state ($sub) under systemd"
			p=$(systemctl show -p MainPID --value "$n" 2>/dev/null)
			if [ "$state" = active ] && [ -n "$p" ] && [ "$p" != 0 ]; then
				[ "$n" = nqmail-send.service ] && { p=$(workpid qmail-send "$p"); rc=0; }
				describe "$n" "$p"
			fi ;;
		esac
		l=$(journalctl -q --no-pager -o short-iso -n 1 -u "$n" 2>/dev/null)
		[ -n "$l" ] && printf '  %s: last log: %.300s\n' "$n" "$l"
	done
	return $rc
}

do_stat() {
	mode=$(running_mode)
	rc=0
	units=
	[ "$mode" = none ] && units=$(systemd_units)
	for s in $SERVICES; do
		[ -z "$units" ] || break
		if [ -f "$DIR/service/$s/listen" ]; then
			read -r k l < "$DIR/service/$s/listen"
			echo "$s: $k listener on $l"
		fi
		case $mode in
		daemontools)
			svstat "$DIR/service/$s" "$DIR/service/$s/log"
			if svup "$s"; then describe "$s" "$(workpid "$s" "$(svpid "$s")")"; else rc=3; fi
			lastlog "$s" "$DIR/log/$s/current" ;;
		direct)
			if p=$(direct_pid "$s"); then
				echo "$DIR/service/$s: up (pid $p) without supervision, log in $DIR/log/$s/current"
				describe "$s" "$(workpid "$s" "$p")"
			else
				echo "$DIR/service/$s: down"; rc=3
			fi
			lastlog "$s" "$DIR/log/$s/current" ;;
		none)
			echo "$DIR/service/$s: down (not started)"; rc=3 ;;
		esac
	done
	if [ -n "$units" ]; then stat_systemd || rc=3; fi
	if [ -z "$units" ] && want=$(listeners_wanted 2>/dev/null); then
		w=$(printf '%s\n' "$want" | awk 'NF { print $1 }' | sort | tr '\n' ' ')
		h=$(listeners_present | sort | tr '\n' ' ')
		[ "$w" = "$h" ] || echo "the *-listen files ask for other listeners: qmailctl restart applies them"
	fi
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
	[ -x "$DIR/bin/qmail-qshape" ] && "$DIR/bin/qmail-qshape"
	"$DIR/bin/qmail-qread"
}

do_flush() {
	"$DIR/bin/qmail-tcpok" || die 111 "qmail-tcpok failed"
	signal_send -a ALRM "flushed the timeout table and sent ALRM to qmail-send"
}

# rules_source R: the rules file R (tcp.smtp, tcp.qmtp, tcp.qmqp):
# control/R, else /etc/R; for tcp.qmqp, while a QMQP listener is asked
# for, else the loopback-only DIR/boot/tcp.qmqp.default.
rules_source() {
	for f in "$DIR/control/$1" "/etc/$1"; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	if [ "$1" = tcp.qmqp ] && [ -f "$DIR/boot/tcp.qmqp.default" ] &&
	   [ -n "$( (listen_lines qmqp) 2>/dev/null)" ]; then
		echo "$DIR/boot/tcp.qmqp.default"; return 0
	fi
	return 1
}

# compile_rules R: tcprules turns the rules file into control/R.cdb, which
# the run scripts give tcpserver (-x); the old cdb stays when it fails.
compile_rules() {
	src=$(rules_source "$1") || return 0
	cdb="$DIR/control/$1.cdb"
	# Some lines send tcprules into an endless loop: bound its time.
	if timeout 60 tcprules "$cdb" "$cdb.tmp" < "$src"; then
		chmod 644 "$cdb"
		say "rebuilt $cdb from $src"
	else
		rm -f "$cdb.tmp"
		echo "$me: tcprules failed on $src" >&2
		return 1
	fi
}

# cdb: rebuild every compiled table from its source
do_cdb() {
	rc=0
	for r in $RULES; do
		if ! rules_source "$r" >/dev/null; then
			say "no $r ($DIR/control/$r or /etc/$r): skipped"
			continue
		fi
		had=0; [ -f "$DIR/control/$r.cdb" ] && had=1
		compile_rules "$r" || { rc=111; continue; }
		# A listener started while there was no cdb runs without -x
		# (QMQP's never runs without one).
		if [ $had = 0 ]; then
			case $r in tcp.smtp) k=smtpd ;; tcp.qmtp) k=qmtp ;; *) k= ;; esac
			for s in $SERVICES; do
				[ -n "$k" ] || break
				case "$s" in
				"$k"-*) directup "$s" || supervised "$s" || continue
					say "restarting $s for the new rules"
					restart_one "$s" ;;
				esac
			done
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
  start     start qmail-send and the SMTP, POP3, QMTP and QMQP listeners of
            control/*-listen
            (svscan on service/ when daemontools is installed)
  stop      stop them; nothing of the instance is left running
  restart   stop and start again (under daemontools: svc -t), applying
            changed *-listen files
  stat      what runs, under which uid, and the queue's size (also: status)
  pause     stop qmail-send from delivering and the listeners from
            accepting (SIGSTOP)
  cont      let them continue (SIGCONT)
  doqueue   clear the remote timeout table, then retry every message now (ALRM)
  alrm      the same as doqueue
  flush     the same as doqueue
  hup       make qmail-send reread locals, virtualdomains, concurrency* (also: reload)
  queue     the queue: qmail-qstat, qmail-qshape and qmail-qread
  cdb       rebuild tcp.smtp.cdb, tcp.qmtp.cdb, tcp.qmqp.cdb (tcprules),
            users/cdb (qmail-newu) and morercpthosts.cdb
  units     the systemd units the control files ask for (nqmail-send and one
            nqmail-KIND@ADDRESS:PORT per listen line); where systemd runs,
            enable and start them and retire those of removed lines
  help      this text
EOF
}

# --- main ------------------------------------------------------------------

[ $# -ge 1 ] || { usage >&2; exit 100; }
case "$1" in
help|-h|--help) usage; exit 0 ;;
start|stop|restart|stat|status|pause|cont|doqueue|alrm|flush|hup|reload|queue|cdb|units)
	owner_check "$@" ;;
*) echo "$me: unknown verb: $1" >&2; usage >&2; exit 100 ;;
esac
load_services
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
units)   do_units ;;
esac
