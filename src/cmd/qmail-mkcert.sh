#!/bin/sh
# qmail-mkcert [-f] [NAME]: give the instance a self-signed TLS certificate
# for NAME in control/servercert.pem (doc/qmail-mkcert.8).
# NAME defaults to control/me, else the kernel's host name (never a DNS
# lookup; localhost when that is no host name). A certificate this
# program made starts with a marker line naming its host; it is replaced
# when NAME differs (config-fast runs it with the new name), and a
# certificate from anywhere else is never touched unless -f is given.
# setup runs it when the file is missing. The file is replaced
# atomically: root:nofiles 0640 in a root instance (qmail-smtpd runs as
# qmaild, group nofiles), the owner's 0600 in a single-user one.
set -u
me=qmail-mkcert
die() { code=$1; shift; echo "$me: $*" >&2; exit "$code"; }
MARK="# nqmail qmail-mkcert: self-signed certificate for"

force=0
if [ "${1:-}" = -f ]; then force=1; shift; fi
[ $# -le 1 ] || die 100 "usage: qmail-mkcert [-f] [NAME]"

if [ -n "${NQMAIL_HOME:-}" ] && [ "${NQMAIL_HOME#/}" != "$NQMAIL_HOME" ]; then
	DIR=$NQMAIL_HOME
else
	self=$(readlink -f "$0") || die 111 "unable to find my own location"
	DIR=$(dirname "$(dirname "$self")")
fi
[ -d "$DIR/control" ] || die 111 "$DIR is not an nqmail instance (no control/)"
cert="$DIR/control/servercert.pem"

if [ $# = 1 ]; then
	name=$1
else
	name=$(sed -n 1p "$DIR/control/me" 2>/dev/null) || name=
	[ -n "$name" ] || name=$(uname -n)
	case "$name" in ''|.*|*.|*..*|*[!A-Za-z0-9._-]*) name=localhost ;; esac
fi
case "$name" in
''|.*|*.|*..*|*[!A-Za-z0-9._-]*) die 100 "$name is not a host name" ;;
esac

# The name of the certificate we made before, if the file is ours.
if [ -e "$cert" ]; then
	first=$(sed -n 1p "$cert" 2>/dev/null) || die 111 "unable to read $cert"
	case "$first" in
	"$MARK "*)
		old=${first#"$MARK "}
		if [ "$old" = "$name" ] && [ $force = 0 ]; then
			echo "control/servercert.pem is already the self-signed certificate for $name."
			exit 0
		fi ;;
	*)
		if [ $force = 0 ]; then
			echo "control/servercert.pem is not one qmail-mkcert made: left as it is (-f replaces it)."
			exit 0
		fi ;;
	esac
fi
command -v openssl >/dev/null 2>&1 || die 111 "openssl is not installed: no certificate made (apt-get install openssl)"

# The owner and mode of the instance's control files decide the file's.
ctluid=$(stat -c %u "$DIR/control") || die 111 "unable to stat $DIR/control"
nofiles=$(sed -n 's/^nofiles::\([0-9][0-9]*\)$/\1/p' "$DIR/users/ids" 2>/dev/null) || nofiles=
[ -n "$nofiles" ] || nofiles=$(stat -c %g "$DIR/control")
if [ "$ctluid" = 0 ]; then mode=640; else mode=600; fi

# A CN holds at most 64 bytes; the subjectAltName, which clients check,
# holds the whole name.
cn=$name
[ ${#cn} -le 64 ] || cn=nqmail
umask 077
tmp="$DIR/control/.servercert.$$"
trap 'rm -f "$tmp.key" "$tmp.crt" "$tmp.pem"' EXIT
trap 'exit 111' HUP INT TERM
if ! out=$(openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$cn" \
	-addext "subjectAltName=DNS:$name" -keyout "$tmp.key" -out "$tmp.crt" 2>&1); then
	printf '%s\n' "$out" >&2
	die 111 "openssl could not make a certificate"
fi
{ echo "$MARK $name"; cat "$tmp.crt" "$tmp.key"; } > "$tmp.pem" || die 111 "unable to write $tmp.pem"
if [ "$(id -u)" = 0 ]; then
	chown "$ctluid:$nofiles" "$tmp.pem" || die 111 "unable to chown $tmp.pem"
fi
chmod "$mode" "$tmp.pem" || die 111 "unable to chmod $tmp.pem"
sync "$tmp.pem" 2>/dev/null
mv -f "$tmp.pem" "$cert" || die 111 "unable to replace $cert"
echo "Made control/servercert.pem: a self-signed certificate for $name, valid 10 years."
