#!/bin/sh
# config-fast FQDN: give an instance its minimum configuration for the host
# FQDN (qmail's config-fast(8); see doc/config-fast.8):
#   control/me                FQDN
#   control/defaultdomain     FQDN without its first label (3 labels or more)
#   control/plusdomain        the same
#   control/locals, rcpthosts FQDN added (once) to what is there
#   alias/.qmail-postmaster, .qmail-mailer-daemon, .qmail-root
#                             ./Maildir/ (deliver to alias/Maildir), when missing
#   control/servercert.pem    a self-signed certificate for FQDN, when the
#                             one there is qmail-mkcert's for another name
# The instance is NQMAIL_HOME (an absolute path) or the directory above the
# bin/ holding this script.
set -eu
me=config-fast
die() { code=$1; shift; echo "$me: $*" >&2; exit "$code"; }

[ $# = 1 ] || die 100 "usage: config-fast FQDN"
fqdn=$1
case "$fqdn" in
''|.*|*.|*..*|*[!A-Za-z0-9._-]*)
	die 100 "$fqdn is not a host name (letters, digits, - and _, labels separated by dots)" ;;
esac

if [ -n "${NQMAIL_HOME:-}" ] && [ "${NQMAIL_HOME#/}" != "$NQMAIL_HOME" ]; then
	DIR=$NQMAIL_HOME
else
	self=$(readlink -f "$0") || die 111 "unable to find my own location"
	DIR=$(dirname "$(dirname "$self")")
fi
if [ ! -d "$DIR/control" ] || [ ! -d "$DIR/alias" ]; then
	die 111 "$DIR is not an nqmail instance (no control/ or alias/)"
fi
umask 022

# Files belong to the instance, not to whoever runs this: as root, control
# files get control/'s owner and the alias files the alias user's ids.
owner() {
	[ "$(id -u)" = 0 ] || return 0
	chown "$1" "$2"
}
ctlown=$(stat -c %u:%g "$DIR/control")
aliasown=$(sed -n 's/^alias:\([0-9]*\):\([0-9]*\)$/\1:\2/p' "$DIR/users/ids" 2>/dev/null) || aliasown=
[ -n "$aliasown" ] || aliasown=$(stat -c %u:%g "$DIR/alias")

# put FILE TEXT: replace control/FILE with the line TEXT, atomically
put() {
	echo "Putting $2 into control/$1."
	printf '%s\n' "$2" > "$DIR/control/$1.tmp" || die 111 "unable to write control/$1.tmp"
	chmod 644 "$DIR/control/$1.tmp"
	owner "$ctlown" "$DIR/control/$1.tmp"
	mv -f "$DIR/control/$1.tmp" "$DIR/control/$1" || die 111 "unable to replace control/$1"
}
# add FILE TEXT: add the line TEXT to control/FILE unless it is there
add() {
	f="$DIR/control/$1"
	if [ -f "$f" ] && grep -qixF -- "$2" "$f"; then
		echo "control/$1 already lists $2."
		return 0
	fi
	echo "Adding $2 to control/$1."
	{ [ ! -f "$f" ] || cat "$f"; printf '%s\n' "$2"; } > "$f.tmp" || die 111 "unable to write control/$1.tmp"
	chmod 644 "$f.tmp"
	owner "$ctlown" "$f.tmp"
	mv -f "$f.tmp" "$f" || die 111 "unable to replace control/$1"
}

echo "Your fully qualified host name is $fqdn."
put me "$fqdn"
case "$fqdn" in
*.*.*) domain=${fqdn#*.} ;;
*) domain=$fqdn ;;
esac
put defaultdomain "$domain"
put plusdomain "$domain"
add locals "$fqdn"
add rcpthosts "$fqdn"
echo "Now SMTP clients may send messages only to $fqdn (and its control/rcpthosts entries)."
echo "Add hosts to rcpthosts whenever you add them to locals or virtualdomains."

# The three addresses every host must receive mail for, delivered to the
# alias user's Maildir so that they can be read right away.
for sub in "" /cur /new /tmp; do
	d="$DIR/alias/Maildir$sub"
	[ -d "$d" ] && continue
	mkdir "$d" || die 111 "unable to create alias/Maildir$sub"
	chmod 700 "$d"
	owner "$aliasown" "$d"
done
for a in postmaster mailer-daemon root; do
	f="$DIR/alias/.qmail-$a"
	if [ -e "$f" ]; then
		echo "alias/.qmail-$a exists; left as it is."
		continue
	fi
	echo "Creating alias/.qmail-$a: mail for $a goes to alias/Maildir/."
	printf './Maildir/\n' > "$f.tmp" || die 111 "unable to write alias/.qmail-$a"
	chmod 644 "$f.tmp"
	owner "$aliasown" "$f.tmp"
	mv -f "$f.tmp" "$f" || die 111 "unable to create alias/.qmail-$a"
done

# The certificate setup made names the host setup saw; the servers must
# present FQDN. qmail-mkcert leaves any other certificate alone.
if [ -x "$DIR/bin/qmail-mkcert" ] && command -v openssl >/dev/null 2>&1; then
	NQMAIL_HOME=$DIR "$DIR/bin/qmail-mkcert" "$fqdn" || echo "$me: warning: control/servercert.pem was not renewed for $fqdn" >&2
fi
