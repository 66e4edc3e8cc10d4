/* netstring: strict, bounded netstring reading and writing (see
 * netstring.h). */
#include "lib/netstring.h"
#include "lib/str.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>

static size_t ndigits(size_t len)
{
	size_t d = 1;
	while (len >= 10) { len /= 10; d++; }
	return d;
}

size_t ns_size(size_t len)
{
	size_t extra = ndigits(len) + 2;
	if (len > SIZE_MAX - extra) return 0;
	return len + extra;
}

size_t ns_fmtlen(char *s, size_t len)
{
	size_t n = fmt_ulong(s, (unsigned long long)len);
	s[n++] = ':';
	s[n] = 0;
	return n;
}

/* One more byte: 1, or -1 with EPIPE when the input ended (we are inside
 * a netstring, so an end here is never clean). */
static int next(io_in *in, char *c)
{
	int r = in_getc(in, c);
	if (r == 0) errno = EPIPE;
	return r > 0 ? 1 : -1;
}

int ns_getlen(io_in *in, size_t max, size_t *len)
{
	size_t n = 0, digits = 0;
	char c;
	int r;

	r = in_getc(in, &c);
	if (r <= 0) return r;
	for (;;) {
		if (c == ':' && digits) break;
		if (c < '0' || c > '9') { errno = EPROTO; return -1; }
		/* A leading zero is allowed only as the whole length "0". */
		if (digits == 1 && n == 0) { errno = EPROTO; return -1; }
		if (++digits > NS_DIGITS_MAX || n > (SIZE_MAX - (size_t)(c - '0')) / 10) {
			errno = EPROTO;
			return -1;
		}
		n = n * 10 + (size_t)(c - '0');
		if (next(in, &c) < 0) return -1;
	}
	/* A length whose netstring could not even be counted is junk. */
	if (!ns_size(n)) { errno = EPROTO; return -1; }
	*len = n;
	if (n > max) { errno = ERANGE; return -1; }
	return 1;
}

int ns_getbytes(io_in *in, size_t n, buf *b)
{
	while (n) {
		ssize_t r = in_fill(in);
		size_t k;

		if (r < 0) return -1;
		if (r == 0) { errno = EPIPE; return -1; }
		k = in_buffered(in);
		if (k > n) k = n;
		if (b && buf_put(b, in->b + in->pos, k) < 0) return -1;
		in->pos += k;
		n -= k;
	}
	return 0;
}

int ns_skip(io_in *in, size_t n) { return ns_getbytes(in, n, 0); }

int ns_getcomma(io_in *in)
{
	char c;
	if (next(in, &c) < 0) return -1;
	if (c != ',') { errno = EPROTO; return -1; }
	return 0;
}

int ns_get(io_in *in, buf *b, size_t max, size_t *wire)
{
	size_t len;
	int r;

	b->len = 0;
	if (buf_ready(b, 0) < 0) return -1;
	b->s[0] = 0;
	r = ns_getlen(in, max, &len);
	if (r == 0) return 0;
	if (r < 0) {
		if (errno != ERANGE) return -1;
		if (ns_skip(in, len) < 0 || ns_getcomma(in) < 0) return -1;
		if (wire) *wire = ns_size(len);
		errno = ERANGE;
		return -1;
	}
	if (ns_getbytes(in, len, b) < 0 || ns_getcomma(in) < 0) return -1;
	if (wire) *wire = ns_size(len);
	return 1;
}

int ns_field(io_in *in, buf *b, size_t max, size_t *room)
{
	size_t len, limit = room ? *room : (size_t)-1;

	b->len = 0;
	if (buf_ready(b, 0) < 0) return -1;
	b->s[0] = 0;
	if (ns_getlen(in, limit, &len) != 1) {
		if (errno != ETIMEDOUT && errno != EPIPE && errno != ENOMEM) errno = EPROTO;
		return -1;
	}
	if (room) {
		if (ns_size(len) > *room) { errno = EPROTO; return -1; }
		*room -= ns_size(len);
	}
	if (len > max) return ns_skip(in, len) < 0 || ns_getcomma(in) < 0 ? -1 : 0;
	return ns_getbytes(in, len, b) < 0 || ns_getcomma(in) < 0 ? -1 : 1;
}

int ns_parse(const char *s, size_t n, size_t *pos, const char **p, size_t *len)
{
	size_t i = *pos, v = 0, digits = 0;

	if (i >= n) return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (digits == 1 && v == 0) goto bad;
		if (++digits > NS_DIGITS_MAX || v > (SIZE_MAX - (size_t)(s[i] - '0')) / 10) goto bad;
		v = v * 10 + (size_t)(s[i] - '0');
		i++;
	}
	if (!digits || i >= n || s[i] != ':') goto bad;
	i++;
	/* Room for the bytes and the comma, without overflowing. */
	if (n - i < v || n - i - v < 1 || s[i + v] != ',') goto bad;
	*p = s + i;
	*len = v;
	*pos = i + v + 1;
	return 1;
bad:
	errno = EPROTO;
	return -1;
}

int ns_put(buf *b, const void *p, size_t n)
{
	char pre[NS_PREFIX_MAX];
	size_t k = ns_fmtlen(pre, n);
	size_t old = b->len;

	if (buf_put(b, pre, k) < 0 || buf_put(b, p, n) < 0 || buf_putc(b, ',') < 0) {
		int e = errno;
		buf_trunc(b, old);
		errno = e;
		return -1;
	}
	return 0;
}

int ns_write(io_out *out, const void *p, size_t n)
{
	char pre[NS_PREFIX_MAX];
	size_t k = ns_fmtlen(pre, n);

	if (out_put(out, pre, k) < 0 || out_put(out, p, n) < 0 || out_put(out, ",", 1) < 0) return -1;
	return 0;
}
