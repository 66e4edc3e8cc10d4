/* Unit tests for src/mail/spool.c: a message kept in memory, then in an
 * unlinked file past SPOOL_MEM_MAX; read back whole, by offset and in
 * chunks; the header's end found across pieces; reset forgets all. */
#include "tap.h"
#include "mail/spool.h"
#include <stdlib.h>
#include <string.h>

static int collect(void *arg, const char *p, size_t n)
{
	return buf_put(arg, p, n) < 0 ? -1 : 0;
}

int main(void)
{
	spool s;
	buf all = BUF_INIT, want = BUF_INIT;
	const char *h;
	char c[8];
	size_t i;

	spool_init(&s, "/tmp");
	ok(spool_put(&s, "Subject: a\nX: b\n", 16) == 0 && spool_put(&s, "\nbody\n\n", 7) == 0, "small pieces");
	ok(s.fd < 0 && s.len == 23, "kept in memory");
	ok(spool_header(&s, &h) == 17 && h && !memcmp(h, "Subject: a\nX: b\n\n", 17), "header found, in memory");
	ok(spool_read(&s, 17, c, sizeof c) == 6 && !memcmp(c, "body\n\n", 6), "read at an offset, stops at the end");
	ok(spool_read(&s, 23, c, sizeof c) == 0, "nothing past the end");
	spool_reset(&s);
	ok(s.len == 0 && spool_header(&s, 0) == 0, "reset forgets the message");

	/* a header cut between two pieces, then a large body */
	ok(spool_put(&s, "A: 1\n", 5) == 0 && spool_put(&s, "\n", 1) == 0, "header end in its own piece");
	ok(spool_header(&s, 0) == 6, "header of 6 bytes");
	if (buf_puts(&want, "A: 1\n\n") < 0) return 1;
	for (i = 0; i < 3 * SPOOL_MEM_MAX / 1000 + 5; i++) {
		char line[1000];
		memset(line, 'a' + (char)(i % 26), sizeof line - 1);
		line[sizeof line - 1] = '\n';
		if (spool_put(&s, line, sizeof line) < 0 || buf_put(&want, line, sizeof line) < 0) break;
	}
	ok(s.fd >= 0 && s.mem.len <= SPOOL_MEM_MAX, "past SPOOL_MEM_MAX: a file, memory bounded");
	ok(s.len == want.len, "every byte counted");
	ok(spool_each(&s, collect, &all) == 0 && all.len == want.len && !memcmp(all.s, want.s, want.len),
	   "read back in order, memory part and file");
	ok(spool_read(&s, s.mem.len - 2, c, 4) == 2 && !memcmp(c, want.s + s.mem.len - 2, 2),
	   "a read stops where the memory part ends");
	ok(spool_read(&s, s.mem.len + 10, c, 4) == 4 && !memcmp(c, want.s + s.mem.len + 10, 4),
	   "and reads the file beyond it");
	ok(spool_header(&s, &h) == 6 && h, "the header is still the first 6 bytes");
	spool_reset(&s);
	ok(s.fd < 0 && s.len == 0, "reset closes the file");

	/* no empty line: the whole message is header */
	ok(spool_put(&s, "A: 1\nB: 2", 9) == 0 && spool_header(&s, 0) == 9, "no empty line: all header");
	spool_free(&s);
	buf_free(&all);
	buf_free(&want);
	return done_testing();
}
