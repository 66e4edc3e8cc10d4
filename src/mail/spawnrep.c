/* spawnrep: spawn requests and reports; see spawnrep.h and spawn.h. */
#include "mail/spawnrep.h"
#include "lib/str.h"
#include <string.h>

int spawnreq_put(buf *out, unsigned long slot, unsigned long msg, const char *sender, const char *recip)
{
	if (buf_putnum(out, slot) < 0 || buf_put0(out) < 0 ||
	    buf_putnum(out, msg) < 0 || buf_put0(out) < 0 ||
	    buf_put(out, sender, strlen(sender) + 1) < 0 ||
	    buf_put(out, recip, strlen(recip) + 1) < 0)
		return -1;
	return 0;
}

void spawnrep_feed(spawnrep *r, const char *p, size_t n, spawnrep_fn *f, void *ctx)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *z;
		size_t k, room;
		/* copy up to the next NUL, within the field's bound */
		z = memchr(p + i, 0, n - i);
		k = z ? (size_t)(z - (p + i)) : n - i;
		room = r->field ? r->numlen + 1 + SPAWNREP_MAX : 24;
		if (r->b.len < room) {
			size_t take = k < room - r->b.len ? k : room - r->b.len;
			/* out of memory: the report is cut, which is still a report */
			(void)buf_put(&r->b, p + i, take);
		}
		i += k;
		if (!z) break;
		if (!r->field) {
			r->numlen = r->b.len;
			if (buf_put0(&r->b) < 0) r->numlen = r->b.len = 0;
			r->field = 1;
			continue;
		}
		{
			unsigned long slot = SPAWNREP_BADSLOT;
			size_t tl = r->b.len > r->numlen ? r->b.len - r->numlen - 1 : 0;
			const char *t = tl ? r->b.s + r->numlen + 1 : "";
			if (!r->numlen || scan_ulong(r->b.s, r->numlen, &slot) != r->numlen) slot = SPAWNREP_BADSLOT;
			f(ctx, slot, tl ? t[0] : 0, tl ? t + 1 : "", tl ? tl - 1 : 0);
		}
		r->b.len = 0;
		r->field = 0;
		r->numlen = 0;
	}
}

void spawnrep_free(spawnrep *r)
{
	buf_free(&r->b);
	r->field = 0;
	r->numlen = 0;
}
