/* dmarc: DMARC (RFC 7489) for a message qmail-smtpd has received, from
 * its From field, its SPF result and its DKIM results, with libopendmarc
 * reading the policy record and choosing the policy that applies (p= or
 * sp=), and what control/dmarcpolicy says we do about a failure.
 *
 * Policy discovery: the TXT record at _dmarc.FROMDOMAIN, else at
 * _dmarc.ORGDOMAIN (the Organizational Domain, src/mail/orgdomain.h),
 * asked of control/dnsservers (src/mail/dnstxt.h), never of
 * libopendmarc's resolver. Of the records there, those that begin with
 * "v=DMARC1" count; none or several means no policy. A record found at
 * the Organizational Domain for a From domain below it applies its sp=
 * (or its p= when it has no sp=).
 *
 * Alignment (RFC 7489 3.1) is decided here, with orgdomain_aligned():
 * the SPF identity (MAIL FROM's domain, or HELO's for <>) when SPF passed,
 * and the d= of each DKIM signature that passed, against the From
 * domain, strict or relaxed as adkim= and aspf= say. (libopendmarc 1.4
 * aligns with its own copy of the public suffix list, which does not know
 * the implicit "*" rule and aligns a public suffix with anything under
 * it, so only identifiers we found aligned are handed to it.) pct= is
 * honoured: a failing message not selected by it gets the next milder
 * policy, as RFC 7489 6.6.4 says.
 *
 * The result, for the Authentication-Results field:
 *   pass       an aligned identifier passed;
 *   fail       none did, and the domain has a policy (the comment says
 *              which, p=..., and what we did, dis=...);
 *   none       no policy record;
 *   temperror  the record could not be fetched for now;
 *   permerror  the record is malformed, or the message has no usable
 *              From domain, more than one From field, or a header too
 *              large to keep in memory (SPOOL_MEM_MAX).
 *
 * control/dmarcpolicy says what a failure leads to:
 *   none        (default; also "record", or no file) only record it;
 *   quarantine  a failure under p=quarantine or p=reject gets the
 *               header field "X-DMARC-Quarantine: yes" (DMARC_QFIELD);
 *   reject      a failure under p=reject is refused (550 5.7.1), one
 *               under p=quarantine gets the header field. */
#ifndef NQ_DMARC_H
#define NQ_DMARC_H
#include <stddef.h>
#include "lib/buf.h"
#include "mail/authres.h"
#include "mail/dkimverify.h"

#define DMARC_QFIELD "X-DMARC-Quarantine: yes\n"

enum dmarc_enforce { DMARC_RECORD = 0, DMARC_QUARANTINE = 1, DMARC_REJECT = 2 };
enum dmarc_action { DMARC_ACCEPT = 0, DMARC_DO_QUARANTINE = 1, DMARC_DO_REJECT = 2 };

struct dmarc_in {
	const char *hdr;        /* the message's header (LF line ends), 0 when
	                           it was too large to keep */
	size_t hdrlen;
	const char *ip;         /* the client's address */
	const char *spfdomain;  /* the domain SPF checked, or 0 */
	int spfpass;            /* 1 SPF said pass for it */
	const dkimv *dkim;      /* the DKIM results, or 0 */
	int enforce;            /* control/dmarcpolicy */
};

struct dmarc_out {
	const char *result;     /* "pass", "fail", "none", "temperror", "permerror" */
	const char *why;        /* a comment when there is no policy to name */
	char from[256];         /* header.from, "" when none */
	const char *policy;     /* the policy that applied: "none", "quarantine", "reject", 0 */
	int action;             /* enum dmarc_action */
};

/* control/dmarcpolicy as enum dmarc_enforce; -1 unreadable or unknown. */
int dmarc_policy(void);
/* The From fields of header h[0..n): how many there are; the domain of
 * the first address of the first one, lower-cased, into dom (empty when
 * it has none usable). -1 out of memory. */
int dmarc_fromdomain(const char *h, size_t n, buf *dom);
/* Evaluate. 0 done (out set), -1 out of memory. */
int dmarc_check(const struct dmarc_in *in, struct dmarc_out *out);
/* Add the dmarc= result to a. -1 out of memory. */
int dmarc_authres(const struct dmarc_out *o, struct authres *a);

#endif
