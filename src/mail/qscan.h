/* qscan: reading the queue from outside qmail-send, for the tools that
 * look at it while it runs (qmail-qshape, qmail-qctl, qmail-metrics).
 *
 * A message is seen in one of two states (doc/architecture.md):
 *  - "todo": todo/N exists and qmail-send has not taken it yet; its
 *    recipients are the T records of the envelope in todo/N, not yet
 *    split into local and remote;
 *  - preprocessed: info/S/N exists (the sender, and by its mtime the
 *    birth qmail-send counts the message's age from), with local/S/N and
 *    remote/S/N holding "T" (to do) or "D" (done) records.
 * A message may finish, or be created, while it is being looked at: a
 * file that vanishes under the reader is skipped, never an error. The
 * caller works in DIR/queue (chdir). Every record is read with a bound
 * (src/mail/qrec.h), so a damaged file cannot make memory grow. */
#ifndef NQ_QSCAN_H
#define NQ_QSCAN_H
#include <sys/types.h>
#include <time.h>
#include "lib/buf.h"

#define QSCAN_LOCAL 0
#define QSCAN_REMOTE 1
#define QSCAN_TODO 2     /* a recipient of a message still in todo/ */

typedef struct qmsg {
	unsigned long id;
	int todo;                 /* 1: only in todo/ */
	int held;                 /* hold/N exists (src/mail/qctl.h) */
	int bouncing;             /* bounce/N exists */
	time_t birth;             /* mtime of info/S/N, or of todo/N */
	unsigned long long size;  /* bytes of mess/S/N (0 when it is gone) */
	buf sender;               /* envelope sender, NUL-terminated */
} qmsg;

/* Called for each recipient record: chan is QSCAN_LOCAL, QSCAN_REMOTE
 * or QSCAN_TODO, done 1 for a 'D' record. Return 0 to go on, -1 to stop. */
typedef int (*qscan_rcpt_fn)(void *ctx, const qmsg *m, int chan, int done,
                             const char *addr, size_t len);
/* Called for each message; return 0 to go on, -1 to stop the scan. */
typedef int (*qscan_msg_fn)(void *ctx, qmsg *m);

/* Every message: those in todo/ first, then those of info/S/ in split
 * order. A message in both (being preprocessed) is reported once, as
 * todo. 0 done, 1 stopped by f, -1 a directory could not be read (errno,
 * its name in *what). */
int qscan_each(qscan_msg_fn f, void *ctx, const char **what);
/* One message by number: 1 found (m filled), 0 not in the queue, -1 error. */
int qscan_one(unsigned long id, qmsg *m);
/* The recipients of m, with f called for each. 0 done, 1 stopped by f,
 * -1 a file could not be read (errno). */
int qscan_rcpts(const qmsg *m, qscan_rcpt_fn f, void *ctx);
void qmsg_free(qmsg *m);

/* The domain of addr (after the last '@'; the whole address when it
 * has none), lower-cased into d, without a trailing dot. */
int qscan_domain(buf *d, const char *addr, size_t len);

#endif
