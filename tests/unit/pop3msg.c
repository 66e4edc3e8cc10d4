/* Unit tests for src/mail/pop3msg.c (message bytes to POP3 wire form)
 * and src/mail/pop3cmd.c (command lines). */
#include "mail/pop3cmd.h"
#include "mail/pop3msg.h"
#include "tap.h"
#include <string.h>

/* Convert msg fed in pieces of chunk bytes; compare with want. */
static int conv(const char *msg, size_t chunk, int top, unsigned long lines, const char *want)
{
	buf out = BUF_INIT;
	pop3msg m;
	size_t n = strlen(msg), i;
	int r;

	pop3msg_init(&m, top, lines);
	for (i = 0; i < n; i += chunk)
		if (pop3msg_put(&m, msg + i, n - i < chunk ? n - i : chunk, &out) < 0) return 0;
	if (pop3msg_end(&m, &out) < 0) return 0;
	r = out.len == strlen(want) && !memcmp(out.s, want, out.len);
	if (!r) printf("# got [%.*s]\n", (int)out.len, out.s);
	buf_free(&out);
	return r;
}

static int every_chunk(const char *msg, int top, unsigned long lines, const char *want)
{
	size_t c;
	for (c = 1; c <= strlen(msg) + 1; c++)
		if (!conv(msg, c, top, lines, want)) return 0;
	return 1;
}

int main(void)
{
	pop3cmd c;
	unsigned long a, b;

	/* wire form */
	ok(every_chunk("A: b\n\nhi\n", 0, 0, "A: b\r\n\r\nhi\r\n\r\n.\r\n"), "LF becomes CRLF, extra empty line, dot");
	ok(every_chunk("A: b\r\n\r\nhi\r\n", 0, 0, "A: b\r\n\r\nhi\r\n\r\n.\r\n"), "CRLF stays CRLF (no CR CR LF)");
	ok(every_chunk("A: b\n\n.\n..x\n.\r\n", 0, 0, "A: b\r\n\r\n..\r\n...x\r\n..\r\n\r\n.\r\n"), "lines starting with . are stuffed");
	ok(every_chunk("A: b\n\nx\ry\rz\n", 0, 0, "A: b\r\n\r\nx\ry\rz\r\n\r\n.\r\n"), "a bare CR is content");
	ok(every_chunk("A: b\n\nno end", 0, 0, "A: b\r\n\r\nno end\r\n\r\n.\r\n"), "an unterminated last line is ended");
	ok(every_chunk("A: b\n\nend cr\r", 0, 0, "A: b\r\n\r\nend cr\r\r\n\r\n.\r\n"), "a CR at the very end is kept");
	ok(every_chunk("", 0, 0, "\r\n.\r\n"), "empty file");
	ok(every_chunk("A: b\nC: d\n\n1\n2\n3\n", 1, 0, "A: b\r\nC: d\r\n\r\n\r\n.\r\n"), "TOP 0: header and the empty line");
	ok(every_chunk("A: b\nC: d\n\n1\n2\n3\n", 1, 2, "A: b\r\nC: d\r\n\r\n1\r\n2\r\n\r\n.\r\n"), "TOP 2: two body lines");
	ok(every_chunk("A: b\r\n\r\n.1\r\n2\r\n", 1, 1, "A: b\r\n\r\n..1\r\n\r\n.\r\n"), "TOP stuffs dots too");
	ok(every_chunk("A: b\n\n1\n", 1, 9, "A: b\r\n\r\n1\r\n\r\n.\r\n"), "TOP more than there is");
	ok(every_chunk("A: b\nC: d\n", 1, 0, "A: b\r\nC: d\r\n\r\n.\r\n"), "TOP on a header without body");
	ok(every_chunk("A: b\n\r\n1\n", 1, 0, "A: b\r\n\r\n\r\n.\r\n"), "a CRLF empty line ends the header");

	/* commands */
	pop3cmd_parse(&c, "user joe\r\n", 10);
	ok(c.verb == P3_USER && c.arglen == 3 && !memcmp(c.arg, "joe", 3), "USER joe (case-insensitive)");
	pop3cmd_parse(&c, "PASS a b  c\r\n", 13);
	ok(c.verb == P3_PASS && c.arglen == 6 && !memcmp(c.arg, "a b  c", 6), "PASS keeps spaces");
	pop3cmd_parse(&c, "STAT\n", 5);
	ok(c.verb == P3_STAT && c.arglen == 0, "STAT with a bare LF");
	pop3cmd_parse(&c, "TOP 1 0\r\n", 9);
	ok(c.verb == P3_TOP && pop3_twonum(c.arg, c.arglen, &a, &b) == 0 && a == 1 && b == 0, "TOP 1 0");
	pop3cmd_parse(&c, "XTND x\r\n", 8);
	ok(c.verb == P3_UNKNOWN, "unknown keyword");
	pop3cmd_parse(&c, "RETRX 1\r\n", 9);
	ok(c.verb == P3_BAD, "keyword too long");
	pop3cmd_parse(&c, "US\0R x\r\n", 8);
	ok(c.verb == P3_BAD, "NUL byte");
	pop3cmd_parse(&c, "\r\n", 2);
	ok(c.verb == P3_BAD, "empty line");
	ok(pop3_num("12", 2, &a) == 0 && a == 12, "number 12");
	ok(pop3_num("0", 1, &a) < 0, "message 0 is not a message");
	ok(pop3_num("-1", 2, &a) < 0 && pop3_num("1 ", 2, &a) < 0 && pop3_num("", 0, &a) < 0, "signs, blanks, empty refused");
	ok(pop3_num("99999999999", 11, &a) < 0 && pop3_num("4294967296", 10, &a) < 0, "too large refused");
	ok(pop3_twonum("1", 1, &a, &b) < 0 && pop3_twonum("1 x", 3, &a, &b) < 0 && pop3_twonum("1  2", 4, &a, &b) < 0, "TOP arguments checked");
	return done_testing();
}
