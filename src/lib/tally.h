/* tally: counters per string key with a fixed number of keys, for "top N"
 * tables over inputs that may hold millions of distinct keys (senders,
 * domains, failure texts in a large log). Memory never exceeds the
 * capacity given: when a new key arrives at a full table, the half of the
 * keys with the smallest first counter is dropped, and the largest first
 * counter so dropped is remembered as the table's error bound ("floor"):
 * a key's count may be short by at most that much, and counts above it
 * are in the table. With fewer distinct keys than the capacity, every
 * count is exact (floor 0). */
#ifndef NQ_TALLY_H
#define NQ_TALLY_H
#include <stddef.h>
#include "lib/buf.h"

#define TALLY_NV 4

struct tally_ent {
	size_t off, len;                 /* key bytes at arena.s + off */
	size_t hash;
	unsigned long long v[TALLY_NV];  /* v[0] decides what is kept */
};

typedef struct tally {
	buf arena;
	struct tally_ent *e;
	size_t n, cap;                   /* entries used, most allowed */
	size_t *slot;                    /* hash index: entry + 1, 0 empty */
	size_t mask;
	size_t keymax;                   /* longer keys are cut to this */
	unsigned long long floor;
	unsigned long long dropped;      /* keys dropped so far */
} tally;

/* cap: most keys (at least 2); keymax: longest key kept. 0 ok, -1 nomem. */
int tally_init(tally *t, size_t cap, size_t keymax);
/* The entry of key k[0..n) (cut to keymax), added with zero counters when
 * new. 0 when out of memory. The pointer is valid until the next call. */
struct tally_ent *tally_get(tally *t, const char *k, size_t n);
/* The key of e: e->len bytes, not NUL-terminated. */
const char *tally_key(const tally *t, const struct tally_ent *e);
/* Fill out (room for t->n pointers) with the entries ordered by counter
 * col, largest first, ties by key. Returns t->n. */
size_t tally_sorted(const tally *t, int col, const struct tally_ent **out);
void tally_free(tally *t);

#endif
