/* fuzz-hdrscan: the tolerant header scanner of the helpers on arbitrary
 * bytes, with a small field limit (the first byte picks it) so that cut
 * fields are common. Promises checked: every field returned starts with
 * a field name and colon and is at most max bytes; a body line handed
 * back is at most max bytes; when no field was cut, the fields, the
 * line that ended the header (an empty line, or the body line handed
 * back) and the rest of the stream give back the input exactly. */
#include "mail/hdrscan.h"
#include "mail/header.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	buf f = BUF_INIT, all = BUF_INIT;
	io_in in;
	hdrscan h;
	size_t max, i;
	int fd, r, cut = 0;
	char c;

	if (!size) return 0;
	max = 1 + data[0] % 64;
	data++;
	size--;
	fd = memfd_create("fuzz", 0);
	if (fd < 0) return 0;
	if (size && write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
	lseek(fd, 0, SEEK_SET);
	in_init(&in, fd, 0);
	hdrscan_init(&h, &in, max);
	while ((r = hdrscan_field(&h, &f)) == 1) {
		if (f.len > max || !header_field(f.s, f.len, 0)) abort();
		if (h.cut) cut = 1;
		buf_put(&all, f.s, f.len);
	}
	if (r < 0) abort();
	if (h.bodyline) {
		if (f.len > max || !f.len) abort();
		buf_put(&all, f.s, f.len);
	} else if (f.len) abort();
	/* The empty line that ended the header is not returned: find it. */
	if (!h.bodyline && all.len < size) {
		if (data[all.len] == '\n') buf_putc(&all, '\n');
		else if (all.len + 1 < size && data[all.len] == '\r' && data[all.len + 1] == '\n') buf_put(&all, "\r\n", 2);
	}
	while (in_getc(&in, &c) == 1) buf_putc(&all, c);
	if (!cut) {
		if (all.len != size) abort();
		for (i = 0; i < size; i++) if ((uint8_t)all.s[i] != data[i]) abort();
	}
	close(fd);
	buf_free(&f);
	buf_free(&all);
	return 0;
}
