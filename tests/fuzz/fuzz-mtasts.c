/* fuzz-mtasts: the parsers of outside input in src/mail/mtasts.c and
 * src/mail/tlsrpt.c. The first byte chooses what the rest is: an MTA-STS
 * policy body (from a web server), a _mta-sts TXT record, a _smtp._tls
 * TXT record, a policy cache file, TLS-RPT count lines (split by domain
 * and each reported, and reported whole for the domain named on the
 * first line), or an "mx pattern\nname" pair.
 * Besides not crashing: a policy that parses has a mode, a max_age
 * within the RFC's limit and, unless its mode is none, at least one mx
 * pattern that matches a name made from it; a cache file written from a
 * parsed policy parses back to the same policy. */
#include "mail/mtasts.h"
#include "mail/tlsrpt.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every domain's report from tlsrpt_split: valid JSON has no raw
 * control bytes. */
static int onsplit(void *ctx, const char *d, const char *lines, size_t len)
{
	tlsrpt_meta *m = ctx;
	buf j = BUF_INIT;
	unsigned long sessions;
	size_t a;
	if (tlsrpt_json(lines, len, d, m, &j, &sessions) == 0)
		for (a = 0; a < j.len; a++) if ((unsigned char)j.s[a] < 0x20 && j.s[a] != '\n') abort();
	buf_free(&j);
	return 0;
}

static void policy(const char *s, size_t n)
{
	mtasts_policy p = MTASTS_POLICY_INIT, q = MTASTS_POLICY_INIT;
	buf c = BUF_INIT;
	if (mtasts_parse(s, n, &p, 0) == 0) {
		if (p.max_age > MTASTS_MAXAGE_MAX || p.nmx > MTASTS_MX_MAX) abort();
		if (p.mode != MTASTS_NONE && !p.nmx) abort();
		if (p.nmx) {
			/* the first pattern, made into a name, matches itself */
			char name[300] = "x";
			const char *mx = p.mx.s;
			if (mx[0] == '*') { if (strlen(mx) < sizeof name - 1) memcpy(name + 1, mx + 1, strlen(mx)); }
			else if (strlen(mx) < sizeof name) memcpy(name, mx, strlen(mx) + 1);
			if (!mtasts_mx_ok(&p, name)) abort();
		}
		memcpy(p.id, "fuzz", 5);
		p.fetched = 12345;
		if (mtasts_cache_fmt(&p, &c) == 0) {
			if (mtasts_cache_parse(c.s, c.len, &q) < 0) abort();
			if (q.mode != p.mode || q.max_age != p.max_age || q.nmx != p.nmx || q.fetched != 12345) abort();
			if (q.mx.len != p.mx.len || (p.mx.len && memcmp(q.mx.s, p.mx.s, p.mx.len))) abort();
		}
	}
	mtasts_free(&p);
	mtasts_free(&q);
	buf_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n = size ? size - 1 : 0;
	char id[MTASTS_ID_MAX + 1];
	buf b = BUF_INIT, j = BUF_INIT;
	size_t a, o;

	if (!size) return 0;
	switch (data[0] % 6) {
	case 0:
		policy(s, n);
		break;
	case 1:
		if (mtasts_txt(s, n, id) == 1 && (strlen(id) < 1 || strlen(id) > MTASTS_ID_MAX)) abort();
		break;
	case 2:
		if (tlsrpt_rua(s, n, &b, &a, &o) == 1) {
			const char *p = b.s;
			size_t k;
			for (k = 0; k < a; k++, p += strlen(p) + 1)
				if (!strchr(p, '@') || p + strlen(p) >= b.s + b.len + 1) abort();
		}
		break;
	case 3: {
		mtasts_policy p = MTASTS_POLICY_INIT;
		(void)mtasts_cache_parse(s, n, &p);
		mtasts_free(&p);
		break;
	}
	case 4: {
		size_t nl = 0;
		unsigned long sessions;
		char dom[64];
		tlsrpt_meta m = { "me.test", "postmaster@me.test", "2026-11-29", 0, 0 };
		while (nl < n && nl < sizeof dom - 1 && s[nl] != '\n') nl++;
		memcpy(dom, s, nl);
		dom[nl] = 0;
		m.policy = s;
		m.policylen = n;
		(void)tlsrpt_split(s, n, onsplit, &m);
		if (tlsrpt_json(s, n, dom, &m, &j, &sessions) == 0) {
			/* valid JSON has no raw control bytes */
			for (a = 0; a < j.len; a++) if ((unsigned char)j.s[a] < 0x20 && j.s[a] != '\n') abort();
		}
		break;
	}
	case 5: {
		buf pat = BUF_INIT;
		size_t nl = 0;
		while (nl < n && s[nl] != '\n') nl++;
		if (buf_copy(&pat, s, nl) == 0 && buf_copy(&b, nl < n ? s + nl + 1 : "", nl < n ? n - nl - 1 : 0) == 0 &&
		    !memchr(pat.s, 0, pat.len) && !memchr(b.s, 0, b.len))
			(void)mtasts_match(pat.s, b.s);
		buf_free(&pat);
		break;
	}
	}
	buf_free(&b);
	buf_free(&j);
	return 0;
}
