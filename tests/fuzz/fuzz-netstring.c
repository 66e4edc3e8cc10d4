/* fuzz-netstring: the strict netstring readers on arbitrary bytes.
 * Promises checked: a parsed netstring lies inside the input; strictness
 * makes encoding canonical, so writing back what was parsed gives exactly
 * the bytes used; the wire size matches; and the reader on a descriptor
 * (ns_get) sees the same netstrings as the reader in memory (ns_parse),
 * stopping at the same place. */
#include "lib/netstring.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	buf again = BUF_INIT, got = BUF_INIT;
	size_t pos = 0, len, wire;
	const char *p;
	io_in in;
	int fd, r;

	fd = memfd_create("fuzz", 0);
	if (fd < 0) return 0;
	if (size && write(fd, s, size) != (ssize_t)size) abort();
	if (lseek(fd, 0, SEEK_SET) != 0) abort();
	in_init(&in, fd, 0);

	for (;;) {
		size_t start = pos;
		r = ns_parse(s, size, &pos, &p, &len);
		if (r == 1) {
			if (p < s || p + len > s + size || pos <= start || pos > size) abort();
			again.len = 0;
			if (ns_put(&again, p, len) < 0) abort();
			if (again.len != pos - start || memcmp(again.s, s + start, again.len)) abort();
			if (ns_size(len) != pos - start) abort();
		} else if (pos != start) abort();
		{
			int q = ns_get(&in, &got, SIZE_MAX, &wire);
			if (r == 1 && (q != 1 || got.len != len || memcmp(got.s, p, len) || wire != pos - start)) abort();
			if (r == 0 && q != 0) abort();
			if (r < 0 && q == 1) abort();
		}
		if (r != 1) break;
	}
	close(fd);
	buf_free(&again);
	buf_free(&got);
	return 0;
}
