/* dns: the lookups qmail-remote needs (MX, A, AAAA, TLSA), through the C
 * library's resolver (res_ninit, res_nquery) pointed at the servers named
 * in control/dnsservers.
 *
 * control/dnsservers holds one server per line: "addr" or "addr:port"
 * for IPv4, "addr", "[addr]" or "[addr]:port" for IPv6; at most
 * DNS_SERVERS_MAX are used. Without the file the system's resolv.conf
 * applies. The AD ("authenticated data") bit is believed only from the
 * servers in control/dnsservers (the administrator named them, so they
 * are validating resolvers on a path they trust), or when resolv.conf
 * says "options trust-ad"; glibc strips it otherwise.
 *
 * Every lookup has one of four outcomes:
 *   DNS_FOUND   records of the type asked for (after any CNAME chain);
 *   DNS_NODATA  the name exists but has none of them;
 *   DNS_NX      the name does not exist (NXDOMAIN): a permanent failure;
 *   DNS_SOFT    anything else: timeout, SERVFAIL, REFUSED, a malformed or
 *               truncated answer, no memory: try again later.
 * The resolver retries a truncated UDP answer over TCP by itself.
 *
 * The answer parser is separate from the resolver (dns_parse_*), so it can
 * be tested and fuzzed on any bytes: it trusts nothing in the message,
 * follows CNAME records only from the name asked for (at most
 * DNS_CNAME_MAX links) and keeps at most the DNS_*_MAX first records. */
#ifndef NQ_DNS_H
#define NQ_DNS_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/ipaddr.h"

#define DNS_FOUND 1
#define DNS_NODATA 0
#define DNS_NX (-1)
#define DNS_SOFT (-2)

#define DNS_NAME_MAX 1025      /* a domain name in text form, NUL included */
#define DNS_MX_MAX 64
#define DNS_IP_MAX 64
#define DNS_TLSA_MAX 32
#define DNS_TLSA_DATA_MAX 4096
#define DNS_CNAME_MAX 16
#define DNS_SERVERS_MAX 3      /* glibc's MAXNS */

typedef struct dns_mxrec {
	unsigned pref;
	char name[DNS_NAME_MAX];   /* "" for the root: a null MX (RFC 7505) */
} dns_mxrec;

typedef struct dns_mxlist { size_t n; dns_mxrec mx[DNS_MX_MAX]; } dns_mxlist;
typedef struct dns_iplist { size_t n; ipaddr ip[DNS_IP_MAX]; } dns_iplist;

typedef struct dns_tlsarec {
	unsigned char usage, selector, mtype;
	size_t len;
	unsigned char data[DNS_TLSA_DATA_MAX];
} dns_tlsarec;
typedef struct dns_tlsalist { size_t n; dns_tlsarec t[DNS_TLSA_MAX]; } dns_tlsalist;

/* Set the resolver up from control/dnsservers (or resolv.conf). 0 ok; -1
 * with a reason in why (a malformed dnsservers line, an unreadable file,
 * no resolver). Called once per process, before any lookup. */
int dns_init(buf *why);
/* 1 when the servers in use came from control/dnsservers. */
int dns_configured(void);

/* The lookups. A DNS_SOFT result leaves a short reason in why (may be 0). */
int dns_mx(const char *name, dns_mxlist *out, buf *why);
/* A (family AF_INET) or AAAA (AF_INET6) records, appended to out. */
int dns_ip(const char *name, int family, dns_iplist *out, buf *why);
/* TLSA records; *secure is 1 when the answer carried the AD bit from a
 * server we trust (see above). */
int dns_tlsa(const char *name, dns_tlsalist *out, int *secure, buf *why);

/* The reverse name of ip (d.c.b.a.in-addr.arpa, or the 32 nibbles of
 * an IPv6 address under ip6.arpa) into out (DNS_NAME_MAX bytes). */
void dns_ptr_name(char *out, const ipaddr *ip);
/* The host name a PTR record gives for ip (the first one, after any CNAME
 * chain, as RFC 2317 delegation uses) into out (DNS_NAME_MAX bytes), no
 * final dot. The name is not forward-confirmed: callers that want that
 * look it up with dns_ip and compare. */
int dns_ptr(const ipaddr *ip, char *out, buf *why);

/* Any type (T_TXT, T_PTR, ...) for callers with their own parser (SPF):
 * on DNS_FOUND, *msg and *len are the whole answer, valid until the next
 * lookup. */
int dns_query(const char *name, int type, const unsigned char **msg, size_t *len, buf *why);

/* Parsers of a whole DNS response msg (len bytes) to a query for qname.
 * They return DNS_FOUND, DNS_NODATA or DNS_SOFT (malformed); the header's
 * rcode is not looked at (the resolver did). *ad gets the AD bit. */
int dns_parse_mx(const unsigned char *msg, size_t len, const char *qname, dns_mxlist *out);
int dns_parse_ip(const unsigned char *msg, size_t len, const char *qname, int family, dns_iplist *out);
int dns_parse_tlsa(const unsigned char *msg, size_t len, const char *qname, dns_tlsalist *out, int *ad);
/* The first PTR record's name into out (DNS_NAME_MAX bytes), no final dot. */
int dns_parse_ptr(const unsigned char *msg, size_t len, const char *qname, char *out);

/* Domain names compared as DNS does: ASCII case ignored, one final dot
 * ignored. */
int dns_name_eq(const char *a, const char *b);

#endif
