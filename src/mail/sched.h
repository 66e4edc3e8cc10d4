/* sched: qmail-send's schedule: which message is due next, and when a
 * message that failed temporarily is tried again.
 *
 * A sched is a binary min-heap of (time, message number): adding and
 * taking the earliest cost O(log n), so a queue of a million messages is
 * scheduled without scans.
 *
 * The retry rule is qmail's (qmail-send(8)): a message born at time b
 * (the mtime of its info file) and last tried at time t is tried again at
 *     b + (floor(sqrt(t - b)) + skip)^2
 * with skip 10 for local and 20 for remote deliveries: the gaps grow
 * linearly, the number of attempts with the square root of the age. */
#ifndef NQ_SCHED_H
#define NQ_SCHED_H
#include <stddef.h>
#include <time.h>

#define SCHED_SKIP_LOCAL 10
#define SCHED_SKIP_REMOTE 20

typedef struct sched_ent {
	time_t when;
	unsigned long id;
} sched_ent;

typedef struct sched {
	sched_ent *e;
	size_t n, cap;
} sched;

#define SCHED_INIT {0, 0, 0}

int sched_add(sched *q, unsigned long id, time_t when);   /* 0, or -1 ENOMEM */
/* The earliest entry into *e: 1, or 0 when q is empty. */
int sched_min(const sched *q, sched_ent *e);
void sched_delmin(sched *q);
/* Every entry due at when (SIGALRM: retry everything now). */
void sched_setall(sched *q, time_t when);
void sched_free(sched *q);

/* floor(sqrt(x)) */
unsigned long long sched_isqrt(unsigned long long x);
/* When to try again a message born at birth, tried at now. */
time_t sched_retry(time_t birth, time_t now, unsigned skip);

#endif
