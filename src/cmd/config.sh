#!/bin/sh
# config: config-fast with this host's own name (qmail's config(8); see
# doc/config.8). The name is found without asking DNS: the kernel's host
# name (uname -n) when it has a dot, else the first dotted name on the
# /etc/hosts line that names the host (what `hostname -f` finds there),
# else the bare host name, with a warning.
set -eu
me=config
die() { code=$1; shift; echo "$me: $*" >&2; exit "$code"; }
[ $# = 0 ] || die 100 "usage: config   (config-fast FQDN to choose the name)"

host=$(uname -n) || die 111 "unable to read the host name"
[ -n "$host" ] || die 111 "the host has no name; use config-fast FQDN"
fqdn=""
case "$host" in
*.*) fqdn=$host ;;
*)
	if [ -r /etc/hosts ]; then
		# Lines that name the host: prefer a name "host.domain", else
		# any dotted name on the same line.
		fqdn=$(awk -v h="$host" '
			{ sub(/#.*/, "") }
			NF >= 2 {
				named = 0
				for (i = 2; i <= NF; i++) if ($i == h) named = 1
				if (!named) next
				for (i = 2; i <= NF; i++)
					if (index($i, h ".") == 1) { print $i; exit }
				for (i = 2; i <= NF; i++)
					if (index($i, ".")) { print $i; exit }
			}' /etc/hosts)
	fi ;;
esac
if [ -z "$fqdn" ]; then
	fqdn=$host
	echo "$me: warning: $host is not fully qualified and /etc/hosts gives no full name; using it as it is (config-fast FQDN chooses another)" >&2
fi
echo "Your host's name is $host."
if [ -n "${NQMAIL_HOME:-}" ] && [ "${NQMAIL_HOME#/}" != "$NQMAIL_HOME" ]; then
	bin=$NQMAIL_HOME/bin
else
	self=$(readlink -f "$0") || die 111 "unable to find my own location"
	bin=$(dirname "$self")
fi
exec "$bin/config-fast" "$fqdn"
