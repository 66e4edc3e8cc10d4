/* cmap: a constant map from ASCII-case-insensitive keys to values, built
 * once from a list of NUL-terminated lines (the format control_readlines
 * produces) and then only read. It exists because control files such as
 * locals, rcpthosts and virtualdomains can be long and are consulted once
 * per recipient: a lookup costs one hash, never a scan of the list.
 *
 * With colon set, each line is "key:value" split at its first ':' (a line
 * without ':' has an empty value); otherwise the whole line is the key and
 * the value is "". When a key appears twice the later line wins.
 * The map points into the list: keep the list alive and unchanged. */
#ifndef NQ_CMAP_H
#define NQ_CMAP_H
#include <stddef.h>
#include "lib/buf.h"

struct cmap_slot {
	const char *k;
	size_t kl;
	const char *v;    /* NUL-terminated */
};

typedef struct cmap {
	struct cmap_slot *slot;
	size_t mask;      /* number of slots - 1 (a power of two), or 0 when empty */
	size_t n;
} cmap;

#define CMAP_INIT {0, 0, 0}

/* 0 ok, -1 out of memory (errno ENOMEM); on failure m is left empty. */
int cmap_init(cmap *m, const buf *list, int colon);
/* Value for key k (kl bytes), or 0 when absent. */
const char *cmap_get(const cmap *m, const char *k, size_t kl);
void cmap_free(cmap *m);

#endif
