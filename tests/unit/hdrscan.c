/* Unit tests for src/mail/hdrscan.c: fields, folding, cut fields, the
 * end of the header (blank line, a non-field line, end of input), field
 * names and values. */
#include "tap.h"
#include "mail/hdrscan.h"
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fdof(const char *s)
{
	int fd = memfd_create("t", 0);
	if (write(fd, s, strlen(s)) < 0) return -1;
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int eq(const buf *b, const char *s) { return b->len == strlen(s) && !memcmp(b->s, s, b->len); }

int main(void)
{
	buf f = BUF_INIT, v = BUF_INIT;
	io_in in;
	hdrscan h;
	char c;
	int fd;

	fd = fdof("Subject: one\n  two\nFrom:  a@b \n\nbody\n");
	in_init(&in, fd, 0);
	hdrscan_init(&h, &in, 100);
	ok(hdrscan_field(&h, &f) == 1 && eq(&f, "Subject: one\n  two\n") && !h.cut, "folded field whole");
	ok(hdrscan_is(&f, "subject") && !hdrscan_is(&f, "Subj"), "name compared whole, any case");
	ok(hdrscan_value(&f, &v) == 0 && eq(&v, "one  two"), "value unfolded and trimmed");
	ok(hdrscan_field(&h, &f) == 1 && hdrscan_value(&f, &v) == 0 && eq(&v, "a@b"), "second field");
	ok(hdrscan_field(&h, &f) == 0 && !h.bodyline && f.len == 0, "blank line ends the header");
	ok(in_getc(&in, &c) == 1 && c == 'b', "the body follows in the stream");
	ok(hdrscan_field(&h, &f) == 0, "and stays over");
	close(fd);

	fd = fdof("X-Long: 0123456789abcdef\n continued\nA: b\nthis is body\nmore\n");
	in_init(&in, fd, 0);
	hdrscan_init(&h, &in, 10);
	ok(hdrscan_field(&h, &f) == 1 && h.cut && eq(&f, "X-Long: 01"), "a long field is cut at max");
	ok(hdrscan_field(&h, &f) == 1 && !h.cut && eq(&f, "A: b\n"), "the next field is read after the cut one");
	ok(hdrscan_field(&h, &f) == 0 && h.bodyline && eq(&f, "this is bo"), "a non-field line starts the body");
	ok(in_getc(&in, &c) == 1 && c == 'd', "its rest is still in the stream");
	close(fd);

	fd = fdof("A: b\r\n\r\nbody");
	in_init(&in, fd, 0);
	hdrscan_init(&h, &in, 100);
	ok(hdrscan_field(&h, &f) == 1 && eq(&f, "A: b\r\n"), "CR LF kept in the field");
	ok(hdrscan_field(&h, &f) == 0 && !h.bodyline, "CR LF blank line ends the header");
	close(fd);

	fd = fdof("A: b");
	in_init(&in, fd, 0);
	hdrscan_init(&h, &in, 100);
	ok(hdrscan_field(&h, &f) == 1 && eq(&f, "A: b"), "a last field without LF");
	ok(hdrscan_field(&h, &f) == 0 && !h.bodyline, "end of input ends the header");
	close(fd);
	buf_free(&f);
	buf_free(&v);
	return done_testing();
}
