/* senders: which envelope senders an authenticated login may use.
 *
 * A login owns, without any configuration, the addresses that local
 * delivery would hand to it: for a system login "joe", every address
 * that route.h makes local and whose local part, after virtualdomains'
 * rewriting, is "joe" or starts with "joe-" (so joe@example.com and
 * joe-lists@example.com, and anything@example.org when virtualdomains
 * says "example.org:joe"); for a virtual login "joe@example.org", that
 * address and "joe-anything@example.org". Case does not matter.
 *
 * control/loginsenders gives more, one "login:pattern" a line, where the
 * pattern is an address, "@domain" (every address there) or "*" (any
 * sender at all, for trusted relays). Lines for the login "*" apply to
 * every login. The null sender <> is never owned: mail programs do not
 * send bounces. */
#ifndef NQ_SENDERS_H
#define NQ_SENDERS_H
#include <stddef.h>
#include "lib/buf.h"
#include "mail/route.h"

/* lines: control/loginsenders as control_readlines() gives it.
 * 1 owned, 0 not, -1 out of memory. */
int senders_owns(const route *r, const buf *lines, const char *login, const char *addr);

#endif
