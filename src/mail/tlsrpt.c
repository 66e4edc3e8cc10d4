/* tlsrpt: counting TLS sessions for RFC 8460 and building the daily
 * aggregate report from the counts (see tlsrpt.h).
 *
 * The counts file is written by many processes and read by one: every
 * line is parsed as untrusted (field count, lengths), and anything odd is
 * skipped rather than reported. The JSON is written by hand, every string
 * escaped, bytes outside printable ASCII as \u00XX, so the report is
 * valid JSON whatever the counts or the cached policy hold. */
#include "mail/tlsrpt.h"
#include "mail/mtasts.h"
#include "mail/instance.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

void tlsrpt_day(time_t t, char day[11])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm)) memset(&tm, 0, sizeof tm);
	day[0] = (char)('0' + (tm.tm_year + 1900) / 1000 % 10);
	day[1] = (char)('0' + (tm.tm_year + 1900) / 100 % 10);
	day[2] = (char)('0' + (tm.tm_year + 1900) / 10 % 10);
	day[3] = (char)('0' + (tm.tm_year + 1900) % 10);
	day[4] = '-';
	day[5] = (char)('0' + (tm.tm_mon + 1) / 10);
	day[6] = (char)('0' + (tm.tm_mon + 1) % 10);
	day[7] = '-';
	day[8] = (char)('0' + tm.tm_mday / 10);
	day[9] = (char)('0' + tm.tm_mday % 10);
	day[10] = 0;
}

int tlsrpt_dayscan(const char *day, time_t *start)
{
	struct tm tm;
	int i;
	char again[11];
	for (i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? day[i] != '-' : (day[i] < '0' || day[i] > '9')) return -1;
	if (day[10]) return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = (day[0] - '0') * 1000 + (day[1] - '0') * 100 + (day[2] - '0') * 10 + (day[3] - '0') - 1900;
	tm.tm_mon = (day[5] - '0') * 10 + (day[6] - '0') - 1;
	tm.tm_mday = (day[8] - '0') * 10 + (day[9] - '0');
	*start = timegm(&tm);
	if (*start == (time_t)-1) return -1;
	tlsrpt_day(*start, again);
	return strcmp(again, day) ? -1 : 0;      /* "2026-02-30" is not a day */
}

/* ---- counting ------------------------------------------------------------------ */

/* A field as written: printable ASCII without blanks, at most 255 bytes;
 * anything else (or nothing) becomes "-". */
static int field(buf *b, const char *s)
{
	size_t i, n = s ? strlen(s) : 0;
	int ok = n > 0 && n <= 255;
	for (i = 0; ok && i < n; i++) if (s[i] <= 0x20 || s[i] >= 0x7f) ok = 0;
	if (buf_putc(b, ' ') < 0) return -1;
	return ok ? buf_put(b, s, n) : buf_putc(b, '-');
}

void tlsrpt_record(const char *ptype, const char *domain, const char *result,
                   const char *mx, const char *rip, const char *sip)
{
	buf path = BUF_INIT, line = BUF_INIT;
	char day[11];
	int fd;

	tlsrpt_day(time(0), day);
	nq_path(&path, MTASTS_DIR "/tlsrpt.");
	if (buf_puts(&path, day) < 0) goto out;
	if (buf_copys(&line, "v1") < 0 || field(&line, ptype) < 0 || field(&line, domain) < 0 ||
	    field(&line, result) < 0 || field(&line, mx) < 0 || field(&line, rip) < 0 || field(&line, sip) < 0 ||
	    buf_putc(&line, '\n') < 0)
		goto out;
	fd = open(path.s, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) goto out;
	(void)write_all(fd, line.s, line.len);    /* one write: one line, never split */
	close(fd);
out:
	buf_free(&path);
	buf_free(&line);
}

/* ---- reading the counts ------------------------------------------------------------ */

struct rec { const char *f[7]; size_t l[7]; };

/* Line s[0..n) into r: 1 a count line, 0 not. */
static int parse(const char *s, size_t n, struct rec *r)
{
	size_t i = 0, k;
	for (k = 0; k < 7; k++) {
		size_t e;
		if (i >= n) return 0;
		e = i + byte_chr(s + i, n - i, ' ');
		if (e == i || e - i > 255) return 0;
		r->f[k] = s + i;
		r->l[k] = e - i;
		i = e + 1;
	}
	if (i <= n) return 0;      /* more fields than seven */
	return r->l[0] == 2 && !memcmp(r->f[0], "v1", 2);
}

/* Call f for every count line of text. */
typedef int line_fn(void *ctx, const struct rec *r);
static int each(const char *text, size_t n, line_fn *f, void *ctx)
{
	size_t i = 0;
	while (i < n) {
		size_t e = i + byte_chr(text + i, n - i, '\n');
		struct rec r;
		if (e < n && parse(text + i, e - i, &r) && f(ctx, &r) < 0) return -1;
		i = e + 1;        /* a last line without its newline was cut: skipped */
	}
	return 0;
}

static int is(const struct rec *r, int k, const char *s)
{
	size_t n = strlen(s);
	return r->l[k] == n && case_eqn(r->f[k], s, n);
}

/* One count line of a domain, for sorting by domain. */
struct line { const char *s; size_t n; const char *dom; size_t dl; };

static int bydomain(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	size_t i, n = x->dl < y->dl ? x->dl : y->dl;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)x->dom[i], d = (unsigned char)y->dom[i];
		if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
		if (d >= 'A' && d <= 'Z') d = (unsigned char)(d + 32);
		if (c != d) return c < d ? -1 : 1;
	}
	if (x->dl != y->dl) return x->dl < y->dl ? -1 : 1;
	return x->s < y->s ? -1 : x->s > y->s;     /* stable: the file's order */
}

struct collect { struct line *l; size_t n, cap; };

static int online(void *ctx, const struct rec *r)
{
	struct collect *c = ctx;
	char name[256], ok[256];
	/* only a proper domain name: it goes into a DNS query and into the
	 * report's header fields */
	if (r->l[2] >= sizeof name) return 0;
	memcpy(name, r->f[2], r->l[2]);
	name[r->l[2]] = 0;
	if (mtasts_domain(name, ok) < 0) return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct line *l;
		if (cap > SIZE_MAX / sizeof *l) return -1;
		l = realloc(c->l, cap * sizeof *l);
		if (!l) return -1;
		c->l = l;
		c->cap = cap;
	}
	c->l[c->n].s = r->f[0];
	c->l[c->n].n = (size_t)(r->f[6] + r->l[6] - r->f[0]);
	c->l[c->n].dom = r->f[2];
	c->l[c->n].dl = r->l[2];
	c->n++;
	return 0;
}

int tlsrpt_split(const char *text, size_t n, tlsrpt_fn *f, void *ctx)
{
	struct collect c = { 0, 0, 0 };
	buf lines = BUF_INIT;
	size_t i = 0, k;
	int r = 0;

	if (each(text, n, online, &c) < 0) { free(c.l); return -1; }
	if (c.n) qsort(c.l, c.n, sizeof *c.l, bydomain);
	while (i < c.n && r == 0) {
		char dom[256], ok[256];
		lines.len = 0;
		for (k = i; k < c.n && c.l[k].dl == c.l[i].dl && case_eqn(c.l[k].dom, c.l[i].dom, c.l[i].dl); k++)
			if (buf_put(&lines, c.l[k].s, c.l[k].n) < 0 || buf_putc(&lines, '\n') < 0) { r = -1; break; }
		if (r) break;
		memcpy(dom, c.l[i].dom, c.l[i].dl);
		dom[c.l[i].dl] = 0;
		if (mtasts_domain(dom, ok) < 0) ok[0] = 0;      /* cannot happen: online() checked */
		r = f(ctx, ok, lines.s, lines.len);
		i = k;
	}
	free(c.l);
	buf_free(&lines);
	return r;
}

/* ---- the report --------------------------------------------------------------------- */

struct detail { const struct rec *r; unsigned long n; };

struct agg {
	const char *domain, *ptype;
	unsigned long ok, bad;
	size_t nd;
	struct detail d[TLSRPT_DETAILS_MAX];
	struct rec keep[TLSRPT_DETAILS_MAX];
};

static int same(const struct rec *a, const struct rec *b, int k)
{
	return a->l[k] == b->l[k] && case_eqn(a->f[k], b->f[k], a->l[k]);
}

static int onrec(void *ctx, const struct rec *r)
{
	struct agg *a = ctx;
	size_t k;
	if (!is(r, 2, a->domain) || !is(r, 1, a->ptype)) return 0;
	if (is(r, 3, "success")) { a->ok++; return 0; }
	a->bad++;
	for (k = 0; k < a->nd; k++) {
		const struct rec *q = a->d[k].r;
		if (same(q, r, 3) && same(q, r, 4) && same(q, r, 5) && same(q, r, 6)) { a->d[k].n++; return 0; }
	}
	if (a->nd >= TLSRPT_DETAILS_MAX) return 0;    /* counted in the summary, not detailed */
	a->keep[a->nd] = *r;
	a->d[a->nd].r = &a->keep[a->nd];
	a->d[a->nd].n = 1;
	a->nd++;
	return 0;
}

/* A JSON string of s[0..n). */
static int jstr(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;
	if (buf_putc(b, '"') < 0) return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') { if (buf_putc(b, '\\') < 0 || buf_putc(b, (char)c) < 0) return -1; }
		else if (c < 0x20 || c >= 0x7f) {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			if (buf_put(b, u, 6) < 0) return -1;
		} else if (buf_putc(b, (char)c) < 0) return -1;
	}
	return buf_putc(b, '"');
}
static int jstrs(buf *b, const char *s) { return jstr(b, s, strlen(s)); }
static int jkey(buf *b, const char *k) { return jstrs(b, k) < 0 || buf_putc(b, ':') < 0 ? -1 : 0; }
/* A field of a count line: "-" is unknown and left out by the caller. */
static int known(const struct rec *r, int k) { return !(r->l[k] == 1 && r->f[k][0] == '-'); }

static int policy(buf *b, const char *ptype, const char *domain, const tlsrpt_meta *m)
{
	if (buf_puts(b, "{") < 0 || jkey(b, "policy-type") < 0 || jstrs(b, ptype) < 0) return -1;
	if (!strcmp(ptype, "sts") && m->policy) {
		mtasts_policy p = MTASTS_POLICY_INIT;
		size_t i = 0, first = 1, k;
		const char *mx;
		if (buf_putc(b, ',') < 0 || jkey(b, "policy-string") < 0 || buf_putc(b, '[') < 0) return -1;
		while (i < m->policylen) {
			size_t e = i + byte_chr(m->policy + i, m->policylen - i, '\n'), end = e;
			if (end > i && m->policy[end - 1] == '\r') end--;
			if (end > i) {
				if ((!first && buf_putc(b, ',') < 0) || jstr(b, m->policy + i, end - i) < 0) return -1;
				first = 0;
			}
			i = e + 1;
		}
		if (buf_putc(b, ']') < 0) return -1;
		if (mtasts_parse(m->policy, m->policylen, &p, 0) == 0) {
			if (buf_putc(b, ',') < 0 || jkey(b, "mx-host") < 0 || buf_putc(b, '[') < 0) { mtasts_free(&p); return -1; }
			for (k = 0, mx = p.mx.s; k < p.nmx; k++, mx += strlen(mx) + 1)
				if ((k && buf_putc(b, ',') < 0) || jstrs(b, mx) < 0) { mtasts_free(&p); return -1; }
			if (buf_putc(b, ']') < 0) { mtasts_free(&p); return -1; }
		}
		mtasts_free(&p);
	}
	if (buf_putc(b, ',') < 0 || jkey(b, "policy-domain") < 0 || jstrs(b, domain) < 0 || buf_putc(b, '}') < 0) return -1;
	return 0;
}

static int one(buf *b, struct agg *a, const tlsrpt_meta *m)
{
	size_t k;
	if (buf_puts(b, "{") < 0 || jkey(b, "policy") < 0 || policy(b, a->ptype, a->domain, m) < 0 ||
	    buf_putc(b, ',') < 0 || jkey(b, "summary") < 0 || buf_putc(b, '{') < 0 ||
	    jkey(b, "total-successful-session-count") < 0 || buf_putnum(b, a->ok) < 0 || buf_putc(b, ',') < 0 ||
	    jkey(b, "total-failure-session-count") < 0 || buf_putnum(b, a->bad) < 0 || buf_putc(b, '}') < 0)
		return -1;
	if (a->nd) {
		if (buf_putc(b, ',') < 0 || jkey(b, "failure-details") < 0 || buf_putc(b, '[') < 0) return -1;
		for (k = 0; k < a->nd; k++) {
			const struct rec *r = a->d[k].r;
			if ((k && buf_putc(b, ',') < 0) || buf_putc(b, '{') < 0 ||
			    jkey(b, "result-type") < 0 || jstr(b, r->f[3], r->l[3]) < 0)
				return -1;
			if (known(r, 6) && (buf_putc(b, ',') < 0 || jkey(b, "sending-mta-ip") < 0 || jstr(b, r->f[6], r->l[6]) < 0)) return -1;
			if (known(r, 4) && (buf_putc(b, ',') < 0 || jkey(b, "receiving-mx-hostname") < 0 || jstr(b, r->f[4], r->l[4]) < 0)) return -1;
			if (known(r, 5) && (buf_putc(b, ',') < 0 || jkey(b, "receiving-ip") < 0 || jstr(b, r->f[5], r->l[5]) < 0)) return -1;
			if (buf_putc(b, ',') < 0 || jkey(b, "failed-session-count") < 0 || buf_putnum(b, a->d[k].n) < 0 ||
			    buf_putc(b, '}') < 0)
				return -1;
		}
		if (buf_putc(b, ']') < 0) return -1;
	}
	return buf_putc(b, '}');
}

int tlsrpt_json(const char *text, size_t n, const char *domain, const tlsrpt_meta *m, buf *b, unsigned long *sessions)
{
	static struct agg a;
	static const char *types[] = { "sts", "no-policy-found" };
	size_t t;
	int any = 0;

	*sessions = 0;
	b->len = 0;
	if (buf_puts(b, "{") < 0 || jkey(b, "organization-name") < 0 || jstrs(b, m->org) < 0 ||
	    buf_putc(b, ',') < 0 || jkey(b, "date-range") < 0 || buf_putc(b, '{') < 0 ||
	    jkey(b, "start-datetime") < 0 || buf_putc(b, '"') < 0 || buf_puts(b, m->day) < 0 || buf_puts(b, "T00:00:00Z\",") < 0 ||
	    jkey(b, "end-datetime") < 0 || buf_putc(b, '"') < 0 || buf_puts(b, m->day) < 0 || buf_puts(b, "T23:59:59Z\"}") < 0 ||
	    buf_putc(b, ',') < 0 || jkey(b, "contact-info") < 0 || jstrs(b, m->contact) < 0 ||
	    buf_putc(b, ',') < 0 || jkey(b, "report-id") < 0)
		return -1;
	{
		buf id = BUF_INIT;
		int r = buf_copys(&id, m->day) < 0 || buf_putc(&id, '_') < 0 || buf_puts(&id, domain) < 0 ||
		        buf_putc(&id, '@') < 0 || buf_puts(&id, m->org) < 0 || jstr(b, id.s, id.len) < 0;
		buf_free(&id);
		if (r) return -1;
	}
	if (buf_putc(b, ',') < 0 || jkey(b, "policies") < 0 || buf_putc(b, '[') < 0) return -1;
	for (t = 0; t < sizeof types / sizeof *types; t++) {
		memset(&a, 0, sizeof a);
		a.domain = domain;
		a.ptype = types[t];
		if (each(text, n, onrec, &a) < 0) return -1;
		if (!a.ok && !a.bad) continue;
		if ((any && buf_putc(b, ',') < 0) || one(b, &a, m) < 0) return -1;
		any = 1;
		*sessions += a.ok + a.bad;
	}
	return buf_puts(b, "]}\n") < 0 ? -1 : 0;
}

/* ---- the rua= of _smtp._tls ----------------------------------------------------------- */

static int wsp(char c) { return c == ' ' || c == '\t'; }
static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* A mailto: URI's address s[0..n) (after "mailto:"), %-decoded, up to
 * any '?': 0 ok, -1 not a usable address. */
static int mailto(const char *s, size_t n, buf *out)
{
	size_t i, start = out->len;
	n = byte_chr(s, n, '?');
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int h, l;
			if (n - i < 3 || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) goto bad;
			c = (char)(h << 4 | l);
			i += 2;
		}
		if ((unsigned char)c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',') goto bad;
		if (buf_putc(out, c) < 0) goto bad;
	}
	if (out->len - start < 3 || out->len - start > 255 ||
	    byte_chr(out->s + start, out->len - start, '@') >= out->len - start - 1)
		goto bad;
	return buf_put0(out);
bad:
	buf_trunc(out, start);
	return -1;
}

int tlsrpt_rua(const char *s, size_t n, buf *out, size_t *nmail, size_t *other)
{
	size_t i = 10;
	int rua = 0;

	*nmail = *other = 0;
	out->len = 0;
	if (n < 10 || memcmp(s, "v=TLSRPTv1", 10)) return 0;
	if (n > 10 && s[10] != ';' && !wsp(s[10])) return 0;
	for (;;) {
		size_t fs, fe;
		while (i < n && wsp(s[i])) i++;
		if (i == n) break;
		if (s[i] != ';') return -1;
		i++;
		while (i < n && wsp(s[i])) i++;
		if (i == n) break;
		fs = i;
		fe = fs + byte_chr(s + fs, n - fs, ';');
		i = fe;
		while (fe > fs && wsp(s[fe - 1])) fe--;
		if (fe - fs > 4 && !memcmp(s + fs, "rua=", 4)) {
			size_t u = fs + 4;
			if (rua) return -1;
			rua = 1;
			while (u < fe) {
				size_t ue = u + byte_chr(s + u, fe - u, ','), e = ue, b = u;
				while (b < e && wsp(s[b])) b++;
				while (e > b && wsp(s[e - 1])) e--;
				if (e - b > 7 && !strncasecmp(s + b, "mailto:", 7)) {
					if (mailto(s + b + 7, e - b - 7, out) == 0) ++*nmail;
				} else if (e - b > 6 && !strncasecmp(s + b, "https:", 6)) ++*other;
				else return -1;
				u = ue < fe ? ue + 1 : fe;
			}
		} else if (!memchr(s + fs, '=', fe - fs)) return -1;
	}
	return rua ? 1 : -1;
}
