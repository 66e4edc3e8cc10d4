/* addrlist: control files that list envelope addresses, qmail's
 * badmailfrom and its well-known sibling badrcptto: one address a line,
 * or "@domain" for every address at that domain. Comparison ignores
 * ASCII case. */
#ifndef NQ_ADDRLIST_H
#define NQ_ADDRLIST_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/cmap.h"

typedef struct addrlist {
	buf lines;
	cmap map;
} addrlist;

#define ADDRLIST_INIT {BUF_INIT, CMAP_INIT}

/* Read control/name (missing: an empty list). 0 ok, -1 error (errno). */
int addrlist_load(addrlist *l, const char *name);
/* 1 when addr[0..n) is listed, by itself or by its "@domain". */
int addrlist_match(const addrlist *l, const char *addr, size_t n);
void addrlist_free(addrlist *l);

#endif
