#!/bin/sh
# qmail-dkimkey [-f] [-t rsa|ed25519] [-b BITS] DOMAIN SELECTOR: make a
# DKIM key pair for DOMAIN under control/dkim/DOMAIN/SELECTOR.key and
# print the DNS TXT record to publish at SELECTOR._domainkey.DOMAIN
# (doc/qmail-dkimkey.8, doc/dkim.5).
# The private key is readable only by the uid that signs: qmailr in a
# root instance (qmail-remote runs as qmailr), the owner in a
# single-user one. The public half is kept beside it as SELECTOR.pub
# (the record can be printed again with -p). An existing key is never
# replaced unless -f is given, since mail signed with it may still be in
# flight.
set -u
me=qmail-dkimkey
die() { code=$1; shift; echo "$me: $*" >&2; exit "$code"; }
USAGE="usage: qmail-dkimkey [-f] [-p] [-t rsa|ed25519] [-b bits] DOMAIN SELECTOR"

force=0 printonly=0 type=rsa bits=2048
while [ $# -gt 0 ]; do
	case "$1" in
	-f) force=1; shift ;;
	-p) printonly=1; shift ;;
	-t) [ $# -ge 2 ] || die 100 "$USAGE"; type=$2; shift 2 ;;
	-b) [ $# -ge 2 ] || die 100 "$USAGE"; bits=$2; shift 2 ;;
	--) shift; break ;;
	-*) die 100 "$USAGE" ;;
	*) break ;;
	esac
done
[ $# = 2 ] || die 100 "$USAGE"
domain=$(printf '%s' "$1" | tr 'A-Z' 'a-z')
sel=$2
case "$type" in rsa|ed25519) ;; *) die 100 "unknown key type $type (rsa or ed25519)" ;; esac
case "$bits" in ''|*[!0-9]*) die 100 "bad key size $bits" ;; esac
[ "$bits" -ge 1024 ] && [ "$bits" -le 8192 ] || die 100 "RSA keys are 1024 to 8192 bits (2048 recommended)"
# the same rules as src/mail/dkimsign.c, which refuses other names
case "$domain" in
''|.*|*.|*..*|*[!a-z0-9.-]*) die 100 "$1 is not a domain name" ;;
esac
case "$sel" in
''|.*|*[!A-Za-z0-9._-]*) die 100 "$sel is not a selector (letters, digits, '.', '-', '_')" ;;
esac
[ ${#sel} -lt 64 ] || die 100 "selector too long"

if [ -n "${NQMAIL_HOME:-}" ] && [ "${NQMAIL_HOME#/}" != "$NQMAIL_HOME" ]; then
	DIR=$NQMAIL_HOME
else
	self=$(readlink -f "$0") || die 111 "unable to find my own location"
	DIR=$(dirname "$(dirname "$self")")
fi
[ -d "$DIR/control" ] || die 111 "$DIR is not an nqmail instance (no control/)"
command -v openssl >/dev/null 2>&1 || die 111 "openssl is not installed (apt-get install openssl)"
kdir="$DIR/control/dkim/$domain"
key="$kdir/$sel.key"
pub="$kdir/$sel.pub"

# The record: RSA keys as their SubjectPublicKeyInfo, Ed25519 keys as the
# bare 32 bytes (RFC 8463); split into strings of at most 255 bytes, as
# a TXT record's strings are.
record() {
	der=$(openssl pkey -pubin -in "$pub" -outform DER 2>/dev/null | base64 -w0) || die 111 "unable to read $pub"
	[ -n "$der" ] || die 111 "$pub is not a public key"
	if [ "$(openssl pkey -pubin -in "$pub" -noout -text 2>/dev/null | sed -n 1p | cut -c1-7)" = ED25519 ]; then
		k=ed25519
		p=$(openssl pkey -pubin -in "$pub" -outform DER | tail -c 32 | base64 -w0)
	else
		k=rsa
		p=$der
	fi
	p="p=$p"
	printf '%s._domainkey.%s. IN TXT ( "v=DKIM1; k=%s; "' "$sel" "$domain" "$k"
	while [ ${#p} -gt 0 ]; do
		part=$(printf '%s' "$p" | cut -c1-250)
		p=$(printf '%s' "$p" | cut -c251-)
		printf '\n\t"%s"' "$part"
	done
	printf ' )\n'
}

if [ $printonly = 1 ]; then
	[ -f "$pub" ] || die 100 "no public key $pub"
	record
	exit 0
fi
if [ -e "$key" ] && [ $force = 0 ]; then
	die 100 "$key exists: not replaced (-f replaces it; -p prints its record)"
fi

# Who signs: qmailr, as users/ids records it; in a single-user instance
# the owner of control/.
ctluid=$(stat -c %u "$DIR/control") || die 111 "unable to stat $DIR/control"
signer=$(sed -n 's/^qmailr:\([0-9][0-9]*\):[0-9]*$/\1/p' "$DIR/users/ids" 2>/dev/null) || signer=
[ -n "$signer" ] || signer=$ctluid

umask 077
mkdir -p "$kdir" || die 111 "unable to create $kdir"
chmod 755 "$DIR/control/dkim" "$kdir" || die 111 "unable to chmod $kdir"
if [ "$(id -u)" = 0 ]; then chown "$ctluid" "$DIR/control/dkim" "$kdir" || die 111 "unable to chown $kdir"; fi
tmp="$kdir/.$sel.$$"
trap 'rm -f "$tmp.key" "$tmp.pub"' EXIT
trap 'exit 111' HUP INT TERM
if [ "$type" = rsa ]; then
	out=$(openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$tmp.key" 2>&1)
else
	out=$(openssl genpkey -algorithm ED25519 -out "$tmp.key" 2>&1)
fi
[ $? = 0 ] || { printf '%s\n' "$out" >&2; die 111 "openssl could not make a key"; }
openssl pkey -in "$tmp.key" -pubout -out "$tmp.pub" 2>/dev/null || die 111 "openssl could not write the public key"
if [ "$(id -u)" = 0 ]; then
	chown "$signer" "$tmp.key" || die 111 "unable to chown $tmp.key"
	chown "$ctluid" "$tmp.pub" || die 111 "unable to chown $tmp.pub"
fi
chmod 400 "$tmp.key" && chmod 644 "$tmp.pub" || die 111 "unable to chmod the key files"
sync "$tmp.key" "$tmp.pub" 2>/dev/null
# the public half first: a key is never in place without its record
mv -f "$tmp.pub" "$pub" && mv -f "$tmp.key" "$key" || die 111 "unable to install $key"
sync "$kdir" 2>/dev/null
echo "Made control/dkim/$domain/$sel.key ($type). Publish this record in DNS:" >&2
record
