/* fuzz-pop3cmd: the POP3 command reader and the message converter on
 * arbitrary bytes. Promises checked: the argument lies inside the line;
 * a parsed number is at least 1; the wire form of any input, fed in two
 * pieces split anywhere, is the same as fed whole, ends in CRLF.CRLF,
 * has no bare LF, and no line of it starts with a single '.' except
 * the terminator. */
#include "mail/pop3cmd.h"
#include "mail/pop3msg.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void wire(const char *s, size_t n, size_t split, int top, buf *out)
{
	pop3msg m;
	pop3msg_init(&m, top, n % 7);
	if (pop3msg_put(&m, s, split, out) < 0 || pop3msg_put(&m, s + split, n - split, out) < 0 ||
	    pop3msg_end(&m, out) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	buf a = BUF_INIT, b = BUF_INIT;
	unsigned long x, y;
	pop3cmd c;
	size_t i;
	int top;

	pop3cmd_parse(&c, s, size);
	if (c.arglen && (c.arg < s || c.arg + c.arglen > s + size)) abort();
	if (c.arglen && pop3_num(c.arg, c.arglen, &x) == 0 && x == 0) abort();
	if (c.arglen && pop3_twonum(c.arg, c.arglen, &x, &y) == 0 && x == 0) abort();

	for (top = 0; top < 2; top++) {
		a.len = b.len = 0;
		wire(s, size, size, top, &a);
		wire(s, size, size / 2, top, &b);
		if (a.len != b.len || memcmp(a.s, b.s, a.len)) abort();
		if (a.len < 5 || memcmp(a.s + a.len - 5, "\r\n.\r\n", 5)) abort();
		for (i = 0; i < a.len; i++) {
			if (a.s[i] == '\n' && (i == 0 || a.s[i - 1] != '\r')) abort();
			if (a.s[i] == '.' && (i == 0 || a.s[i - 1] == '\n') && i != a.len - 3 &&
			    (i + 1 >= a.len || a.s[i + 1] != '.'))
				abort();
		}
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}
