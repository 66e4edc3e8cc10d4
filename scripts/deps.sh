#!/bin/sh
# deps.sh: make sure the Debian packages nqmail builds and tests with are
# installed. As root, missing ones are installed with apt-get; as anyone
# else, the exact command is printed and the script fails.
# Extra packages can be named as arguments (bench/ adds postfix).
set -u
PKGS="gcc make pkg-config libcdb-dev tinycdb libssl-dev libcrypt-dev daemontools
ucspi-tcp-ipv6 python3 perl strace procps iproute2 swaks dnsmasq-base openssl $*"
PKGS="$PKGS procmail"   # the preline + procmail tests (tests/system/preline/)
missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$s" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "nqmail needs these Debian packages:$missing" >&2
	echo "run as root:  apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "deps: apt-get install$missing failed" >&2; exit 1; }
