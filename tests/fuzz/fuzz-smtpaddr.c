/* fuzz-smtpaddr: the MAIL FROM / RCPT TO path parser on arbitrary bytes
 * (the first byte picks the prefix). Promises checked: an accepted path
 * gives an address of at most SMTP_ADDR_MAX bytes without control
 * characters or NUL; the part after its last '@' is never empty; the
 * parameters start inside the input; utf8 is set exactly when a byte
 * >= 128 is in the address. */
#include "mail/smtpin.h"
#include "lib/str.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_path p = {BUF_INIT, 0, 0};
	const char *s = (const char *)data + 1;
	size_t n, i, at;
	int r, hi = 0;

	if (!size) return 0;
	n = size - 1;
	r = smtp_path(s, n, data[0] & 1 ? "TO:" : "FROM:", &p);
	if (r < 0) abort();
	if (r == SP_OK) {
		if (p.addr.len > SMTP_ADDR_MAX || p.params > n) abort();
		for (i = 0; i < p.addr.len; i++) {
			unsigned char c = (unsigned char)p.addr.s[i];
			if (c < 32 || c == 127) abort();
			if (c >= 128) hi = 1;
		}
		if (hi != p.utf8) abort();
		at = byte_rchr(p.addr.s, p.addr.len, '@');
		if (at < p.addr.len && at + 1 == p.addr.len) abort();
	}
	buf_free(&p.addr);
	return 0;
}
