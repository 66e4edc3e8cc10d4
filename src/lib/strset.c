/* strset: open addressing with linear probing, kept at most half full so
 * that a probe sequence stays short; see strset.h. */
#include "lib/strset.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: cheap, and good enough for addresses and file names. */
static size_t hash(const char *k, size_t n)
{
	size_t h = (size_t)14695981039346656037ULL, i;
	for (i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= (size_t)1099511628211ULL;
	}
	return h;
}

static size_t find(const strset *s, const char *k, size_t n, size_t h)
{
	size_t i = h & s->mask;
	while (s->slot[i].off) {
		const struct strset_slot *x = &s->slot[i];
		if (x->hash == h && x->len == n && memcmp(s->arena.s + x->off, k, n) == 0) return i;
		i = (i + 1) & s->mask;
	}
	return i;
}

static int grow(strset *s)
{
	size_t want = s->mask ? (s->mask + 1) * 2 : 64, i;
	struct strset_slot *old = s->slot, *t;
	size_t oldn = s->mask ? s->mask + 1 : 0;

	if (want > SIZE_MAX / sizeof *t) { errno = ENOMEM; return -1; }
	t = calloc(want, sizeof *t);
	if (!t) { errno = ENOMEM; return -1; }
	s->slot = t;
	s->mask = want - 1;
	for (i = 0; i < oldn; i++) {
		size_t j;
		if (!old[i].off) continue;
		j = old[i].hash & s->mask;
		while (t[j].off) j = (j + 1) & s->mask;
		t[j] = old[i];
	}
	free(old);
	return 0;
}

int strset_has(const strset *s, const char *k, size_t n)
{
	if (!s->mask) return 0;
	return s->slot[find(s, k, n, hash(k, n))].off != 0;
}

int strset_add(strset *s, const char *k, size_t n)
{
	size_t h = hash(k, n), i;

	if (s->mask && s->slot[find(s, k, n, h)].off) return 0;
	if ((s->n + 1) * 2 > (s->mask ? s->mask + 1 : 0) && grow(s) < 0) return -1;
	if (s->arena.len == 0 && buf_putc(&s->arena, 0) < 0) return -1;   /* offset 0 means empty */
	i = find(s, k, n, h);
	s->slot[i].off = s->arena.len;
	s->slot[i].len = n;
	s->slot[i].hash = h;
	if (buf_put(&s->arena, k, n) < 0) { s->slot[i].off = 0; return -1; }
	s->n++;
	return 1;
}

void strset_free(strset *s)
{
	buf_free(&s->arena);
	free(s->slot);
	s->slot = 0;
	s->mask = s->n = 0;
}
