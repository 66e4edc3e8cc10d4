/* fuzz-dotqmail: the .qmail line parser, the extension mapping and the
 * candidate names, and the mbox quoting filter, on arbitrary bytes.
 * The first byte chooses how the rest is split between an extension and
 * a .qmail file; every result is checked against the parser's promises. */
#include "mail/dotqmail.h"
#include "mail/mbox.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_lines(const char *s, size_t n)
{
	size_t pos = 0, last = 0;
	const char *why;
	dq_line l;
	int r;

	l.lineno = 0;
	while ((r = dq_parse(s, n, &pos, &l, &why)) == 1) {
		/* the text lies inside the input and the position advances */
		if (l.text < s || l.text + l.len > s + n) abort();
		if (pos <= last || pos > n) abort();
		if (memchr(l.text, 0, l.len)) abort();
		if (l.type == DQ_FORWARD && l.len == 0) abort();
		if (l.type == DQ_MAILDIR && l.text[l.len - 1] != '/') abort();
		last = pos;
	}
	if (r == -1 && !why) abort();
}

static void check_ext(const char *s, size_t n)
{
	buf safe = BUF_INIT, name = BUF_INIT;
	size_t iter = 0, defat, count = 0;

	if (dq_safeext(&safe, s, n) < 0) abort();
	if (memchr(safe.s, '/', safe.len) || memchr(safe.s, '.', safe.len)) abort();
	while (dq_candidate(&name, "-", &safe, &iter, &defat) == 1) {
		/* a candidate is one plain name in the home directory */
		if (memchr(name.s, '/', name.len)) abort();
		if (defat != DQ_NODEFAULT && defat > n) abort();
		if (++count > n + 2) abort();
	}
	buf_free(&safe);
	buf_free(&name);
}

static void check_quote(const char *s, size_t n)
{
	mbox_quote q;
	io_out out;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd < 0) return;
	out_init(&out, fd, 0);
	mbox_quote_init(&q);
	if (n) {
		size_t half = n / 2;
		mbox_quote_put(&q, &out, s, half);
		mbox_quote_put(&q, &out, s + half, n - half);
	}
	mbox_quote_end(&q, &out);
	if (!q.lastnl) abort();
	out_flush(&out);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t cut;

	if (size == 0) return 0;
	cut = data[0] % 64;
	if (cut > size - 1) cut = size - 1;
	check_ext(s + 1, cut);
	check_lines(s + 1 + cut, size - 1 - cut);
	check_quote(s + 1, size - 1);
	return 0;
}
