/* received: qmail-smtpd's Received: field (see received.h). */
#include "mail/received.h"
#include "mail/date822.h"
#include "lib/str.h"
#include <string.h>

/* Append s cleaned: printable ASCII stays, except what would end a
 * comment or quote something; everything else (and UTF-8) becomes '?'
 * so the field stays one plain line. */
static int clean(buf *out, const char *s)
{
	size_t i, n = strlen(s);

	if (n > RECEIVED_WORD_MAX) n = RECEIVED_WORD_MAX;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c >= 127 || c == '(' || c == ')' || c == '\\') c = '?';
		if (buf_putc(out, (char)c) < 0) return -1;
	}
	return 0;
}

const char *received_proto(int esmtp, int tls, int auth)
{
	if (!esmtp && !tls && !auth) return "SMTP";
	if (tls && auth) return "ESMTPSA";
	if (tls) return "ESMTPS";
	if (auth) return "ESMTPA";
	return "ESMTP";
}

int received_line(buf *out, const struct received *r)
{
	char date[DATE822_MAX];
	const char *host = r->remotehost && *r->remotehost ? r->remotehost : "unknown";
	const char *ip = r->remoteip && *r->remoteip ? r->remoteip : 0;

	if (buf_puts(out, "Received: from ") < 0 || clean(out, host) < 0) return -1;
	if (r->helo && !case_eq(r->helo, host)) {
		if (buf_puts(out, " (HELO ") < 0 || clean(out, *r->helo ? r->helo : "?") < 0 ||
		    buf_putc(out, ')') < 0) return -1;
	}
	if (buf_puts(out, " (") < 0) return -1;
	if (r->remoteinfo && *r->remoteinfo && (clean(out, r->remoteinfo) < 0 || buf_putc(out, '@') < 0))
		return -1;
	if (!ip) {
		if (buf_puts(out, "unknown") < 0) return -1;
	} else {
		if (buf_puts(out, strchr(ip, ':') ? "[IPv6:" : "[") < 0 || clean(out, ip) < 0 ||
		    buf_putc(out, ']') < 0) return -1;
	}
	if (buf_puts(out, ")\n  by ") < 0 || clean(out, r->me) < 0 ||
	    buf_puts(out, " (nqmail) with ") < 0 || buf_puts(out, r->proto) < 0) return -1;
	if (r->tlsversion) {
		if (buf_puts(out, " (") < 0 || clean(out, r->tlsversion) < 0 || buf_putc(out, ' ') < 0 ||
		    clean(out, r->tlscipher ? r->tlscipher : "unknown") < 0 || buf_putc(out, ' ') < 0 ||
		    buf_putnum(out, r->tlsbits > 0 ? (unsigned long long)r->tlsbits : 0) < 0 ||
		    buf_puts(out, " bits)") < 0) return -1;
	}
	date822_fmt(date, r->when);
	if (buf_puts(out, "; ") < 0 || buf_puts(out, date) < 0 || buf_putc(out, '\n') < 0) return -1;
	return 0;
}
