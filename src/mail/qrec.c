/* qrec: bounded reading of NUL-terminated queue records; see qrec.h. */
#include "mail/qrec.h"
#include <errno.h>
#include <string.h>

int qrec_get(io_in *in, buf *rec, size_t max, size_t *used)
{
	int over = 0;

	rec->len = 0;
	if (buf_ready(rec, 0) < 0) return -1;
	rec->s[0] = 0;
	*used = 0;
	for (;;) {
		ssize_t r = in_fill(in);
		char *p, *z;
		size_t k;
		if (r < 0) return -1;
		if (r == 0) {
			if (!*used) return 0;
			errno = EPROTO;
			return -1;
		}
		p = in->b + in->pos;
		z = memchr(p, 0, in->len - in->pos);
		k = z ? (size_t)(z - p) + 1 : in->len - in->pos;
		if (!over && rec->len + (z ? k - 1 : k) > max) over = 1;
		if (!over && buf_put(rec, p, z ? k - 1 : k) < 0) return -1;
		in->pos += k;
		*used += k;
		if (z) {
			if (over) { errno = ERANGE; return -1; }
			return 1;
		}
	}
}
