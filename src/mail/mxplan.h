/* mxplan: where qmail-remote sends a message for a host: the addresses
 * to try, in order, and the port (qmail-remote(8), qmail-control(5)).
 *
 * 1. A route: control/authsenders (for the envelope sender: the whole
 *    address, then "@domain") and then control/smtproutes (the host, then
 *    each parent suffix starting with a dot, longest first, then the empty
 *    catch-all; first match wins) may name a relay, "relay" or
 *    "relay:port", the relay being a name or a bracketed address
 *    ("[192.0.2.1]", "[2001:db8::1]:2525"). An empty relay means "look the
 *    MX records up as usual" and ends the search.
 * 2. With a relay, its addresses (AAAA then A) are the plan, and our own
 *    addresses are not excluded (a relay on this host is deliberate).
 * 3. Otherwise the host's MX records, lowest preference first, equal ones
 *    in random order, each exchanger's AAAA then A addresses; without MX
 *    records the host's own addresses at preference 0 (the implicit MX).
 *    A null MX (one record, exchanger ".", RFC 7505) fails permanently.
 *    A host "[address]" is that address.
 * 4. qmail's rule against loops: when one of the addresses is ours
 *    (src/mail/ipme.h), it and every address of equal or worse
 *    preference are dropped; nothing left is qmail's #5.4.6 failure.
 * Failures carry qmail's texts: a host that does not exist #5.1.2, no
 * exchanger or address #5.4.4 (both permanent), a DNS failure #4.1.2
 * (temporary). */
#ifndef NQ_MXPLAN_H
#define NQ_MXPLAN_H
#include "lib/buf.h"
#include "lib/cmap.h"
#include "lib/ipaddr.h"
#include "mail/dns.h"

#define PLAN_ADDR_MAX 64
#define PLAN_HOST_MAX 32

typedef struct mxroutes {
	buf routes, senders;
	cmap mroutes, msenders;
} mxroutes;
#define MXROUTES_INIT {BUF_INIT, BUF_INIT, CMAP_INIT, CMAP_INIT}

/* Read control/smtproutes and control/authsenders. 0 ok, -1 (errno,
 * *what names the file). */
int mxroutes_load(mxroutes *r, const char **what);

typedef struct mxroute {
	int found;          /* 0: no route, deliver by MX */
	int bysender;       /* 1: from authsenders */
	char key[DNS_NAME_MAX];   /* the matching sender key ("a@b", "@b") when bysender */
	char relay[DNS_NAME_MAX]; /* name, or the address without brackets */
	int literal;        /* relay is an address */
	unsigned port;      /* 0: the default */
} mxroute;

/* The route for a message from sender to host. 0 ok, -1 a malformed
 * route line (why says which). */
int mxroutes_find(const mxroutes *r, const char *sender, const char *host, mxroute *out, buf *why);

typedef struct mxplan_addr {
	ipaddr ip;
	unsigned pref;
	size_t host;        /* index into hosts: the exchanger's name */
} mxplan_addr;

typedef struct mxplan {
	unsigned port;
	int relay;          /* the addresses come from a route */
	size_t nhosts, n;
	char hosts[PLAN_HOST_MAX][DNS_NAME_MAX];
	mxplan_addr a[PLAN_ADDR_MAX];
} mxplan;

#define PLAN_OK 0
#define PLAN_TEMP 1      /* why: the report text, ends with "(#4.x.y)" */
#define PLAN_PERM 2      /* why: likewise "(#5.x.y)" */

/* Build the plan for host with route rt (rt->found 0: by MX). dns_init
 * and ipme_init must have been called. */
int mxplan_make(mxplan *p, const char *host, const mxroute *rt, unsigned defport, buf *why);

/* The MX ordering rule alone (sorted by preference, equal ones shuffled
 * with the random bits in seed), for tests. */
void mxplan_order(dns_mxlist *l, unsigned long seed);

#endif
