/* logstat: what qmail-send's log says, summed up while it streams by —
 * qmailanalog's "matchup" (pairing each delivery's start with its result
 * and each message's "new msg" with its "end msg") and the totals of its
 * zoverall, zddist, zsenders, zrecipients, zfailures and zdeferrals, plus
 * per-hour rows and time series for plots.
 *
 * Memory does not grow with the length of the log: state is kept only for
 * the messages and deliveries in flight (removed at "end msg" and at the
 * delivery's result), the top-N tables have a fixed capacity (lib/tally.h),
 * delays go into fixed histograms, the time series into a fixed number of
 * buckets that widen as the log covers more time. Only the per-hour table
 * grows, with the number of distinct hours the log covers.
 *
 * Definitions (qmailanalog's, where it has one):
 *  - xdelay: result time minus start time of one delivery attempt;
 *  - ddelay: end of a successful delivery minus the message's "new msg";
 *  - qtime: "end msg" minus "new msg";
 *  - queue delay: end of a message's last delivery (success or failure)
 *    minus its "new msg", for messages seen from "new msg" to "end msg";
 *  - average concurrency: total xdelay divided by the time span.
 * A result earlier than its start (the clock went back) counts as 0 and
 * is counted in clock_neg. */
#ifndef NQ_LOGSTAT_H
#define NQ_LOGSTAT_H
#include <stddef.h>
#include "lib/idmap.h"
#include "lib/tally.h"
#include "mail/logparse.h"

/* A histogram of microsecond values with a relative error of 1/1024 and
 * the exact smallest value of each bucket, so that a percentile of a few
 * hand-written values comes out exact. */
#define HIST_SUB 1024
#define HIST_OCT 40
#define HIST_N ((HIST_OCT + 1) * HIST_SUB)
struct hist {
	unsigned long long n, max, sum;
	unsigned long long *count;     /* HIST_N, lazily allocated */
	unsigned long long *low;       /* smallest value seen in each bucket */
};

/* Fixed delay classes for the distribution plot (upper bounds, seconds). */
#define DCLASS_N 16
extern const unsigned long logstat_dclass[DCLASS_N];   /* last is "more" */
extern const char *const logstat_dclass_name[DCLASS_N];

/* Time series: NSER buckets of width seconds from origin. */
#define NSER 1440
enum { S_ATTEMPT, S_SUCCESS, S_FAILURE, S_DEFERRAL, S_LPEAK, S_RPEAK, S_LLAST, S_RLAST, S_NUM };
struct series {
	int started;
	long long origin, width;        /* seconds */
	size_t used;                    /* buckets up to the last one touched */
	unsigned v[S_NUM][NSER];
	unsigned char touched[NSER];    /* a status line fell into the bucket */
};

struct hourrow {
	long long start;                /* epoch seconds of the local hour */
	unsigned long long msgs, bytes, attempts, local, remote, success, failure, deferral, bounces;
	unsigned long lpeak, rpeak;
};

struct totals {
	unsigned long long lines, other, nostamp;
	unsigned long long newmsgs, infos, bytes_in;
	unsigned long long completed, comp_rcpts, comp_tries, comp_bytes, comp_sbytes;
	unsigned long long qtime_us, qtime_n;
	unsigned long long attempts, success, failure, deferral;
	unsigned long long local[3], remote[3];   /* success, failure, deferral */
	unsigned long long ddelay_us, xdelay_us;
	unsigned long long bounces, dbounces, tbounces, bounces_unknown;
	unsigned long long bouncemsgs, dbouncemsgs;  /* messages from <> and #@[] */
	unsigned long long alerts, warnings, exits;
	unsigned long long unknown_msg, unknown_del, lost_del, reused_msg, ended_unseen;
	unsigned long long clock_back, clock_neg;
	long long clock_back_max;       /* largest step back, microseconds */
	unsigned long lpeak, rpeak, lmax, rmax;
};

typedef struct logstat {
	idmap msgs, dels;
	struct totals tot;
	int hast;
	long long first, last, maxt;      /* microseconds; last = latest line; maxt = latest ever */
	struct hist qdelay, ddelay;
	unsigned long long dclass[DCLASS_N];
	struct series ser;
	struct hourrow *hours;
	size_t nhours, caphours, hcur;
	long long hlo, hhi, hkey;         /* the local hour cached for hourof() */
	tally failreasons, deferreasons, deferdomains, senders, rdomains, alerts;
	unsigned long cur_l, cur_r;       /* concurrency from the last status line */
} logstat;

/* tally columns */
enum { R_COUNT, R_XDELAY };                        /* failreasons, deferreasons */
enum { SD_MSGS, SD_BYTES, SD_RCPTS, SD_FAIL };     /* senders */
enum { RD_SUCCESS, RD_SBYTES, RD_FAIL, RD_DEFER }; /* rdomains */

int logstat_init(logstat *s, size_t topcap);
/* Account for one parsed line. 0 ok, -1 out of memory. */
int logstat_add(logstat *s, const struct logline *l);
void logstat_free(logstat *s);

/* Nearest-rank percentile p (0-100] of h, microseconds; 0 when empty. */
unsigned long long hist_pct(const struct hist *h, double p);
/* The in-flight messages: how many, and the oldest birth (µs, 0 none). */
size_t logstat_inqueue(const logstat *s, long long *oldest, size_t *nobirth);
/* The reason text as tabled: line ends ('/') at the end dropped, and
 * <...> and long digit runs, which differ per message, replaced. */
void logstat_reason(buf *out, const char *s, size_t n);

#endif
