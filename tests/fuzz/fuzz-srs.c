/* fuzz-srs: the SRS address parser and rewriter (src/mail/srs.c) with
 * arbitrary input. The input is: secrets (lines) 0x01 an address.
 * Besides not crashing: reversing any address never yields more than it
 * was given plus "SRS0@" (the SRS1 case), and for an ordinary sender
 * (no SRS tag, one '@', no '=' in the domain, no CR or LF) forwarding
 * and then reversing gives the sender back, in both time directions of
 * the stamp's validity. */
#include "mail/srs.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1764374400L

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *sep = memchr(p, 1, size);
	struct srs_cfg c = SRS_CFG_INIT;
	buf addr = BUF_INIT, out = BUF_INIT, back = BUF_INIT;
	size_t sl = sep ? (size_t)(sep - p) : 0, i, at;
	int r;

	/* secrets: the lines before 0x01, NUL-separated */
	for (i = 0; i < sl; i++) {
		char ch = p[i];
		if (ch == '\n' || ch == 0) { if (c.secrets.len && c.secrets.s[c.secrets.len - 1]) buf_put0(&c.secrets); continue; }
		buf_putc(&c.secrets, ch);
	}
	if (c.secrets.len && c.secrets.s[c.secrets.len - 1]) buf_put0(&c.secrets);
	buf_copys(&c.domain, "srs.example");
	if (sep) buf_copy(&addr, sep + 1, size - sl - 1);
	else buf_copy(&addr, p, size);
	if (!addr.s) goto out;

	at = addr.len;
	for (i = 0; i < addr.len; i++) if (addr.s[i] == '@') at = i;
	r = srs_reverse(&back, &c, addr.s, at, NOW);
	if (r == SRS_OK && back.len > at + 5) abort();
	(void)srs_check(&c, addr.s, addr.len, NOW);

	r = srs_forward(&out, &c, 0, addr.s, NOW);
	if (r == 1) {
		int plain = strlen(addr.s) == addr.len && at < addr.len && at > 0;
		for (i = 0; plain && i < addr.len; i++) {
			char ch = addr.s[i];
			if (ch == '\r' || ch == '\n' || (ch == '@' && i != at) || (ch == '=' && i > at)) plain = 0;
		}
		/* an SRS-tagged sender becomes SRS1 or is re-signed: not a round trip */
		if (plain && at >= 3 && (addr.s[0] | 32) == 's' && (addr.s[1] | 32) == 'r' && (addr.s[2] | 32) == 's')
			plain = 0;
		if (plain && out.len <= SRS_ADDR_MAX) {
			size_t oat = strrchr(out.s, '@') - out.s;
			back.len = 0;
			if (srs_reverse(&back, &c, out.s, oat, NOW) != SRS_OK) abort();
			if (back.len != addr.len || memcmp(back.s, addr.s, addr.len) != 0) abort();
			if (srs_reverse(&back, &c, out.s, oat, NOW + 21L * 86400) != SRS_OK) abort();
			if (srs_reverse(&back, &c, out.s, oat, NOW + 22L * 86400) != SRS_EXPIRED) abort();
		}
	}
out:
	srs_free(&c);
	buf_free(&addr);
	buf_free(&out);
	buf_free(&back);
	return 0;
}
