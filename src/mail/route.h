/* route: is an envelope recipient delivered here or elsewhere?
 *
 * This is qmail-send's rule (qmail-send(8), qmail-control(5)), kept in one
 * place so that qmail-send and, later, qmail-smtpd's recipient check agree:
 *  1. an address without '@' gets "@envnoathost" appended;
 *  2. percenthack: while the domain is listed in control/percenthack and
 *     the local part holds a '%', "user%host@domain" becomes "user@host";
 *  3. the address is local when its domain is listed in control/locals
 *     (compared without regard to ASCII case);
 *  4. otherwise control/virtualdomains is consulted, first match wins:
 *     the whole address ("user@domain:prepend"), the domain
 *     ("domain:prepend"), each parent suffix starting with a dot, longest
 *     first (".example.com:prepend"), and the catch-all (":prepend"). A
 *     match with a non-empty prepend makes the address local, rewritten as
 *     "prepend-user@domain"; an empty prepend is an exception: remote.
 *  5. everything else is remote.
 * Defaults: locals and envnoathost are control/me when missing; without
 * locals and me nothing can be decided and route_load fails. */
#ifndef NQ_ROUTE_H
#define NQ_ROUTE_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/cmap.h"

#define ROUTE_LOCAL 1
#define ROUTE_REMOTE 2

typedef struct route {
	buf locals, vdoms, percent, noathost;
	cmap mlocals, mvdoms, mpercent;
} route;

#define ROUTE_INIT {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, CMAP_INIT, CMAP_INIT, CMAP_INIT}

/* Read locals, virtualdomains, percenthack and envnoathost (and me for the
 * defaults) into r, which must be ROUTE_INIT or freed. 0 ok; -1 error with
 * errno (ENOENT: neither locals nor me exists) and *what naming the file
 * that failed; r is then empty. */
int route_load(route *r, const char **what);
void route_free(route *r);

/* Rewrite the recipient addr (len bytes) into out (NUL-terminated, no
 * type letter). Returns ROUTE_LOCAL or ROUTE_REMOTE, -1 when out of memory. */
int route_rewrite(const route *r, const char *addr, size_t len, buf *out);

/* The address a user wrote, for a local recipient that virtualdomains
 * rewrote: "prepend-user@domain" -> "user@domain". Any other address is
 * returned unchanged. The result points into recip. */
const char *route_unprepend(const route *r, const char *recip);

#endif
