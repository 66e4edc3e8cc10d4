/* dnstxt: TXT records (the DKIM key records, RFC 6376 3.6.2, and the
 * DMARC policy records, RFC 7489 6.1), looked up through dns_query()
 * (so through control/dnsservers, src/mail/dns.h) and taken out of the
 * answer with the same care as dns.c takes MX and TLSA records.
 *
 * A TXT record is one or more character-strings; as RFC 6376 and 7489
 * say, they are joined without anything between them. The records come
 * back NUL-separated in one buffer: a record holding a NUL byte is
 * dropped (it cannot be a key or a policy), at most DNSTXT_RECORDS_MAX
 * records are kept, and a record longer than DNSTXT_LEN_MAX is dropped. */
#ifndef NQ_DNSTXT_H
#define NQ_DNSTXT_H
#include <stddef.h>
#include "lib/buf.h"

#define DNSTXT_RECORDS_MAX 16
#define DNSTXT_LEN_MAX 8192

/* The TXT records (class IN) in the answer msg[0..len), appended to out
 * (each NUL-terminated); *n how many. 0 ok, -1 malformed answer, -2 out
 * of memory. */
int dnstxt_parse(const unsigned char *msg, size_t len, buf *out, size_t *n);

/* Look name up: DNS_FOUND (out, *n set, *n may be 0 when no record was
 * usable), DNS_NODATA, DNS_NX or DNS_SOFT (why says what, may be 0). */
int dnstxt_lookup(const char *name, buf *out, size_t *n, buf *why);

#endif
