/* srs: SRS0/SRS1 addresses, their HMAC and time stamp; see srs.h.
 * Everything here is a pure function of its arguments except srs_load;
 * the clock comes in as `now`, so tests can be exact. */
#include "mail/srs.h"
#include "mail/control.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define DAY 86400
#define SLOTS 1024              /* time stamps wrap after this many days */
#define MAXAGE_MAX 1000         /* a longer age would accept wrapped stamps */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int srs_load_domain(struct srs_cfg *c)
{
	if (control_readline(&c->domain, "srsdomain", 0) < 0) return -1;
	case_lower(c->domain.s, c->domain.len);
	return c->domain.len != 0;
}

int srs_load(struct srs_cfg *c, const char **what)
{
	int k;

	*what = "control/srsdomain";
	k = srs_load_domain(c);
	if (k <= 0) return k;
	*what = "control/srs";
	k = control_readlines(&c->secrets, "srs");
	if (k < 0) return -1;
	if (k == 0) { errno = ENOENT; return -1; }
	*what = "control/srsmaxage";
	if (control_readulong(&c->maxage, "srsmaxage", SRS_MAXAGE_DEFAULT) < 0) return -1;
	if (c->maxage > MAXAGE_MAX) c->maxage = MAXAGE_MAX;
	return 1;
}

void srs_free(struct srs_cfg *c)
{
	buf_free(&c->domain);
	buf_free(&c->secrets);
	c->maxage = SRS_MAXAGE_DEFAULT;
}

const char *srs_why(int r)
{
	switch (r) {
	case SRS_OK: return "valid SRS address";
	case SRS_NOTSRS: return "not an SRS address";
	case SRS_BADFORM: return "malformed SRS address";
	case SRS_BADHASH: return "SRS address with an invalid hash (forged)";
	case SRS_EXPIRED: return "SRS address whose time stamp has expired";
	case SRS_NOSECRET: return "no SRS secret configured";
	}
	return "SRS trouble";
}

/* ---- hash and stamp ------------------------------------------------------ */

int srs_hash(char out[SRS_HASHLEN], const char *secret, size_t slen,
             const char *const *f, const size_t *flen, size_t nf)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	buf data = BUF_INIT;
	size_t i;
	int r = -1;

	if (slen > CONTROL_MAX) return -1;
	for (i = 0; i < nf; i++)
		if (buf_put(&data, f[i], flen[i]) < 0) goto out;
	if (buf_ready(&data, 0) < 0) goto out;
	/* libsrs2 hashes the fields in lower case: mail systems on the way
	 * may fold an address's case, and the hash must survive that. */
	case_lower(data.s, data.len);
	if (!HMAC(EVP_sha1(), secret, (int)slen, (const unsigned char *)data.s, data.len, md, &mdlen) || mdlen < 3)
		goto out;
	out[0] = b64[md[0] >> 2];
	out[1] = b64[((md[0] & 3) << 4) | (md[1] >> 4)];
	out[2] = b64[((md[1] & 15) << 2) | (md[2] >> 6)];
	out[3] = b64[md[2] & 63];
	r = 0;
out:
	buf_free(&data);
	return r;
}

void srs_stamp(char out[2], unsigned long day)
{
	day %= SLOTS;
	out[0] = b32[(day >> 5) & 31];
	out[1] = b32[day & 31];
}

static int b32val(char ch)
{
	const char *p;
	if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
	p = memchr(b32, ch, 32);
	return p ? (int)(p - b32) : -1;
}

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch; }

/* Does any secret give this hash? Compared without regard to case, and
 * without stopping at the first difference. */
static int hashok(const struct srs_cfg *c, const char *h, size_t hl,
                  const char *const *f, const size_t *flen, size_t nf)
{
	const char *s;
	char want[SRS_HASHLEN];
	int found = 0;

	if (hl != SRS_HASHLEN) return 0;
	for (s = 0; (s = list_next(&c->secrets, s)); ) {
		unsigned diff = 0;
		size_t i;
		if (srs_hash(want, s, strlen(s), f, flen, nf) < 0) return -1;
		for (i = 0; i < SRS_HASHLEN; i++) diff |= (unsigned)(lower(want[i]) ^ lower((unsigned char)h[i]));
		found |= diff == 0;
	}
	return found;
}

/* ---- forward ------------------------------------------------------------- */

static int tagged(const char *s, size_t n, const char *tag)
{
	return n >= 5 && case_eqn(s, tag, 4) && (s[4] == '=' || s[4] == '+' || s[4] == '-');
}

int srs_tagged(const char *s, size_t n) { return tagged(s, n, "SRS0") || tagged(s, n, "SRS1"); }

static int emit(buf *out, const char *tag, const char *h, const char *const *f, const size_t *flen,
                size_t nf, const char *domain)
{
	size_t i;
	if (buf_copys(out, tag) < 0 || buf_putc(out, '=') < 0 || buf_put(out, h, SRS_HASHLEN) < 0) return -1;
	for (i = 0; i < nf; i++) {
		/* SRS1's last field keeps the separator that followed "SRS0" */
		if (buf_putc(out, '=') < 0 || buf_put(out, f[i], flen[i]) < 0) return -1;
	}
	if (buf_putc(out, '@') < 0 || buf_puts(out, domain) < 0) return -1;
	return 0;
}

int srs_forward(buf *out, const struct srs_cfg *c, const route *rt, const char *sender, time_t now)
{
	const char *f[3], *secret;
	size_t fl[3], n, at;
	char h[SRS_HASHLEN], stamp[2];
	buf tmp = BUF_INIT;

	if (!c->domain.len || !sender) return 0;
	n = strlen(sender);
	if (!n || n > SRS_ADDR_MAX || str_eq(sender, "#@[]")) return 0;
	at = byte_rchr(sender, n, '@');
	if (at == n || at == 0 || at + 1 == n) return 0;
	if (n - at - 1 == c->domain.len && case_eqn(sender + at + 1, c->domain.s, c->domain.len)) return 0;
	if (rt) {
		int k = route_rewrite(rt, sender, n, &tmp);
		buf_free(&tmp);
		if (k < 0) return -1;
		if (k == ROUTE_LOCAL) return 0;
	}
	secret = list_next(&c->secrets, 0);
	if (!secret) { errno = ENOENT; return -1; }

	if (tagged(sender, at, "SRS0")) {
		/* someone else's SRS0: we are the second hop */
		f[0] = sender + at + 1; fl[0] = n - at - 1;
		f[1] = sender + 4;      fl[1] = at - 4;
		if (srs_hash(h, secret, strlen(secret), f, fl, 2) < 0) return -1;
		return emit(out, "SRS1", h, f, fl, 2, c->domain.s) < 0 ? -1 : 1;
	}
	if (tagged(sender, at, "SRS1")) {
		/* a later hop: keep the first hop and its opaque part, sign anew */
		const char *p = sender + 5, *e = sender + at;
		const char *q = memchr(p, '=', (size_t)(e - p));
		const char *r = q ? memchr(q + 1, '=', (size_t)(e - q - 1)) : 0;
		if (r && r > q + 1 && r + 1 < e) {
			f[0] = q + 1; fl[0] = (size_t)(r - q - 1);
			f[1] = r + 1; fl[1] = (size_t)(e - r - 1);
			if (srs_hash(h, secret, strlen(secret), f, fl, 2) < 0) return -1;
			return emit(out, "SRS1", h, f, fl, 2, c->domain.s) < 0 ? -1 : 1;
		}
		/* not SRS1 after all: an ordinary local part, wrapped in SRS0 */
	}
	srs_stamp(stamp, (unsigned long)(now / DAY));
	f[0] = stamp;            fl[0] = 2;
	f[1] = sender + at + 1;  fl[1] = n - at - 1;
	f[2] = sender;           fl[2] = at;
	if (srs_hash(h, secret, strlen(secret), f, fl, 3) < 0) return -1;
	return emit(out, "SRS0", h, f, fl, 3, c->domain.s) < 0 ? -1 : 1;
}

/* ---- reverse ------------------------------------------------------------- */

/* The next field of s[*pos..n) up to '=' (the last field: to the end). */
static int field(const char *s, size_t n, size_t *pos, const char **f, size_t *fl, int last)
{
	size_t i = *pos;
	*f = s + i;
	if (last) { *fl = n - i; *pos = n; return *fl ? 0 : -1; }
	while (i < n && s[i] != '=') i++;
	if (i == n || i == *pos) return -1;
	*fl = i - *pos;
	*pos = i + 1;
	return 0;
}

int srs_reverse(buf *out, const struct srs_cfg *c, const char *local, size_t len, time_t now)
{
	const char *h, *f[3];
	size_t hl, fl[3], pos = 5, i;
	int k;

	if (!tagged(local, len, "SRS0") && !tagged(local, len, "SRS1")) return SRS_NOTSRS;
	if (!list_next(&c->secrets, 0)) return SRS_NOSECRET;
	if (len > SRS_ADDR_MAX) return SRS_BADFORM;
	for (i = 0; i < len; i++)
		if (local[i] == 0 || local[i] == '\n' || local[i] == '\r' || local[i] == '@') return SRS_BADFORM;
	if (field(local, len, &pos, &h, &hl, 0) < 0) return SRS_BADFORM;

	if (case_eqn(local, "SRS0", 4)) {
		unsigned long then, today;
		int a, b;
		if (field(local, len, &pos, &f[0], &fl[0], 0) < 0 || fl[0] != 2 ||
		    field(local, len, &pos, &f[1], &fl[1], 0) < 0 ||
		    field(local, len, &pos, &f[2], &fl[2], 1) < 0) return SRS_BADFORM;
		a = b32val(f[0][0]);
		b = b32val(f[0][1]);
		if (a < 0 || b < 0) return SRS_BADFORM;
		k = hashok(c, h, hl, f, fl, 3);
		if (k < 0) return -1;
		if (!k) return SRS_BADHASH;
		then = (unsigned long)(a * 32 + b);
		today = (unsigned long)(now / DAY) % SLOTS;
		while (today < then) today += SLOTS;
		if (today > then + c->maxage) return SRS_EXPIRED;
		if (buf_copy(out, f[2], fl[2]) < 0 || buf_putc(out, '@') < 0 || buf_put(out, f[1], fl[1]) < 0)
			return -1;
		return SRS_OK;
	}
	if (field(local, len, &pos, &f[0], &fl[0], 0) < 0 ||
	    field(local, len, &pos, &f[1], &fl[1], 1) < 0) return SRS_BADFORM;
	k = hashok(c, h, hl, f, fl, 2);
	if (k < 0) return -1;
	if (!k) return SRS_BADHASH;
	/* back to the first hop, which checks its own SRS0 */
	if (buf_copys(out, "SRS0") < 0 || buf_put(out, f[1], fl[1]) < 0 || buf_putc(out, '@') < 0 ||
	    buf_put(out, f[0], fl[0]) < 0) return -1;
	return SRS_OK;
}

int srs_check(const struct srs_cfg *c, const char *addr, size_t len, time_t now)
{
	buf out = BUF_INIT;
	size_t at = byte_rchr(addr, len, '@');
	int r;

	if (!c->domain.len || at == len) return SRS_NOTSRS;
	if (len - at - 1 != c->domain.len || !case_eqn(addr + at + 1, c->domain.s, c->domain.len)) return SRS_NOTSRS;
	r = srs_reverse(&out, c, addr, at, now);
	buf_free(&out);
	return r;
}
