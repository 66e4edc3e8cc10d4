/* rcpthosts: the domains this host accepts mail for from anyone
 * (qmail-smtpd(8), qmail-control(5)): control/rcpthosts, one domain a
 * line, where ".example.com" stands for every name under example.com,
 * plus the same kind of lines compiled by qmail-newmrh into
 * control/morercpthosts.cdb (key: the lowercased line, value empty).
 * Names compare without regard to ASCII case; an address without '@' is
 * always allowed (qmail-send appends envnoathost to it).
 *
 * Unlike qmail, a missing rcpthosts does not make an open relay: it
 * allows no domain at all (only RELAYCLIENT and authenticated clients can
 * then send), and qmail-smtpd says so in its log. */
#ifndef NQ_RCPTHOSTS_H
#define NQ_RCPTHOSTS_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/cmap.h"

typedef struct rcpthosts {
	buf list;
	cmap map;
	int have;          /* control/rcpthosts exists */
	buf cdbpath;       /* DIR/control/morercpthosts.cdb */
} rcpthosts;

#define RCPTHOSTS_INIT {BUF_INIT, CMAP_INIT, 0, BUF_INIT}

/* 0 ok, -1 error (errno) reading control/rcpthosts. */
int rcpthosts_load(rcpthosts *r);
/* 1 allowed, 0 not, -1 error (errno) reading morercpthosts.cdb. */
int rcpthosts_allowed(const rcpthosts *r, const char *addr, size_t len);
/* The same test for a bare domain. */
int rcpthosts_domain(const rcpthosts *r, const char *dom, size_t len);
void rcpthosts_free(rcpthosts *r);

#endif
