/* ipme: the addresses of this host, for qmail-remote's rule that a mail
 * exchanger which is ourselves (and every exchanger of equal or worse
 * preference) must not be used: we would talk to ourselves in a loop.
 *
 * They are the addresses of every network interface (getifaddrs), plus
 * the unspecified addresses 0.0.0.0 and :: (a connection to them reaches
 * this host), plus any listed one per line in control/moreipme; minus
 * those listed in control/notipme (an address that is ours but reaches
 * another MTA, e.g. through a NAT). */
#ifndef NQ_IPME_H
#define NQ_IPME_H
#include "lib/buf.h"
#include "lib/ipaddr.h"

/* Read the list. 0 ok, -1 (errno; *what names the source that failed). */
int ipme_init(const char **what);
/* 1 when ip is one of ours, 0 when not. ipme_init must have succeeded. */
int ipme_is(const ipaddr *ip);

#endif
