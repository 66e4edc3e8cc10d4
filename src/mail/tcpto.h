/* tcpto: the table of remote hosts that did not answer a connection in
 * time, DIR/queue/lock/tcpto (qmail-tcpto(8) shows it, qmail-tcpok(8)
 * empties it).
 *
 * qmail-remote consults it before connecting: an address that timed out
 * twice or more, the last time less than about an hour ago (3840 to 5824
 * seconds, varied per process so that not every delivery retries at the
 * same moment), is skipped; the next address is tried instead. A timeout
 * adds to the address's count (at most once per two minutes, so many
 * deliveries failing at once count once); a connection that succeeds
 * sets the count back to zero.
 *
 * The file is a sequence of TCPTO_REC-byte records, read and written under
 * an exclusive lock on the file itself:
 *     [0] family: 4 or 6 (0: a free record)   [1] recent timeouts (0..10)
 *     [2..8) zero   [8..16) time of the last timeout, seconds, little-endian
 *     [16..32) the address (IPv4 in the first 4 bytes)
 * An empty or short file is valid: missing records are free. So emptying
 * the file (qmail-tcpok) means "no host is known to time out". At most
 * TCPTO_N records are kept; when all are used the oldest is replaced. */
#ifndef NQ_TCPTO_H
#define NQ_TCPTO_H
#include <time.h>
#include "lib/ipaddr.h"

#define TCPTO_REC 32
#define TCPTO_N 128

/* 1: skip ip for now; 0: try it (also when the table cannot be read). */
int tcpto_skip(const ipaddr *ip, time_t now);
/* After a connection attempt to ip: timedout 1 when it timed out, 0 when
 * it connected. Failures to update the table are ignored (it is advice). */
void tcpto_record(const ipaddr *ip, int timedout, time_t now);

typedef struct tcpto_ent { ipaddr ip; unsigned errors; time_t when; } tcpto_ent;
/* Every entry with a count above zero, into out (at most TCPTO_N); returns
 * how many, or -1 when the file cannot be opened, locked or read (errno). */
int tcpto_list(tcpto_ent *out);
/* Empty the table. 0 ok, -1 (errno). */
int tcpto_clear(void);

#endif
