/* mtasts: the MTA-STS policy, its TXT record, exchanger matching, the
 * cache and the discovery that ties them together (see mtasts.h). The
 * HTTPS fetch is in mtastsfetch.c, so that the parsers here can be tested
 * and fuzzed without a network library.
 *
 * Every parser here reads outside input (DNS, a web server, a cache file
 * another process wrote): lengths are counted, nothing is assumed to be
 * NUL-terminated, and every count has a limit. */
#include "mail/mtasts.h"
#include "mail/control.h"
#include "mail/dns.h"
#include "mail/dnstxt.h"
#include "mail/instance.h"
#include "lib/io.h"
#include "lib/fs.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mtasts_free(mtasts_policy *p)
{
	buf_free(&p->mx);
	buf_free(&p->text);
}

static int because(buf *why, const char *a, const char *b)
{
	if (why && (buf_copys(why, a) < 0 || (b && buf_puts(why, b) < 0))) why->len = 0;
	return -1;
}

static int wsp(char c) { return c == ' ' || c == '\t'; }
static int alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A name as the policy writes it (after any "*."): labels of letters,
 * digits, '-' and '_', 1..63 bytes each, at most 253 bytes; one final
 * dot allowed. */
static int goodname(const char *s, size_t n)
{
	size_t i, label = 0;
	if (n && s[n - 1] == '.') n--;
	if (!n || n > 253) return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (!label) return 0;
			label = 0;
			continue;
		}
		if (!alnum(c) && c != '-' && c != '_') return 0;
		if (++label > 63) return 0;
	}
	return label != 0;
}

/* ---- the policy ------------------------------------------------------------ */

/* RFC 8461 section 3.2: lines "key: value" ended by LF or CRLF; blanks
 * around; unknown keys ignored; the first of a repeated key (other than
 * mx) counts. version, mode and max_age are required, and at least one
 * mx unless the mode is none. */
int mtasts_parse(const char *s, size_t n, mtasts_policy *p, buf *why)
{
	size_t i = 0;
	int version = 0, mode = -1, age = 0;

	p->mode = MTASTS_NONE;
	p->max_age = 0;
	p->nmx = 0;
	p->mx.len = 0;
	if (n > MTASTS_BODY_MAX) return because(why, "the policy is too long", 0);
	if (buf_copy(&p->text, s, n) < 0) return because(why, "out of memory", 0);
	while (i < n) {
		size_t e = i + byte_chr(s + i, n - i, '\n'), k, ke, v, ve;
		size_t end = e;
		if (end > i && s[end - 1] == '\r') end--;
		k = i;
		while (k < end && wsp(s[k])) k++;
		i = e < n ? e + 1 : n;
		if (k == end) continue;                 /* blank line */
		ke = k + byte_chr(s + k, end - k, ':');
		if (ke == end) return because(why, "a policy line without a colon", 0);
		v = ke + 1;
		while (v < end && wsp(s[v])) v++;
		ve = end;
		while (ve > v && wsp(s[ve - 1])) ve--;
		if (ke - k == 7 && !memcmp(s + k, "version", 7)) {
			if (version) continue;
			if (ve - v != 5 || memcmp(s + v, "STSv1", 5)) return because(why, "the policy's version is not STSv1", 0);
			version = 1;
		} else if (ke - k == 4 && !memcmp(s + k, "mode", 4)) {
			if (mode >= 0) continue;
			if (ve - v == 7 && !memcmp(s + v, "enforce", 7)) mode = MTASTS_ENFORCE;
			else if (ve - v == 7 && !memcmp(s + v, "testing", 7)) mode = MTASTS_TESTING;
			else if (ve - v == 4 && !memcmp(s + v, "none", 4)) mode = MTASTS_NONE;
			else return because(why, "the policy's mode is not enforce, testing or none", 0);
		} else if (ke - k == 7 && !memcmp(s + k, "max_age", 7)) {
			unsigned long a = 0;
			size_t d;
			if (age) continue;
			if (ve - v < 1 || ve - v > 10) return because(why, "the policy's max_age is not a number of seconds", 0);
			for (d = v; d < ve; d++) {
				if (s[d] < '0' || s[d] > '9') return because(why, "the policy's max_age is not a number of seconds", 0);
				a = a * 10 + (unsigned long)(s[d] - '0');
			}
			/* the RFC's maximum; a larger value is taken as the maximum */
			p->max_age = a > MTASTS_MAXAGE_MAX ? MTASTS_MAXAGE_MAX : a;
			age = 1;
		} else if (ke - k == 2 && !memcmp(s + k, "mx", 2)) {
			size_t st = v, start = p->mx.len;
			if (ve - v > 2 && s[v] == '*' && s[v + 1] == '.') st = v + 2;
			if (!goodname(s + st, ve - st)) return because(why, "a malformed mx pattern in the policy", 0);
			if (p->nmx >= MTASTS_MX_MAX) continue;
			if (s[ve - 1] == '.') ve--;             /* one final dot: the same name */
			if (buf_put(&p->mx, s + v, ve - v) < 0 || buf_put0(&p->mx) < 0) return because(why, "out of memory", 0);
			case_lower(p->mx.s + start, ve - v);
			p->nmx++;
		}
	}
	if (!version) return because(why, "the policy has no version line", 0);
	if (mode < 0) return because(why, "the policy has no mode line", 0);
	if (!age) return because(why, "the policy has no max_age line", 0);
	if (mode != MTASTS_NONE && !p->nmx) return because(why, "the policy names no mx", 0);
	p->mode = mode;
	return 0;
}

/* ---- the TXT record ----------------------------------------------------------- */

/* RFC 8461 section 3.1: "v=STSv1" then fields "; name=value", id being
 * 1 to 32 letters or digits; extensions are names of up to 32 letters,
 * digits, '_', '-', '.' with printable values (no ';', no '='). */
int mtasts_txt(const char *s, size_t n, char id[MTASTS_ID_MAX + 1])
{
	size_t i = 7;
	int haveid = 0;

	if (n < 7 || memcmp(s, "v=STSv1", 7)) return 0;
	if (n > 7 && s[7] != ';' && !wsp(s[7])) return 0;   /* "v=STSv10": not ours */
	for (;;) {
		size_t ns, ne, vs;
		while (i < n && wsp(s[i])) i++;
		if (i == n) break;
		if (s[i] != ';') return -1;
		i++;
		while (i < n && wsp(s[i])) i++;
		if (i == n) break;                      /* a final ';' */
		ns = i;
		while (i < n && (alnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')) i++;
		ne = i;
		if (ne == ns || ne - ns > 32 || i == n || s[i] != '=') return -1;
		vs = ++i;
		while (i < n && s[i] > 0x20 && s[i] < 0x7f && s[i] != ';' && s[i] != '=') i++;
		if (i == vs) return -1;
		if (ne - ns == 2 && !memcmp(s + ns, "id", 2)) {
			size_t k;
			if (haveid) return -1;
			if (i - vs > MTASTS_ID_MAX) return -1;
			for (k = vs; k < i; k++) if (!alnum((unsigned char)s[k])) return -1;
			memcpy(id, s + vs, i - vs);
			id[i - vs] = 0;
			haveid = 1;
		}
	}
	return haveid ? 1 : -1;
}

/* ---- exchangers ------------------------------------------------------------------ */

int mtasts_match(const char *pattern, const char *mx)
{
	size_t lp = strlen(pattern), lm = strlen(mx), dot;
	if (lp && pattern[lp - 1] == '.') lp--;
	if (lm && mx[lm - 1] == '.') lm--;
	if (!lp || !lm) return 0;
	if (lp > 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* one label, not empty, then exactly the rest */
		dot = byte_chr(mx, lm, '.');
		if (dot == 0 || dot == lm) return 0;
		return lm - dot == lp - 1 && case_eqn(mx + dot, pattern + 1, lp - 1);
	}
	return lp == lm && case_eqn(pattern, mx, lm);
}

int mtasts_mx_ok(const mtasts_policy *p, const char *mx)
{
	const char *s = p->mx.s;
	size_t k;
	for (k = 0; k < p->nmx; k++, s += strlen(s) + 1)
		if (mtasts_match(s, mx)) return 1;
	return 0;
}

int mtasts_domain(const char *domain, char out[256])
{
	size_t n = strlen(domain);
	if (n && domain[n - 1] == '.') n--;
	if (!n || n > 253 || domain[0] == '[' || !goodname(domain, n)) return -1;
	memcpy(out, domain, n);
	out[n] = 0;
	case_lower(out, n);
	return 0;
}

/* ---- the cache file ---------------------------------------------------------------- */

int mtasts_cache_fmt(const mtasts_policy *p, buf *out)
{
	out->len = 0;
	if (buf_putnum(out, (unsigned long long)(p->fetched > 0 ? p->fetched : 0)) < 0 || buf_putc(out, ' ') < 0 ||
	    buf_puts(out, p->id) < 0 || buf_putc(out, '\n') < 0 || buf_put(out, p->text.s ? p->text.s : "", p->text.len) < 0)
		return -1;
	return 0;
}

int mtasts_cache_parse(const char *s, size_t n, mtasts_policy *p)
{
	size_t nl = byte_chr(s, n, '\n'), sp, k;
	unsigned long t;

	if (nl == n) return -1;
	sp = byte_chr(s, nl, ' ');
	if (sp == nl || scan_ulong(s, sp, &t) != sp) return -1;
	if (nl - sp - 1 < 1 || nl - sp - 1 > MTASTS_ID_MAX) return -1;
	for (k = sp + 1; k < nl; k++) if (!alnum((unsigned char)s[k])) return -1;
	if (mtasts_parse(s + nl + 1, n - nl - 1, p, 0) < 0) return -1;
	memcpy(p->id, s + sp + 1, nl - sp - 1);
	p->id[nl - sp - 1] = 0;
	p->fetched = (time_t)t;
	return 0;
}

/* ---- control files ----------------------------------------------------------------- */

int mtasts_enabled(void)
{
	buf b = BUF_INIT;
	int r = control_readline(&b, "mtasts", "on");
	if (r >= 0) r = case_eq(b.s, "on") ? 1 : case_eq(b.s, "off") ? 0 : -1;
	buf_free(&b);
	return r;
}

const char *mtasts_cafile(void)
{
	static buf b;
	if (control_readline(&b, "mtastscafile", 0) < 0 || !b.len) return 0;
	return b.s;
}

/* ---- discovery ------------------------------------------------------------------------- */

static void cachepath(buf *b, const char *domain)
{
	nq_path(b, MTASTS_DIR "/policy.");
	if (buf_puts(b, domain) < 0) b->len = 0;
}

/* The cached policy for domain into p: 1 found, 0 none or damaged;
 * *mtime the file's modification time (see failed()). */
static int cacheload(const char *domain, mtasts_policy *p, time_t *mtime)
{
	buf path = BUF_INIT, text = BUF_INIT;
	struct stat st;
	int r = 0;
	cachepath(&path, domain);
	if (path.len && read_file(path.s, &text, MTASTS_BODY_MAX + 64) == 0 &&
	    mtasts_cache_parse(text.s ? text.s : "", text.len, p) == 0)
		r = 1;
	*mtime = r && stat(path.s, &st) == 0 ? st.st_mtime : 0;
	buf_free(&path);
	buf_free(&text);
	return r;
}

/* Replace the cache file atomically. Several qmail-remote processes may
 * store the same domain at once: each writes its own temporary file. A
 * failure to store is not a failure to deliver. */
static void cachestore(const char *domain, const mtasts_policy *p)
{
	buf path = BUF_INIT, tmp = BUF_INIT, text = BUF_INIT;
	int fd = -1;

	cachepath(&path, domain);
	if (!path.len || buf_copy(&tmp, path.s, path.len) < 0 || buf_puts(&tmp, ".tmp") < 0 ||
	    buf_putnum(&tmp, (unsigned long long)getpid()) < 0 || mtasts_cache_fmt(p, &text) < 0)
		goto out;
	fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) goto out;
	if (write_all(fd, text.s, text.len) < 0 || fsync(fd) < 0 || close(fd) < 0) { fd = -1; unlink(tmp.s); goto out; }
	fd = -1;
	if (rename(tmp.s, path.s) < 0) unlink(tmp.s);
out:
	if (fd >= 0) { close(fd); unlink(tmp.s); }
	buf_free(&path);
	buf_free(&tmp);
	buf_free(&text);
}

/* The cache file's modification time: the time of fetching after a
 * store, and the time of a refresh that failed while the cached policy
 * holds, so that the next deliveries use the cache for MTASTS_RETRY
 * seconds instead of each waiting for a server that is down. */
static void stamp(const char *domain, time_t now)
{
	buf path = BUF_INIT;
	struct timespec ts[2];
	cachepath(&path, domain);
	ts[0].tv_sec = ts[1].tv_sec = now;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (path.len) (void)utimensat(AT_FDCWD, path.s, ts, 0);
	buf_free(&path);
}

/* The id of the one STSv1 TXT record of _mta-sts.domain: 1 found, 0
 * none (no record, several, or a malformed one: RFC 8461 says "no
 * policy"), -1 DNS failed. */
static int txtid(const char *domain, char id[MTASTS_ID_MAX + 1], buf *why)
{
	buf name = BUF_INIT, recs = BUF_INIT;
	size_t n, k, found = 0;
	const char *s;
	int r, bad = 0;

	if (buf_copys(&name, "_mta-sts.") < 0 || buf_puts(&name, domain) < 0) { buf_free(&name); return because(why, "out of memory", 0); }
	r = dnstxt_lookup(name.s, &recs, &n, why);
	buf_free(&name);
	if (r == DNS_SOFT) { buf_free(&recs); return -1; }
	for (k = 0, s = recs.s; r == DNS_FOUND && k < n; k++, s += strlen(s) + 1) {
		char one[MTASTS_ID_MAX + 1];
		int t = mtasts_txt(s, strlen(s), one);
		if (t == 0) continue;
		found++;
		if (t < 0) bad = 1;
		else memcpy(id, one, sizeof one);
	}
	buf_free(&recs);
	return found == 1 && !bad;
}

/* One process may deliver many messages to one domain on a kept session
 * (smtpout_serve): the answer for the last domain is remembered for
 * MTASTS_MEMO seconds, so they cost one lookup, not one each. */
#define MTASTS_MEMO 60
static struct { char domain[256]; time_t at; int r; mtasts_policy p; } memo = { "", 0, 0, MTASTS_POLICY_INIT };

static int copy(mtasts_policy *to, const mtasts_policy *from)
{
	if (buf_copy(&to->mx, from->mx.s ? from->mx.s : "", from->mx.len) < 0 ||
	    buf_copy(&to->text, from->text.s ? from->text.s : "", from->text.len) < 0)
		return -1;
	to->mode = from->mode;
	to->max_age = from->max_age;
	to->nmx = from->nmx;
	to->fetched = from->fetched;
	to->fail = from->fail;
	memcpy(to->id, from->id, sizeof to->id);
	memcpy(to->domain, from->domain, sizeof to->domain);
	return 0;
}

static int discover(const char *domain, mtasts_policy *p, buf *why);

int mtasts_get(const char *domain, mtasts_policy *p, buf *why)
{
	time_t now = time(0);
	char dom[256];
	int r;

	if (mtasts_domain(domain, dom) == 0 && !strcmp(dom, memo.domain) && now >= memo.at && now - memo.at < MTASTS_MEMO &&
	    copy(p, &memo.p) == 0) {
		if (why) why->len = 0;
		return memo.r;
	}
	r = discover(domain, p, why);
	if (r >= 0 && mtasts_domain(domain, dom) == 0 && copy(&memo.p, p) == 0) {
		memcpy(memo.domain, dom, sizeof dom);
		memo.at = now;
		memo.r = r;
	} else memo.domain[0] = 0;
	return r;
}

static int discover(const char *domain, mtasts_policy *p, buf *why)
{
	mtasts_policy c = MTASTS_POLICY_INIT;
	char dom[256], id[MTASTS_ID_MAX + 1];
	buf body = BUF_INIT;
	time_t now = time(0), mtime;
	int cached, fresh = 0, t, r = 0;
	const char *rtype = 0;

	p->fail = 0;
	p->mode = MTASTS_NONE;
	if (why) why->len = 0;
	t = mtasts_enabled();
	if (t < 0) return because(why, "control/mtasts is unreadable or neither on nor off", 0);
	if (!t) return 0;
	if (control_readline(&body, "mtastscafile", 0) < 0) return because(why, "unable to read control/mtastscafile", 0);
	if (mtasts_domain(domain, dom) < 0) return 0;
	memcpy(p->domain, dom, sizeof dom);

	cached = cacheload(dom, &c, &mtime);
	if (cached && (now < c.fetched || (unsigned long)(now - c.fetched) >= c.max_age)) cached = 0;   /* expired */
	if (cached) {
		unsigned long age = (unsigned long)(now - c.fetched), half = c.max_age / 2;
		fresh = age < (half < MTASTS_REFRESH ? half : MTASTS_REFRESH);
	}

	t = txtid(dom, id, why);
	if (t <= 0) {
		/* no record, or DNS failed: a cached policy still holds */
		if (!cached) goto none;
		goto usecache;
	}
	if (cached && fresh && !strcmp(id, c.id)) goto usecache;
	if (cached && mtime > c.fetched && mtime <= now && now - mtime < MTASTS_RETRY) goto usecache;   /* failed lately */
	if (mtasts_fetch(dom, &body, &rtype, why) == 0) {
		if (mtasts_parse(body.s ? body.s : "", body.len, p, why) == 0) {
			memcpy(p->id, id, sizeof id);
			p->fetched = now;
			cachestore(dom, p);
			stamp(dom, now);
			r = p->mode != MTASTS_NONE;
			goto out;
		}
		rtype = "sts-policy-invalid";
	}
	/* a fetch that failed: the cached policy, if any, stays (RFC 8461 5.1) */
	p->fail = rtype ? rtype : "sts-policy-fetch-error";
	if (!cached) goto none;
	stamp(dom, now);
usecache:
	{
		const char *f = p->fail;
		if (buf_copy(&p->mx, c.mx.s ? c.mx.s : "", c.mx.len) < 0 || buf_copy(&p->text, c.text.s ? c.text.s : "", c.text.len) < 0)
			goto none;
		p->mode = c.mode;
		p->max_age = c.max_age;
		p->nmx = c.nmx;
		p->fetched = c.fetched;
		memcpy(p->id, c.id, sizeof c.id);
		p->fail = f;
		r = p->mode != MTASTS_NONE;
		goto out;
	}
none:
	p->mode = MTASTS_NONE;
	p->nmx = 0;
	r = 0;
out:
	mtasts_free(&c);
	buf_free(&body);
	return r;
}
