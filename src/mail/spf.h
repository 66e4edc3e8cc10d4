/* spf: the Sender Policy Framework check (RFC 7208) qmail-smtpd makes at
 * MAIL FROM, through libspf2, with every DNS question going to the servers
 * in control/dnsservers (src/mail/dns.h), never to libspf2's own resolver.
 *
 * The identity checked is the MAIL FROM address; for the null sender <>
 * it is postmaster@ the HELO name (RFC 7208 2.4), and the result is then
 * reported as smtp.helo. libspf2 gives loopback clients a pass without
 * looking at DNS; RFC 7208's limit of two void lookups (4.6.4), which
 * libspf2 does not count, is counted here: a third empty answer makes the
 * result permerror.
 *
 * control/spfpolicy says what qmail-smtpd does with a result:
 *   0  (default) only record it in the Authentication-Results header;
 *   1  also refuse "fail" at MAIL FROM (550 5.7.23);
 *   2  also defer "temperror" (451 4.4.3). */
#ifndef NQ_SPF_H
#define NQ_SPF_H
#include <stddef.h>
#include "lib/buf.h"

enum spf_result {
	SPFR_NONE, SPFR_NEUTRAL, SPFR_PASS, SPFR_FAIL, SPFR_SOFTFAIL,
	SPFR_TEMPERROR, SPFR_PERMERROR
};

#define SPF_POLICY_RECORD 0
#define SPF_POLICY_REFUSE 1
#define SPF_POLICY_DEFER 2

struct spf_check {
	enum spf_result result;
	int helo;        /* 1 the HELO identity was checked (sender <>) */
	buf domain;      /* the domain checked, NUL-terminated */
};

/* Set libspf2 up, receiving host name me (for the %{r} macro). 0 ok, -1
 * with a reason in why. Once per process; spf_check calls it if needed. */
int spf_init(const char *me, buf *why);

/* Check client address ip (text, IPv4 or IPv6), HELO name helo and
 * envelope sender (envelope form, "" for <>). 0 done (out set, a DNS
 * failure being SPFR_TEMPERROR), -1 out of memory or no libspf2. */
int spf_check(const char *ip, const char *helo, const char *sender, struct spf_check *out);

/* The RFC 8601 name of a result: "pass", "fail", ... */
const char *spf_name(enum spf_result r);

/* control/spfpolicy, 0 to 2; -1 unreadable or out of range. */
int spf_policy(void);

#endif
