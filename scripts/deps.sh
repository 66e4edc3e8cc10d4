#!/bin/sh
# deps.sh: make sure the Debian packages nqmail builds and tests with are
# installed. As root, missing ones are installed with apt-get; as anyone
# else, the exact command is printed and the script fails.
# Extra packages can be named as arguments.
#
#   build        gcc make pkg-config libcdb-dev libssl-dev libcrypt-dev
#   run          daemontools ucspi-tcp-ipv6 (tcpserver, tcprules) tinycdb
#                openssl (setup's self-signed certificate, qmail-mkcert)
#   tests        python3 perl strace procps iproute2 (ss) swaks
#                dnsmasq-base (a DNS server on loopback) procmail (preline)
#                maildrop (preline with another filter)
#                postfix (a real SMTP client and server for qmail-smtpd
#                and qmail-remote, and bench/'s smtp-source)
#
# Postfix is installed with debconf's "No configuration", so no system
# Postfix is configured or started (the tests run private instances with
# postfix -c). It is a mail transport agent: when another one (exim4,
# sendmail, ...) is installed, deps.sh does not replace it, and the Postfix
# tests are skipped.
set -u
PKGS="gcc make pkg-config libcdb-dev tinycdb libssl-dev libcrypt-dev daemontools
ucspi-tcp-ipv6 python3 perl strace procps iproute2 swaks dnsmasq-base openssl
procmail postfix $*"
PKGS="$PKGS clang libclang-rt-14-dev"   # make fuzz: libFuzzer with ASan/UBSan (tests/fuzz-brief.t)
PKGS="$PKGS libopendkim-dev libspf2-dev libopendmarc-dev python3-dkim python3-spf"   # DKIM, SPF, DMARC and their independent checkers in tests
PKGS="$PKGS maildrop"   # preline + maildrop with a real mailfilter (tests/system/preline/maildrop.t)
PKGS="$PKGS publicsuffix python3-nacl"   # DMARC's Organizational Domains (qmail-smtpd); Ed25519 signing in tests/system/dkimverify
PKGS="$PKGS fetchmail"   # POP3 tests pull mail with a real client (tests/system/qmail-pop3d/fetchmail.t)
PKGS="$PKGS unbound ldnsutils"   # DANE tests: a validating resolver and a signed zone (tests/system/qmail-remote/dane.t)
PKGS="$PKGS chromium chromium-driver python3-selenium"   # qmail-report's page in a browser (tests/system/qmail-report/html.t)
PKGS="$PKGS systemd"   # systemd-analyze verify on the units of conf/systemd (tests/system/units/verify.t)
PKGS="$PKGS dovecot-core dovecot-lmtpd"   # qmail-lmtp delivers to a private Dovecot the test starts (tests/system/qmail-lmtp/dovecot.t)
PKGS="$PKGS dpkg-dev binutils mmdebstrap lintian"   # make deb (scripts/mkdeb.sh) and its chroot test (scripts/debchroot.sh, tests/system/deb/install.t)
PKGS="$PKGS libcurl4-openssl-dev"   # MTA-STS policy fetch over HTTPS (src/mail/mtastsfetch.c)
PKGS="$PKGS opendkim"   # a real milter for qmail-smtpd's milter client (tests/system/milter/opendkim.t)
PKGS="$PKGS postsrsd"   # an independent SRS implementation our SRS addresses are checked against (tests/system/srs/postsrsd.t)

installed() {
	case $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) in
	*"install ok installed"*) return 0 ;;
	esac
	return 1
}

# Another installed package that provides mail-transport-agent, if any.
other_mta() {
	dpkg-query -W -f='${Package} ${Status} ${Provides}\n' 2>/dev/null |
		awk '/install ok installed/ && /mail-transport-agent/ && $1 != "postfix" { print $1; exit }'
}

missing=""
for p in $PKGS; do
	installed "$p" && continue
	if [ "$p" = postfix ] && m=$(other_mta) && [ -n "$m" ]; then
		echo "deps: $m is this machine's mail transport agent: postfix is not installed, and the tests that use it are skipped" >&2
		continue
	fi
	missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "nqmail needs these Debian packages:$missing" >&2
	echo "run as root:  apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
case " $missing " in
*" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections ;;
esac
apt-get update -qq >/dev/null 2>&1 || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "deps: apt-get install$missing failed" >&2; exit 1; }
