/* tally: a string-keyed counter table with a fixed capacity; see tally.h
 * for the promise about counts. Pruning keeps half the table, so it
 * happens at most once per cap/2 new keys and costs O(cap log cap):
 * constant work per key on average, whatever the input. */
#include "lib/tally.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hashkey(const char *k, size_t n)
{
	size_t h = 14695981039346656037ULL & SIZE_MAX;   /* FNV-1a */
	size_t i;
	for (i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= (size_t)1099511628211ULL;
	}
	return h;
}

int tally_init(tally *t, size_t cap, size_t keymax)
{
	size_t ns = 4;
	memset(t, 0, sizeof *t);
	if (cap < 2) cap = 2;
	if (cap > SIZE_MAX / 4 / sizeof(struct tally_ent)) { errno = ENOMEM; return -1; }
	while (ns < cap * 2) ns *= 2;
	t->cap = cap;
	t->keymax = keymax ? keymax : 1024;
	t->e = malloc(cap * sizeof *t->e);
	t->slot = calloc(ns, sizeof *t->slot);
	if (!t->e || !t->slot) { tally_free(t); return -1; }
	t->mask = ns - 1;
	return 0;
}

static void reindex(tally *t)
{
	size_t i;
	memset(t->slot, 0, (t->mask + 1) * sizeof *t->slot);
	for (i = 0; i < t->n; i++) {
		size_t j = t->e[i].hash & t->mask;
		while (t->slot[j]) j = (j + 1) & t->mask;
		t->slot[j] = i + 1;
	}
}

static const tally *sortt;
static int sortcol;

static int cmp(const void *a, const void *b)
{
	const struct tally_ent *x = *(const struct tally_ent *const *)a;
	const struct tally_ent *y = *(const struct tally_ent *const *)b;
	size_t n;
	int c;
	if (x->v[sortcol] != y->v[sortcol]) return x->v[sortcol] > y->v[sortcol] ? -1 : 1;
	n = x->len < y->len ? x->len : y->len;
	c = memcmp(sortt->arena.s + x->off, sortt->arena.s + y->off, n);
	if (c) return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

size_t tally_sorted(const tally *t, int col, const struct tally_ent **out)
{
	size_t i;
	for (i = 0; i < t->n; i++) out[i] = &t->e[i];
	sortt = t;
	sortcol = col;
	if (t->n > 1) qsort(out, t->n, sizeof *out, cmp);
	return t->n;
}

/* Keep the larger half; compact the keys into a fresh arena. */
static int prune(tally *t)
{
	const struct tally_ent **o = malloc(t->n * sizeof *o);
	struct tally_ent *ne = malloc(t->cap * sizeof *ne);
	buf na = BUF_INIT;
	size_t keep = t->n / 2, i;

	if (!o || !ne || buf_putc(&na, 0) < 0) goto fail;
	tally_sorted(t, 0, o);
	for (i = 0; i < keep; i++) {
		ne[i] = *o[i];
		ne[i].off = na.len;
		if (buf_put(&na, t->arena.s + o[i]->off, o[i]->len) < 0) goto fail;
	}
	for (i = keep; i < t->n; i++)
		if (o[i]->v[0] > t->floor) t->floor = o[i]->v[0];
	t->dropped += t->n - keep;
	free(o);
	free(t->e);
	buf_free(&t->arena);
	t->e = ne;
	t->arena = na;
	t->n = keep;
	reindex(t);
	return 0;
fail:
	free(o);
	free(ne);
	buf_free(&na);
	return -1;
}

struct tally_ent *tally_get(tally *t, const char *k, size_t n)
{
	size_t h, j;
	struct tally_ent *e;

	if (n > t->keymax) n = t->keymax;
	h = hashkey(k, n);
	for (j = h & t->mask; t->slot[j]; j = (j + 1) & t->mask) {
		e = &t->e[t->slot[j] - 1];
		if (e->hash == h && e->len == n && !memcmp(t->arena.s + e->off, k, n)) return e;
	}
	if (t->n == t->cap) {
		if (prune(t) < 0) return 0;
		for (j = h & t->mask; t->slot[j]; j = (j + 1) & t->mask) ;
	}
	if (!t->arena.len && buf_putc(&t->arena, 0) < 0) return 0;   /* offset 0 is never a key */
	e = &t->e[t->n];
	e->off = t->arena.len;
	if (buf_put(&t->arena, k, n) < 0) return 0;
	e->len = n;
	e->hash = h;
	memset(e->v, 0, sizeof e->v);
	t->slot[j] = ++t->n;
	return e;
}

const char *tally_key(const tally *t, const struct tally_ent *e)
{
	return t->arena.s + e->off;
}

void tally_free(tally *t)
{
	free(t->e);
	free(t->slot);
	buf_free(&t->arena);
	t->e = 0;
	t->slot = 0;
	t->n = 0;
}
