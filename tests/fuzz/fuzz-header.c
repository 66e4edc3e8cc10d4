/* fuzz-header: the bounded header reader (header_in_field), field
 * recognition, unfolding and the CR LF filter on arbitrary input. Every
 * field returned must start with a valid name (or be an MBOX-Line), end
 * in LF, stay within HEADER_FIELD_MAX; unfolding leaves no LF; the body
 * that follows passes through header_lf_put, which only drops bytes. */
#include "mail/header.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfile(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-header", 0);
	if (fd < 0) abort();
	if (size && write(fd, data, size) != (ssize_t)size) abort();
	if (lseek(fd, 0, SEEK_SET) != 0) abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int in_fd = memfile(data, size), out_fd = memfd_create("fuzz-header-out", 0);
	io_in in;
	io_out o;
	header_in h;
	buf f = BUF_INIT, u = BUF_INIT;
	int r, cr = 0;
	char last = 0;

	if (out_fd < 0) abort();
	in_init(&in, in_fd, 0);
	header_in_init(&h, &in);
	while ((r = header_in_field(&h, &f)) == 1) {
		size_t off = header_field(f.s, f.len, 0);
		if (!off) abort();
		if (f.s[f.len - 1] != '\n') abort();
		if (f.len > HEADER_FIELD_MAX + 11) abort();
		(void)header_kind(f.s, f.len);
		u.len = 0;
		if (header_unfold(&u, f.s + off, f.len - off) < 0) abort();
		if (u.len && memchr(u.s, '\n', u.len)) abort();
	}
	if (r < 0 && h.err != HIN_FIELD_TOO_LONG && h.err != HIN_HEADER_TOO_LONG) abort();
	if (r == 0) {
		out_init(&o, out_fd, 0);
		if (h.next.len && header_lf_put(&o, &cr, &last, h.next.s, h.next.len) < 0) abort();
		while (in_fill(&in) > 0) {
			if (header_lf_put(&o, &cr, &last, in.b + in.pos, in.len - in.pos) < 0) abort();
			in.pos = in.len;
		}
		if (header_lf_end(&o, &cr, &last) < 0 || out_flush(&o) < 0) abort();
		/* the filter only ever drops bytes */
		if (lseek(out_fd, 0, SEEK_END) > (off_t)size + 1) abort();   /* + the LF a last line gets */
	}
	header_in_free(&h);
	buf_free(&f); buf_free(&u);
	close(in_fd);
	close(out_fd);
	return 0;
}
