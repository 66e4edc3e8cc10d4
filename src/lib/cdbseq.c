/* cdbseq: see cdbseq.h. */
#include "lib/cdbseq.h"
#include <errno.h>

static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Exactly n bytes, or -1 (EPROTO at a premature end). */
static int get(cdbseq *c, void *p, size_t n)
{
	ssize_t r = n ? in_read(c->in, p, n) : 0;
	size_t got = 0;
	while (got < n) {
		if (r < 0) return -1;
		if (r == 0) { errno = EPROTO; return -1; }
		got += (size_t)r;
		if (got < n) r = in_read(c->in, (char *)p + got, n - got);
	}
	return 0;
}

int cdbseq_start(cdbseq *c, io_in *in, size_t max)
{
	unsigned char h[2048];
	size_t i;

	c->in = in;
	c->max = max;
	if (get(c, h, sizeof h) < 0) return -1;
	c->pos = sizeof h;
	c->eod = UINT32_MAX;
	for (i = 0; i < 256; i++) {
		uint32_t p = u32(h + 8 * i);
		if (p < c->eod) c->eod = p;
	}
	if (c->eod < sizeof h) { errno = EPROTO; return -1; }
	return 0;
}

static int field(cdbseq *c, buf *b, uint32_t n)
{
	if (n > c->max) { errno = ERANGE; return -1; }
	if (n > c->eod - c->pos) { errno = EPROTO; return -1; }
	if (buf_ready(b, n) < 0) return -1;
	b->len = 0;
	if (get(c, b->s, n) < 0) return -1;
	b->len = n;
	b->s[n] = 0;
	c->pos += n;
	return 0;
}

int cdbseq_next(cdbseq *c, buf *key, buf *val)
{
	unsigned char h[8];

	if (c->pos >= c->eod) return 0;
	if (c->eod - c->pos < 8) { errno = EPROTO; return -1; }
	if (get(c, h, 8) < 0) return -1;
	c->pos += 8;
	if (field(c, key, u32(h)) < 0 || field(c, val, u32(h + 4)) < 0) return -1;
	return 1;
}
