/* sendbounce: what qmail-send does with a message's collected failures
 * once every recipient is done: the bounce (or, for a VERP sender, one
 * bounce per failed recipient, at most VERP_BATCH per call, each block
 * of bounce/N marked sent once queued), the double bounce to
 * control/doublebounceto, and the triple bounce dropped; all through
 * qmail-queue (src/mail/bounce.h), logged on qmail-send's log
 * (src/mail/sendlog.h). Also the reading of info/S/N, which qmail-send's
 * delivery passes share. Runs in DIR/queue. */
#ifndef NQ_SENDBOUNCE_H
#define NQ_SENDBOUNCE_H
#include "lib/buf.h"
#include <time.h>

typedef struct sendbounce_cfg {
	const char *host;       /* control/bouncehost */
	const char *fromuser;   /* control/bouncefrom */
	const char *dbto;       /* control/doublebounceto@doublebouncehost */
} sendbounce_cfg;

/* The sender and birth of message id from info/S/N: 1, or 0 (logged). */
int sendbounce_info(unsigned long id, buf *sender, time_t *birth);
/* Queue the bounce(s) for message id if it has any: 1 done (or nothing
 * to do: bounce/N is then gone), 2 more to do at once (VERP), 0 try
 * again later (logged). */
int sendbounce_inject(unsigned long id, const sendbounce_cfg *cfg, time_t now);

#endif
