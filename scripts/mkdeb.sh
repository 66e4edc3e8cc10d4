#!/bin/sh
# mkdeb.sh [-v VERSION] [-o OUTDIR]: build the Debian package of nqmail
# from this tree with dpkg-deb (no debhelper; packaging/deb/ holds the
# control template, maintainer scripts and copyright). Prints the path of
# the .deb it made on its last line.
#
# The programs are compiled with Debian's hardening flags (dpkg-buildflags)
# into their own build directory (NQ_DEB_BUILD, default build/deb/build),
# so the ordinary build/ is left alone. The package ships them, stripped,
# in /usr/lib/nqmail/bin, and setup.sh with conf/, doc/ and README.md in
# /usr/share/nqmail; its postinst runs that setup.sh for /var/qmail, so
# the installed instance is the one `make setup PREFIX=/var/qmail` makes
# as root (see doc/packaging.md). The systemd units are filled in for
# /var/qmail as setup.sh fills them for a root instance.
#
#   -v VERSION  package version (default: 0~git<commit time>.<commit>, or
#               NQ_DEB_VERSION); the tests build an upgrade with it
#   -o OUTDIR   where the .deb goes (default: build/deb)
# NQ_DEB_COMPRESS=gzip makes a larger package faster (the tests use it).
set -eu
umask 022
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

VERSION=${NQ_DEB_VERSION:-}
OUT=build/deb
default_out=1
while getopts v:o: opt; do
	case $opt in
	v) VERSION=$OPTARG ;;
	o) OUT=$OPTARG; default_out=0 ;;
	*) echo "usage: mkdeb.sh [-v VERSION] [-o OUTDIR]" >&2; exit 100 ;;
	esac
done
for t in dpkg-deb dpkg-shlibdeps dpkg-buildflags strip; do
	command -v $t >/dev/null 2>&1 || { echo "mkdeb: $t is missing (apt-get install dpkg-dev binutils)" >&2; exit 111; }
done
if [ -z "$VERSION" ]; then
	if stamp=$(git -C "$top" log -1 --format=%cd.%h --date=format:%Y%m%d%H%M%S 2>/dev/null); then
		VERSION="0~git$stamp"
	else
		VERSION="0~local$(date -u +%Y%m%d%H%M%S)"
	fi
fi
case "$VERSION" in
[0-9]*) ;;
*) echo "mkdeb: version $VERSION must start with a digit" >&2; exit 100 ;;
esac
case "$VERSION" in
*[!A-Za-z0-9.+~]*) echo "mkdeb: version $VERSION: use letters, digits and .+~ (a native package has no revision)" >&2; exit 100 ;;
esac
ARCH=$(dpkg --print-architecture)
MAINTAINER=${NQ_DEB_MAINTAINER:-nqmail developers <nqmail@nqmail.invalid>}
HOMEPAGE=${NQ_DEB_HOMEPAGE:-https://nqmail.invalid/}
B=${NQ_DEB_BUILD:-build/deb/build}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# The package ships conf/, doc/ and README.md for setup.sh: anything else
# it reads from the tree would be missing at postinst time.
# shellcheck disable=SC2016
extra=$(grep -o '$top"\{0,1\}/[A-Za-z0-9._-]*' scripts/setup.sh | sed 's|^[^/]*/||' |
	grep -v -x -e conf -e doc -e README.md -e '' | sort -u | tr '\n' ' ')
[ -z "$extra" ] || { echo "mkdeb: setup.sh reads $extra from the tree: ship it in mkdeb.sh" >&2; exit 100; }

# 1. The programs, hardened as Debian builds them.
targets=""
for s in src/cmd/*.c src/cmd/*.sh; do
	[ -f "$s" ] || continue
	n=${s##*/}; n=${n%.*}
	targets="$targets $B/bin/$n"
done
# shellcheck disable=SC2086
make -s -j"${NQ_DEB_JOBS:-2}" B="$B" \
	CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS) -Wl,-z,now" $targets

# 2. The package's tree.
stage=$(mktemp -d "${TMPDIR:-/tmp}/nqmail-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
lib="$root/usr/lib/nqmail"
share="$root/usr/share/nqmail"
docd="$root/usr/share/doc/nqmail"
mkdir -p "$lib/bin" "$share/scripts" "$share/conf" "$share/doc" "$docd" \
	"$root/usr/sbin" "$root/usr/bin" "$root/usr/share/man/man8" "$root/lib/systemd/system" \
	"$root/usr/share/lintian/overrides" "$root/DEBIAN"
for p in $targets; do
	n=${p##*/}
	if [ -f "src/cmd/$n.c" ]; then
		strip --remove-section=.comment --remove-section=.note --strip-unneeded -o "$lib/bin/$n" "$p"
	else
		cp "$p" "$lib/bin/$n"
	fi
	chmod 755 "$lib/bin/$n"
done
cp scripts/setup.sh "$share/scripts/setup.sh"
cp README.md "$share/README.md"
# conf/ as it is (setup.sh reads it and gives the installed copies their
# modes).
(cd conf && find . -type d) | while read -r d; do mkdir -p "$share/conf/$d"; done
(cd conf && find . -type f) | while read -r f; do cp "conf/$f" "$share/conf/$f"; done
for f in doc/*.[1-8] doc/*.md; do [ -f "$f" ] && cp "$f" "$share/doc/"; done
# Templates that are scripts keep an executable mode (lintian asks for it).
find "$share" -type f | while read -r f; do
	if [ "$(head -c 2 "$f")" = "#!" ]; then chmod 755 "$f"; else chmod 644 "$f"; fi
done

# The systemd units for /var/qmail, filled in as setup.sh does for a root
# instance. None is enabled: the administrator chooses.
DIR=/var/qmail
for u in conf/systemd/*.service conf/systemd/*.socket conf/nqmail-svscan.service; do
	sed -e "s|@ROOTUSER@|root|g" -e "s|@SMTPDUSER@|qmaild|g" -e "s|@SMTPDGROUP@|nofiles|g" \
		-e "s|@DIR@|$DIR|g" -e "s|@LOGUSER@|setuidgid qmaill |g" "$u" > "$root/lib/systemd/system/${u##*/}"
done
chmod 644 "$root"/lib/systemd/system/*
if left=$(grep -l '@[A-Z][A-Z]*@' "$root"/lib/systemd/system/*); then
	echo "mkdeb: placeholders setup.sh fills in are left in: $left (teach mkdeb.sh the new ones)" >&2
	exit 100
fi

# The system's sendmail is the instance's; mailq is qmail-qread.
ln -s "$DIR/bin/sendmail" "$root/usr/sbin/sendmail"
mkdir -p "$root/usr/lib"
ln -s ../sbin/sendmail "$root/usr/lib/sendmail"
ln -s "$DIR/bin/qmail-qread" "$root/usr/bin/mailq"
gzip -9n < doc/sendmail.8 > "$root/usr/share/man/man8/sendmail.8.gz"
gzip -9n < doc/qmail-qread.8 > "$root/usr/share/man/man8/qmail-qread.8.gz"
echo ".so man8/qmail-qread.8" | gzip -9n > "$root/usr/share/man/man8/mailq.8.gz"

# Documentation: copyright and a changelog for this version.
cp packaging/deb/copyright "$docd/copyright"
{
	echo "nqmail ($VERSION) unstable; urgency=medium"
	echo
	echo "  * Package built from the nqmail tree by scripts/mkdeb.sh."
	if c=$(git -C "$top" log -1 --format='%h' 2>/dev/null); then
		echo "  * Last commit: $c."
	fi
	echo
	echo " -- $MAINTAINER  $(date -R -u ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH})"
} | gzip -9n > "$docd/changelog.gz"
cp packaging/deb/lintian-overrides "$root/usr/share/lintian/overrides/nqmail"
chmod 644 "$docd"/* "$root/usr/share/lintian/overrides/nqmail" "$root"/usr/share/man/man8/*

# 3. Control data: dependencies from the libraries the programs link
# (dpkg-shlibdeps wants a debian/control beside it) and the tools the
# instance runs.
mkdir -p "$stage/debian"
printf 'Source: nqmail\n\nPackage: nqmail\nArchitecture: any\n' > "$stage/debian/control"
elves=""
for f in "$lib"/bin/*; do
	case $(head -c 4 "$f" | od -An -c | tr -d ' ') in
	177ELF) elves="$elves $f" ;;
	esac
done
# shellcheck disable=SC2086
shlibs=$(cd "$stage" && dpkg-shlibdeps -O $elves 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "mkdeb: dpkg-shlibdeps found no libraries" >&2; exit 111; }
RUNTIME="daemontools, ucspi-tcp-ipv6, openssl, passwd, procps"
SIZE=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@MAINTAINER@|$MAINTAINER|" \
	-e "s|@SIZE@|$SIZE|" -e "s|@DEPENDS@|$shlibs, $RUNTIME|" -e "s|@HOMEPAGE@|$HOMEPAGE|" \
	packaging/deb/control.in > "$root/DEBIAN/control"
for s in postinst prerm postrm; do
	cp "packaging/deb/$s" "$root/DEBIAN/$s"
	chmod 755 "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
	xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

deb="$OUT/nqmail_${VERSION}_$ARCH.deb"
dpkg-deb --root-owner-group -Z"${NQ_DEB_COMPRESS:-xz}" --build "$root" "$deb.tmp" >/dev/null
mv -f "$deb.tmp" "$deb"
# build/deb holds the latest package only.
if [ $default_out = 1 ]; then
	for old in "$OUT"/nqmail_*_"$ARCH".deb; do
		[ "$old" = "$deb" ] || rm -f "$old"
	done
fi
echo "$deb"
