/* Unit tests for src/mail/header.c: field names, known fields, unfolding,
 * the bounded header reader, CR LF to LF, Date and Message-ID. */
#include "tap.h"
#include "mail/header.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A reader over the bytes s[0..n) (a temporary file). */
static int openbytes(const char *s, size_t n)
{
	char name[] = "/tmp/nqhdrXXXXXX";
	int fd = mkstemp(name);
	if (fd < 0) return -1;
	unlink(name);
	if (write(fd, s, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) { close(fd); return -1; }
	return fd;
}

/* Read a whole header; the fields joined by '|' into got (their LF kept),
 * returns the last result of header_in_field. */
static int readall(const char *s, size_t n, buf *got, header_in *h, io_in *in)
{
	buf f = BUF_INIT;
	int fd = openbytes(s, n), r;

	buf_copys(got, "");
	in_init(in, fd, 0);
	header_in_init(h, in);
	while ((r = header_in_field(h, &f)) == 1) {
		if (got->len) buf_putc(got, '|');
		buf_put(got, f.s, f.len);
	}
	buf_free(&f);
	close(fd);
	return r;
}

static int lf(const char *const *chunks, const char *want)
{
	char name[] = "/tmp/nqlfXXXXXX";
	int fd = mkstemp(name), cr = 0, good;
	io_out o;
	char last = 0, got[256];
	ssize_t n;

	unlink(name);
	out_init(&o, fd, 0);
	for (; *chunks; chunks++) header_lf_put(&o, &cr, &last, *chunks, strlen(*chunks));
	header_lf_end(&o, &cr, &last);
	out_flush(&o);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, got, sizeof got - 1);
	close(fd);
	got[n > 0 ? n : 0] = 0;
	good = strcmp(got, want) == 0 && last == want[strlen(want) - 1];
	if (!good) printf("# [%s]\n", got);
	return good;
}

int main(void)
{
	size_t len = 0, i;
	buf b = BUF_INIT, got = BUF_INIT, big = BUF_INIT;
	header_in h;
	io_in in;
	int r;

	/* names */
	ok(header_field("Subject: x", 10, &len) == 8 && len == 7, "field");
	ok(header_field("Subject \t: x", 12, &len) == 10 && len == 7, "blanks before the colon");
	ok(header_field(" Subject: x", 11, 0) == 0, "leading space: not a field");
	ok(header_field("Sub ject: x", 11, 0) == 0, "space in the name");
	ok(header_field(": x", 3, 0) == 0, "empty name");
	ok(header_field("X-\001: y", 6, 0) == 0, "control character in the name");
	ok(header_field("NoColon", 7, 0) == 0, "no colon");
	ok(header_field("Subject", 7, 0) == 0, "name at the end of the input");
	ok(header_kind("To: x", 5) == H_TO && header_kind("tO :x", 5) == H_TO, "To in any case");
	ok(header_kind("Resent-Message-ID: <x>", 22) == H_RMESSAGEID, "Resent-Message-ID");
	ok(header_kind("Mail-Followup-To: a", 19) == H_MAILFOLLOWUPTO, "Mail-Followup-To");
	ok(header_kind("X-To: x", 7) == H_OTHER && header_kind("Tox: y", 6) == H_OTHER, "other fields");
	ok(header_is_addrlist(H_RFROM) && !header_is_addrlist(H_DATE), "address-list fields");

	/* unfolding */
	buf_copys(&b, "");
	ok(header_unfold(&b, " a\n b\r\n\tc\n", 10) == 0 && strcmp(b.s, " a b\tc") == 0, "unfold");

	/* the reader */
	r = readall("To: a\nSubject: x\n  folded\r\n\r\nbody\n", 35, &got, &h, &in);
	ok(r == 0 && strcmp(got.s, "To: a\n|Subject: x\n  folded\n") == 0, "fields, folding, CR LF");
	ok(!h.blank && h.next.len == 1 && h.next.s[0] == '\n', "empty line ends the header");
	header_in_free(&h);

	r = readall("From me Sat\nTo: a\nnot a field\nTo: b\n", 36, &got, &h, &in);
	ok(r == 0 && strcmp(got.s, "MBOX-Line: From me Sat\n|To: a\n") == 0, "From_ line becomes MBOX-Line");
	ok(h.blank && strcmp(h.next.s, "not a field\n") == 0, "a non-field line starts the body");
	header_in_free(&h);

	r = readall("To: a\nSubject: no end", 21, &got, &h, &in);
	ok(r == 0 && strcmp(got.s, "To: a\n|Subject: no end\n") == 0 && h.next.len == 0, "end of input in the header");
	header_in_free(&h);

	r = readall("", 0, &got, &h, &in);
	ok(r == 0 && got.len == 0 && h.next.len == 0 && !h.blank, "empty input");
	header_in_free(&h);

	r = readall(" starts with a blank\n", 21, &got, &h, &in);
	ok(r == 0 && got.len == 0 && h.blank, "a first line with a leading blank is body");
	header_in_free(&h);

	/* limits */
	buf_copys(&big, "Subject: ");
	for (i = 0; i < HEADER_FIELD_MAX; i++) buf_putc(&big, 'x');
	buf_puts(&big, "\n\nbody\n");
	r = readall(big.s, big.len, &got, &h, &in);
	ok(r < 0 && h.err == HIN_FIELD_TOO_LONG, "a field over HEADER_FIELD_MAX");
	ok(h.next.cap <= 2 * HEADER_FIELD_MAX + 64, "memory stays bounded");
	header_in_free(&h);

	buf_copys(&big, "Subject: a\n");
	for (i = 0; i < HEADER_FIELD_MAX / 10; i++) buf_puts(&big, "  xxxxxxx\n");
	buf_puts(&big, "\n");
	r = readall(big.s, big.len, &got, &h, &in);
	ok(r < 0 && h.err == HIN_FIELD_TOO_LONG, "continuation lines count toward the field");
	header_in_free(&h);

	buf_copys(&big, "");
	for (i = 0; i < HEADER_MAX / 20 + 10; i++) buf_puts(&big, "X-Field: 0123456789\n");
	r = readall(big.s, big.len, &got, &h, &in);
	ok(r < 0 && h.err == HIN_HEADER_TOO_LONG, "a header over HEADER_MAX");
	header_in_free(&h);

	buf_copys(&big, "");
	for (i = 0; i < HEADER_FIELD_MAX + 100; i++) buf_putc(&big, 'y');
	buf_puts(&big, "\nrest\n");
	r = readall(big.s, big.len, &got, &h, &in);
	ok(r == 0 && h.blank && h.partial && h.next.len == HEADER_FIELD_MAX, "a huge first line that is no field: body, cut");
	header_in_free(&h);

	/* CR LF to LF across pieces */
	{
		const char *a[] = {"a\r", "\nb\r", "x\r", 0};
		const char *c[] = {"line\r\n", "\r\r\n", 0};
		const char *d[] = {"no cr", 0};
		ok(lf(a, "a\nb\rx\r"), "CR LF split between pieces; lone CRs kept");
		ok(lf(c, "line\n\r\n"), "CR CR LF keeps one CR");
		ok(lf(d, "no cr"), "plain text unchanged");
	}

	/* stamps */
	setenv("TZ", "UTC", 1);
	tzset();
	buf_copys(&b, "");
	ok(header_date(&b, 0) == 0 && strcmp(b.s, "Thu, 1 Jan 1970 00:00:00 +0000") == 0, "Date in UTC");
	setenv("TZ", "EST5", 1);
	tzset();
	buf_copys(&b, "");
	ok(header_date(&b, 0) == 0 && strcmp(b.s, "Wed, 31 Dec 1969 19:00:00 -0500") == 0, "Date with a negative offset");
	setenv("TZ", "IST-5:30", 1);
	tzset();
	buf_copys(&b, "");
	ok(header_date(&b, 1700000000) == 0 && strcmp(b.s, "Wed, 15 Nov 2023 03:43:20 +0530") == 0, "Date with a half-hour offset");
	buf_copys(&b, "");
	ok(header_msgid(&b, 1700000000, 42, "id.example") == 0
	   && strcmp(b.s, "<20231114221320.42.qmail@id.example>") == 0, "Message-ID in UTC");

	buf_free(&b); buf_free(&got); buf_free(&big);
	return done_testing();
}
