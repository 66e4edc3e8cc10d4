#!/bin/sh
# debchroot.sh [PACKAGE...]: make sure a cached chroot of this machine's
# Debian release exists, with PACKAGE... (the nqmail package's
# dependencies) already installed, and print the tarball's path. The deb
# tests (tests/system/deb/) unpack a fresh copy of it for each run, so
# nqmail's package is installed, upgraded and purged there and never on
# this machine.
#
# The tarball is NQ_CHROOT_CACHE (default /var/cache/nqmail-test)/
# chroot-<release>.tar, beside chroot-<release>.pkgs, the package list it
# was made with; it is rebuilt only when missing or when that list
# changes. Building it needs root, mmdebstrap (scripts/deps.sh) and the
# Debian mirror this machine's apt uses: it is set-up, like deps.sh.
# NQ_CHROOT_SOURCES names another apt sources file (one-line format, or
# deb822 when it ends in .sources), e.g. a local mirror.
# Exit codes: 0 ready; 111 it could not be built (the message says why;
# "mirror unreachable" is the case the tests report as a skip).
set -eu
umask 022
CACHE=${NQ_CHROOT_CACHE:-/var/cache/nqmail-test}
die() { code=$1; shift; echo "debchroot: $*" >&2; exit "$code"; }

[ -r /etc/os-release ] || die 111 "no /etc/os-release: unable to tell the Debian release"
# shellcheck disable=SC1091
RELEASE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$RELEASE" ] || die 111 "/etc/os-release names no VERSION_CODENAME"
case "$RELEASE" in *[!a-z0-9]*) die 111 "odd release name $RELEASE" ;; esac

TAR="$CACHE/chroot-$RELEASE.tar"
LIST="$CACHE/chroot-$RELEASE.pkgs"
want=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort -u)
for p in $want; do
	case "$p" in *[!a-z0-9.+-]*) die 111 "bad package name $p" ;; esac
done

fresh() { [ -s "$TAR" ] && [ -f "$LIST" ] && [ "$(cat "$LIST")" = "$want" ]; }
if fresh; then echo "$TAR"; exit 0; fi

[ "$(id -u)" = 0 ] || die 111 "building $TAR needs root"
command -v mmdebstrap >/dev/null 2>&1 || die 111 "mmdebstrap is missing (sh scripts/deps.sh installs it)"
mkdir -p "$CACHE"
# One builder at a time; the others wait and then find it fresh.
exec 9>"$CACHE/.lock-$RELEASE"
flock -w 900 9 || die 111 "timed out waiting for another debchroot.sh"
if fresh; then echo "$TAR"; exit 0; fi

# The mirror and keys this machine's apt uses (deb822 or one-line format).
src=${NQ_CHROOT_SOURCES:-}
[ -z "$src" ] || [ -s "$src" ] || die 111 "NQ_CHROOT_SOURCES=$src: no such file"
[ -n "$src" ] || for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
	if [ -s "$f" ] && grep -qv '^[[:space:]]*\(#\|$\)' "$f"; then src=$f; break; fi
done
[ -n "$src" ] || die 111 "no apt sources found on this machine"

inc=$(printf '%s\n' "$want" | paste -sd, -)
tmp="$TAR.tmp.$$"
log="$CACHE/chroot-$RELEASE.log"
echo "debchroot: building $TAR (Debian $RELEASE, minbase${inc:+ + $inc}) from $src" >&2
if ! mmdebstrap --mode=root --variant=minbase --format=tar ${inc:+--include="$inc"} \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	"$RELEASE" "$tmp" "$src" > "$log" 2>&1; then
	rm -f "$tmp"
	if grep -qi -e 'could not resolve' -e 'failed to fetch' -e 'unable to connect' -e 'temporary failure' \
		-e 'network is unreachable' -e 'connection timed out' -e 'connection refused' "$log"; then
		die 111 "mirror unreachable: mmdebstrap failed (see $log)"
	fi
	die 111 "mmdebstrap failed (see $log)"
fi
mv -f "$tmp" "$TAR"
printf '%s\n' "$want" > "$LIST.tmp" && mv -f "$LIST.tmp" "$LIST"
echo "$TAR"
