/* Unit tests for src/mail/dnstxt.c: TXT records out of DNS answers, the
 * strings of one record joined, other types and classes skipped, broken
 * lengths refused, a record with a NUL dropped. */
#include "tap.h"
#include "mail/dnstxt.h"
#include <string.h>

/* An answer to "a.test TXT" with the records given as rdata. */
static size_t answer(unsigned char *m, const unsigned char *const *rd, const size_t *rdlen,
                     const unsigned *type, size_t n)
{
	static const unsigned char head[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
	                                     1, 'a', 4, 't', 'e', 's', 't', 0, 0, 16, 0, 1};
	size_t len = sizeof head, i;
	memcpy(m, head, len);
	m[7] = (unsigned char)n;
	for (i = 0; i < n; i++) {
		unsigned char rr[] = {0xc0, 12, 0, (unsigned char)type[i], 0, 1, 0, 0, 0, 60,
		                      (unsigned char)(rdlen[i] >> 8), (unsigned char)rdlen[i]};
		memcpy(m + len, rr, sizeof rr);
		len += sizeof rr;
		memcpy(m + len, rd[i], rdlen[i]);
		len += rdlen[i];
	}
	return len;
}

int main(void)
{
	unsigned char m[2048];
	buf out = BUF_INIT;
	size_t n, len;
	const unsigned char r1[] = "\x07v=DKIM1\x03; p\x02=x";
	const unsigned char r2[] = "\x04\x01\x02\x03\x04";
	const unsigned char r3[] = "\x03" "abc";
	const unsigned char r4[] = "\x05" "ab\0cd";
	const unsigned char r5[] = "\x09" "ab";
	const unsigned char *rd[] = {r1, r2, r3, r4};
	size_t rl[] = {sizeof r1 - 1, sizeof r2 - 1, sizeof r3 - 1, 6};
	unsigned ty[] = {16, 1, 16, 16};

	len = answer(m, rd, rl, ty, 4);
	ok(dnstxt_parse(m, len, &out, &n) == 0, "an answer with four records parses");
	ok(n == 2 && out.len == 17 && !memcmp(out.s, "v=DKIM1; p=x\0abc\0", 17),
	   "strings joined; an A record skipped; a record holding a NUL dropped");
	out.len = 0;
	rd[0] = r5; rl[0] = sizeof r5 - 1;
	len = answer(m, rd, rl, ty, 1);
	ok(dnstxt_parse(m, len, &out, &n) == 0 && n == 0, "a string longer than its record: dropped");
	ok(dnstxt_parse(m, len - 1, &out, &n) == -1, "a record cut short: malformed");
	ok(dnstxt_parse(m, 11, &out, &n) == -1, "shorter than a header: malformed");
	m[7] = 9;
	ok(dnstxt_parse(m, len, &out, &n) == -1, "more records counted than there are: malformed");
	buf_free(&out);
	return done_testing();
}
