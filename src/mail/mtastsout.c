/* mtastsout: what qmail-remote's SMTP client (src/mail/smtpout.c) asks of
 * MTA-STS, in three calls, so that the client itself changes little: at
 * the start of a message (mtasts_begin: the policy, and the TLS policy
 * tightened), before each exchanger (mtasts_mx: is it listed?) and after
 * each session's TLS step (mtasts_tls: was it good enough, and the count
 * for TLS-RPT). See mtasts.h.
 *
 * mtasts_tls is also the last line of defence: under enforce it refuses a
 * session without TLS, or whose certificate does not verify for the
 * exchanger, whatever the TLS policy let through (a "may" retry in plain
 * text, a dane policy without TLSA records). */
#include "mail/mtasts.h"
#include "mail/tlsrpt.h"
#include "lib/ipaddr.h"
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int says(buf *why, const char *a, const char *b, const char *c)
{
	if (why && (buf_copys(why, a) < 0 || buf_puts(why, b ? b : "") < 0 || buf_puts(why, c ? c : "") < 0)) why->len = 0;
	return -1;
}

int mtasts_begin(mtasts_policy *p, const char *domain, int routed, tlspolicy *pol, buf *why)
{
	const char *ca;
	int r;

	p->mode = MTASTS_NONE;
	p->fail = 0;
	p->mxbad = 0;
	if (routed) return 0;       /* a relay is not one of the domain's exchangers */
	r = mtasts_get(domain, p, why);
	if (r < 0) return -1;
	if (r == 0) {
		if (p->fail) tlsrpt_record("no-policy-found", p->domain, p->fail, 0, 0, 0);
		return 0;
	}
	ca = mtasts_cafile();
	if (p->mode == MTASTS_ENFORCE && pol->level < TLS_VERIFY) {
		pol->level = TLS_VERIFY;
		if (ca) pol->cafile = ca;
	} else if (ca && !pol->cafile && pol->level != TLS_VERIFY) {
		/* the store the certificate is judged by (testing mode's check,
		 * enforce's "verify" after a dane policy without TLSA records);
		 * the handshake itself does not use it below "verify" */
		pol->cafile = ca;
	}
	return 1;
}

int mtasts_mx(mtasts_policy *p, const char *mx, buf *why)
{
	p->mxbad = 0;
	if (p->mode == MTASTS_NONE || mtasts_mx_ok(p, mx)) return 1;
	if (p->mode == MTASTS_TESTING) { p->mxbad = 1; return 1; }
	tlsrpt_record("sts", p->domain, "validation-failure", mx, 0, 0);
	says(why, "Sorry, ", mx, " is not an exchanger that the MTA-STS policy of ");
	if (why && (buf_puts(why, p->domain) < 0 || buf_puts(why, " lists, so I do not send to it. (#4.7.5)\n") < 0)) why->len = 0;
	return 0;
}

int mtasts_verify(const mtasts_policy *p, int dane)
{
	return p->mode == MTASTS_ENFORCE && !dane;
}

/* Our end of the socket, for sending-mta-ip. */
static void local(int fd, char *out)
{
	struct sockaddr_storage ss;
	socklen_t n = sizeof ss;
	ipaddr ip;
	out[0] = 0;
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &n) < 0) return;
	memset(&ip, 0, sizeof ip);
	if (ss.ss_family == AF_INET) {
		ip.family = AF_INET;
		memcpy(ip.a, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		ip.family = AF_INET6;
		memcpy(ip.a, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	} else return;
	ipaddr_fmt(out, &ip);
}

int mtasts_tls(mtasts_policy *p, tls *conn, const char *mx, int dane, const char *rip, int fd,
               const char *tlserr, buf *why)
{
	char sip[IPADDR_FMT];
	const char *result = "success", *text = 0;

	if (p->mode == MTASTS_NONE) return 0;
	if (!conn && !tlserr) { result = "starttls-not-supported"; text = " does not offer STARTTLS"; }
	else if (!conn) {
		/* the handshake failed; under enforce it was verifying, and
		 * OpenSSL's reason does not say which check failed */
		result = "validation-failure";
		text = " failed the TLS handshake";
	} else if (!dane) {
		switch (tls_peer_check(conn, mx)) {
		case TLS_PEER_OK: break;
		case TLS_PEER_EXPIRED: result = "certificate-expired"; text = " has an expired certificate"; break;
		case TLS_PEER_NAME: result = "certificate-host-mismatch"; text = " has a certificate for another name"; break;
		case TLS_PEER_NOCERT: result = "validation-failure"; text = " has no certificate"; break;
		default: result = "certificate-not-trusted"; text = " has a certificate I do not trust"; break;
		}
	}
	if (p->mxbad && !strcmp(result, "success")) result = "validation-failure";
	local(fd, sip);
	tlsrpt_record("sts", p->domain, result, mx, rip, sip[0] ? sip : 0);
	if (p->mode != MTASTS_ENFORCE || !text) return 0;
	says(why, "Sorry, ", mx, text);
	if (why && (buf_puts(why, ", and the MTA-STS policy of ") < 0 || buf_puts(why, p->domain) < 0 ||
	            buf_puts(why, " requires verified TLS. (#4.7.5)\n") < 0))
		why->len = 0;
	return -1;
}
