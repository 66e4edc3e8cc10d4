/* dnstxt: TXT records out of a DNS answer (see dnstxt.h).
 *
 * Every length is checked against the message before it is used: the
 * header's counts, each name (dn_skipname, bounded by the end), each
 * record's fixed part and its rdata, each character-string inside. */
#include "mail/dnstxt.h"
#include "mail/dns.h"
#include <arpa/nameser.h>
#include <errno.h>
#include <resolv.h>
#include <string.h>

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static size_t skipname(const unsigned char *msg, size_t len, size_t pos)
{
	int s;
	if (pos >= len) return 0;
	s = dn_skipname(msg + pos, msg + len);
	return s > 0 ? (size_t)s : 0;
}

/* One record's character-strings, joined, appended to out with a NUL.
 * 0 kept, 1 dropped (malformed, too long, holds a NUL), -2 no memory. */
static int record(const unsigned char *rd, size_t rdlen, buf *out)
{
	size_t k, total = 0, start = out->len;

	for (k = 0; k < rdlen; ) {
		size_t l = rd[k];
		if (l > rdlen - k - 1) goto drop;
		total += l;
		if (total > DNSTXT_LEN_MAX || memchr(rd + k + 1, 0, l)) goto drop;
		if (buf_put(out, rd + k + 1, l) < 0) { buf_trunc(out, start); return -2; }
		k += l + 1;
	}
	if (buf_put0(out) < 0) { buf_trunc(out, start); return -2; }
	return 0;
drop:
	buf_trunc(out, start);
	return 1;
}

int dnstxt_parse(const unsigned char *msg, size_t len, buf *out, size_t *n)
{
	size_t pos = 12, k, qd, an, s;

	*n = 0;
	if (len < 12) return -1;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (k = 0; k < qd; k++) {
		s = skipname(msg, len, pos);
		if (!s || len - pos < s + 4) return -1;
		pos += s + 4;
	}
	for (k = 0; k < an; k++) {
		unsigned type, class;
		size_t rdlen;
		s = skipname(msg, len, pos);
		if (!s || len - pos < s + 10) return -1;
		pos += s;
		type = get16(msg + pos);
		class = get16(msg + pos + 2);
		rdlen = get16(msg + pos + 8);
		pos += 10;
		if (len - pos < rdlen) return -1;
		/* CNAMEs on the way are the resolver's business */
		if (type == ns_t_txt && class == ns_c_in && *n < DNSTXT_RECORDS_MAX) {
			int r = record(msg + pos, rdlen, out);
			if (r == -2) return -2;
			if (r == 0) ++*n;
		}
		pos += rdlen;
	}
	return 0;
}

int dnstxt_lookup(const char *name, buf *out, size_t *n, buf *why)
{
	const unsigned char *msg;
	size_t len;
	int r;

	*n = 0;
	r = dns_query(name, ns_t_txt, &msg, &len, why);
	if (r != DNS_FOUND) return r;
	r = dnstxt_parse(msg, len, out, n);
	if (r == -2) {
		if (why && buf_copys(why, "out of memory") < 0) why->len = 0;
		return DNS_SOFT;
	}
	if (r < 0) {
		if (why && buf_copys(why, "malformed DNS answer") < 0) why->len = 0;
		return DNS_SOFT;
	}
	return DNS_FOUND;
}
