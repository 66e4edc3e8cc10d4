/* Unit tests for src/lib/netstring: the strict reader on a descriptor and
 * in memory, limits, the wire size, and the writers. */
#include "tap.h"
#include "lib/netstring.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static io_in in;

/* Point the global reader at a descriptor holding s[0..n). */
static void feed(const char *s, size_t n)
{
	int fd = memfd_create("ns", 0);
	if (fd < 0 || write(fd, s, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) abort();
	if (in.fd > 2) close(in.fd);
	in_init(&in, fd, 5);
}
#define FEED(s) feed(s, sizeof s - 1)

int main(void)
{
	buf b = BUF_INIT, w = BUF_INIT;
	size_t len = 0, wire = 0, pos;
	const char *p;
	char pre[NS_PREFIX_MAX];
	int r;

	in.fd = -1;

	/* sizes and prefixes */
	ok(ns_size(0) == 3, "size of the empty netstring is 3 (\"0:,\")");
	ok(ns_size(12) == 16, "size of a 12-byte netstring is 16");
	ok(ns_size(SIZE_MAX) == 0 && ns_size(SIZE_MAX - 21) == 0, "sizes that overflow give 0");
	ok(ns_fmtlen(pre, 1234) == 5 && strcmp(pre, "1234:") == 0, "prefix 1234:");

	/* whole netstrings from a descriptor */
	FEED("12:hello world!,0:,");
	r = ns_get(&in, &b, 100, &wire);
	ok(r == 1 && b.len == 12 && memcmp(b.s, "hello world!", 12) == 0 && wire == 16, "reads hello world!");
	r = ns_get(&in, &b, 100, &wire);
	ok(r == 1 && b.len == 0 && wire == 3, "reads the empty netstring");
	ok(ns_get(&in, &b, 100, 0) == 0, "clean end between netstrings is 0");

	FEED("5:a\0b\nc,");
	ok(ns_get(&in, &b, 100, 0) == 1 && b.len == 5 && memcmp(b.s, "a\0b\nc", 5) == 0, "any byte inside");

	/* malformed */
	FEED("05:hello,");
	errno = 0;
	ok(ns_get(&in, &b, 100, 0) == -1 && errno == EPROTO, "leading zero refused");
	FEED(":,");
	errno = 0;
	ok(ns_get(&in, &b, 100, 0) == -1 && errno == EPROTO, "no digits refused");
	FEED("3x:abc,");
	errno = 0;
	ok(ns_get(&in, &b, 100, 0) == -1 && errno == EPROTO, "junk in the length refused");
	FEED("3:abc;");
	errno = 0;
	ok(ns_get(&in, &b, 100, 0) == -1 && errno == EPROTO, "missing comma refused");
	FEED("99999999999999999999999:x,");
	errno = 0;
	ok(ns_get(&in, &b, SIZE_MAX, 0) == -1 && errno == EPROTO, "length beyond size_t refused");
	FEED("18446744073709551615:");
	errno = 0;
	ok(ns_getlen(&in, SIZE_MAX, &len) == -1 && errno == EPROTO, "length whose netstring cannot be counted refused");

	/* truncated */
	FEED("12");
	errno = 0;
	ok(ns_get(&in, &b, 100, 0) == -1 && errno == EPIPE, "end inside the length is EPIPE");
	FEED("12:hello");
	errno = 0;
	ok(ns_get(&in, &b, 100, 0) == -1 && errno == EPIPE, "end inside the bytes is EPIPE");

	{
		size_t room = 4 + 3 + 6;   /* "2:ab," "0:," and "1:x," take 13 */
		feed("2:ab,0:,1:x,5:toolong,", 22);
		ok(ns_field(&in, &b, 10, &room) == 1 && b.len == 2 && strcmp(b.s, "ab") == 0 && room == 8, "ns_field: a field, room counted");
		ok(ns_field(&in, &b, 10, &room) == 1 && b.len == 0 && b.s[0] == 0 && room == 5, "ns_field: the empty field is \"\"");
		ok(ns_field(&in, &b, 0, &room) == 0 && room == 1, "ns_field: longer than max is read and dropped");
		ok(ns_field(&in, &b, 10, &room) == -1 && errno == EPROTO, "ns_field: one that does not fit its room is refused");
		feed("3:abc,", 6);
		ok(ns_field(&in, &b, 10, 0) == 1 && strcmp(b.s, "abc") == 0, "ns_field: no enclosing netstring");
	}
	FEED("5:hello");
	errno = 0;
	ok(ns_get(&in, &b, 100, 0) == -1 && errno == EPIPE, "end before the comma is EPIPE");

	/* limits */
	FEED("10:0123456789,2:ok,");
	errno = 0;
	r = ns_get(&in, &b, 9, &wire);
	ok(r == -1 && errno == ERANGE && wire == 14, "over the limit: ERANGE, wire size known");
	ok(ns_get(&in, &b, 9, 0) == 1 && b.len == 2 && memcmp(b.s, "ok", 2) == 0, "stream stays in step after ERANGE");
	FEED("7:");
	errno = 0;
	ok(ns_getlen(&in, 6, &len) == -1 && errno == ERANGE && len == 7, "getlen reports the declared length with ERANGE");

	/* pieces */
	FEED("4:abcd,");
	ok(ns_getlen(&in, 10, &len) == 1 && len == 4, "getlen");
	b.len = 0;
	ok(ns_getbytes(&in, 2, &b) == 0 && ns_skip(&in, 2) == 0 && b.len == 2 && memcmp(b.s, "ab", 2) == 0,
	   "getbytes then skip");
	ok(ns_getcomma(&in) == 0, "comma");

	/* in memory */
	{
		static const char s[] = "3:abc,0:,2:xy,";
		size_t n = sizeof s - 1;
		pos = 0;
		ok(ns_parse(s, n, &pos, &p, &len) == 1 && len == 3 && memcmp(p, "abc", 3) == 0 && pos == 6, "parse 1");
		ok(ns_parse(s, n, &pos, &p, &len) == 1 && len == 0 && pos == 9, "parse 2 (empty)");
		ok(ns_parse(s, n, &pos, &p, &len) == 1 && len == 2 && pos == n, "parse 3");
		ok(ns_parse(s, n, &pos, &p, &len) == 0, "parse end");
	}
	{
		static const char *bad[] = {"3:ab,", "3:abc", "3:abcd", "03:abc,", "x", "3", "3;abc,", ":,",
		                            "99999999999999999999999:a,"};
		size_t i;
		int all = 1;
		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			pos = 0;
			errno = 0;
			if (ns_parse(bad[i], strlen(bad[i]), &pos, &p, &len) != -1 || errno != EPROTO || pos != 0) all = 0;
		}
		ok(all, "parse refuses truncated and malformed netstrings, leaving pos");
	}
	{
		/* "18446744073709551615:" followed by one byte: the length would
		 * overrun; must not wrap around. */
		static const char s[] = "18446744073709551615:a,";
		pos = 0;
		ok(ns_parse(s, sizeof s - 1, &pos, &p, &len) == -1, "parse refuses a length beyond the input");
	}

	/* writers */
	ok(ns_put(&w, "hello", 5) == 0 && ns_put(&w, "", 0) == 0 && w.len == 11 &&
	   memcmp(w.s, "5:hello,0:,", 11) == 0, "ns_put");
	{
		int pfd[2];
		io_out out;
		char got[64];
		ssize_t k;
		if (pipe(pfd) < 0) abort();
		out_init(&out, pfd[1], 5);
		ok(ns_write(&out, "K ok", 4) == 0 && out_flush(&out) == 0, "ns_write");
		close(pfd[1]);
		k = read_full(pfd[0], got, sizeof got);
		ok(k == 7 && memcmp(got, "4:K ok,", 7) == 0, "ns_write bytes");
		close(pfd[0]);
	}
	/* round trip: what we write, we read */
	feed(w.s, w.len);
	ok(ns_get(&in, &b, 5, &wire) == 1 && b.len == 5 && wire == 8 && ns_get(&in, &b, 5, &wire) == 1 && b.len == 0,
	   "round trip");

	buf_free(&b);
	buf_free(&w);
	return done_testing();
}
