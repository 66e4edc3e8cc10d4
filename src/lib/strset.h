/* strset: a growable set of byte strings, for "have I seen this one
 * before?" questions asked once per item of a long list (fastforward's
 * duplicate recipients, for instance): one hash per question, never a
 * scan of what was seen. Keys are arbitrary bytes (NUL included) and are
 * copied into the set. Memory grows with the keys added and nothing else. */
#ifndef NQ_STRSET_H
#define NQ_STRSET_H
#include <stddef.h>
#include "lib/buf.h"

struct strset_slot {
	size_t off;       /* key bytes at arena.s + off; 0 marks an empty slot */
	size_t len;
	size_t hash;
};

typedef struct strset {
	buf arena;        /* the keys, one after another (starts with a pad byte) */
	struct strset_slot *slot;
	size_t mask;      /* slots - 1 (a power of two), or 0 before the first add */
	size_t n;
} strset;

#define STRSET_INIT {BUF_INIT, 0, 0, 0}

/* 1 when k[0..n) was added, 0 when it was there already, -1 out of memory
 * (errno; the set is unchanged). */
int strset_add(strset *s, const char *k, size_t n);
/* 1 when k[0..n) is in the set, else 0. */
int strset_has(const strset *s, const char *k, size_t n);
void strset_free(strset *s);

#endif
