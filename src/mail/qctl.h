/* qctl: how qmail-qctl changes messages while qmail-send runs, and how
 * a held message is recorded. Both programs use this file, so the rule
 * lives in one place.
 *
 *  - The channel lock. Whoever reads the recipients of local/S/N or
 *    remote/S/N to deliver them, or rewrites their records from outside
 *    qmail-send, holds an exclusive flock(2) on that file meanwhile.
 *    qmail-send takes it without waiting when it opens the file for a
 *    delivery pass and keeps it until the job is closed (every delivery
 *    it started for that file has reported); when the lock is taken it
 *    puts the message back QCTL_BUSY_RETRY seconds later. qmail-qctl
 *    takes it (waiting) before it marks recipients, and rechecks that the
 *    name still leads to the file it locked. So qmail-qctl never marks a
 *    recipient whose delivery is running, and qmail-send never starts a
 *    recipient that qmail-qctl is deleting. A bounce/N block written by
 *    qmail-qctl is appended (and fsynced, before the mark) while it holds
 *    the lock of every channel file the message has, the only times
 *    qmail-send itself might append to that file.
 *
 *  - hold/N (flat directory, mode 0700, owner qmails). While it exists
 *    qmail-send starts no delivery of message N: it checks, under the
 *    channel lock, each time the message comes due, and a held message
 *    comes due again every QCTL_HOLD_RECHECK seconds. A held message
 *    still ages: when it is released after queuelifetime, it is tried
 *    once more and then bounced, as any other.
 *
 *  - lock/qctl, a named pipe (mode 0600, owner qmails). qmail-send opens
 *    it read-write and non-blocking at start, as it does lock/trigger,
 *    and reads requests from it: "N" NUL asks that message N be tried
 *    now (it was released, requeued, or its recipients deleted). That
 *    qmail-send holds the pipe open is also how qmail-qctl knows that the
 *    qmail-send running speaks this protocol: opening a pipe for writing
 *    without blocking fails (ENXIO) when nobody has it open for reading.
 *
 * With qmail-send stopped, qmail-qctl holds lock/sendmutex for as long as
 * it works (so qmail-send cannot start meanwhile) and needs none of this;
 * it records "try now" in the channel files' mtimes, which qmail-send
 * reads at start as each message's next retry. */
#ifndef NQ_QCTL_H
#define NQ_QCTL_H
#include <stddef.h>
#include <time.h>
#include "lib/buf.h"
#include "mail/sched.h"

#define QCTL_FIFO "lock/qctl"
#define QCTL_HOLDDIR "hold"
#define QCTL_BUSY_RETRY 1        /* s: channel file locked by qmail-qctl */
#define QCTL_HOLD_RECHECK 1500   /* s: a held message is looked at again */
#define QCTL_REQ_MAX 24          /* bytes of one request, NUL included */

/* "hold/N" into b, NUL-terminated (relative to DIR/queue). */
const char *qctl_holdfn(buf *b, unsigned long id);
/* Is message id held? 1 yes, 0 no, -1 error (errno). Works in DIR/queue. */
int qctl_held(unsigned long id);

/* Requests read from lock/qctl, in whatever pieces read(2) returns them.
 * A request that is not a number, or is too long, is dropped up to its
 * NUL: a stray writer cannot make qmail-send act on anything else. */
typedef struct qctl_in {
	char b[QCTL_REQ_MAX];
	size_t n;
	int bad;
} qctl_in;
typedef void (*qctl_fn)(void *ctx, unsigned long id);
void qctl_feed(qctl_in *in, const char *p, size_t n, qctl_fn f, void *ctx);
/* Write the request for id to fd (the pipe): 0, or -1 (errno). */
int qctl_request(int fd, unsigned long id);

/* Make every entry of message id in q due at when, if it is due later
 * (entries already due earlier are left). Returns how many changed. It
 * scans the whole schedule: it runs once per request, not per message. */
size_t qctl_due(sched *q, unsigned long id, time_t when);

#endif
