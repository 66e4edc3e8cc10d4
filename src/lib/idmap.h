/* idmap: a hash map from unsigned numbers to pointers, for state kept
 * per identifier while it is "in flight" (qmail-report's messages and
 * deliveries): one hash per lookup, removal that frees the slot at once
 * (no tombstones), so memory follows the number of live entries, never
 * the number ever added. Values must not be null (null means absent). */
#ifndef NQ_IDMAP_H
#define NQ_IDMAP_H
#include <stddef.h>

struct idmap_slot {
	unsigned long long k;
	void *v;          /* 0: empty */
};

typedef struct idmap {
	struct idmap_slot *slot;
	size_t mask;      /* slots - 1 (a power of two), or 0 before the first put */
	size_t n;
} idmap;

#define IDMAP_INIT {0, 0, 0}

/* Set k to v (v != 0), replacing an old value. 0 ok, -1 out of memory
 * (errno; the map is unchanged). */
int idmap_put(idmap *m, unsigned long long k, void *v);
void *idmap_get(const idmap *m, unsigned long long k);
/* Remove k; returns its value, or 0 when it was absent. */
void *idmap_del(idmap *m, unsigned long long k);
/* Visit every entry: for (i = 0; idmap_next(m, &i, &k, &v); ) ...
 * The map must not change during the walk. */
int idmap_next(const idmap *m, size_t *i, unsigned long long *k, void **v);
void idmap_free(idmap *m);

#endif
