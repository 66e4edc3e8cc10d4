/* tlsrpt: SMTP TLS Reporting (RFC 8460) for mail we send: what happened
 * to each SMTP session with a domain that has an MTA-STS policy, counted
 * per day, and the daily aggregate report built from the counts.
 *
 * Counting: qmail-remote appends one line per session (and per failed
 * policy discovery) to DIR/queue/mtasts/tlsrpt.YYYY-MM-DD (the UTC day),
 *     "v1 POLICYTYPE DOMAIN RESULT MXHOST RECEIVINGIP SENDINGIP\n"
 * POLICYTYPE being "sts" or "no-policy-found", RESULT "success" or an RFC
 * 8460 result type ("starttls-not-supported", "certificate-host-mismatch",
 * "certificate-not-trusted", "validation-failure", "sts-policy-fetch-error",
 * "sts-policy-invalid", "sts-webpki-invalid"), unknown fields "-". Each
 * line is one write() to a file opened with O_APPEND and is much shorter
 * than PIPE_BUF, so concurrent qmail-remote processes never interleave
 * within a line. A line that does not parse is skipped when reporting.
 *
 * Reporting (qmail-tlsrpt(8)): for one domain and one day, the JSON
 * object of RFC 8460 section 4.4 (organization-name, date-range,
 * contact-info, report-id, policies with summary and failure-details). */
#ifndef NQ_TLSRPT_H
#define NQ_TLSRPT_H
#include <stddef.h>
#include <time.h>
#include "lib/buf.h"

#define TLSRPT_LINE_MAX 1024     /* a count line, newline included */
#define TLSRPT_DETAILS_MAX 1000  /* distinct failure-details kept per policy */
#define TLSRPT_FILE_MAX (64UL * 1024 * 1024)   /* a day's counts read at most */

/* "YYYY-MM-DD" of t (UTC) into day (11 bytes). */
void tlsrpt_day(time_t t, char day[11]);
/* 0 when day is a valid "YYYY-MM-DD"; *start gets its first second. */
int tlsrpt_dayscan(const char *day, time_t *start);

/* Append one count to today's file. Best effort: a failure to count is
 * never a failure to deliver. Any field may be 0 ("-" is written). */
void tlsrpt_record(const char *ptype, const char *domain, const char *result,
                   const char *mx, const char *rip, const char *sip);

/* Call f once per domain of a day's counts (text[0..n)), in sorted
 * order, with the domain (lower case; only names mtasts_domain accepts)
 * and that domain's count lines alone (lines[0..len), each ending with a
 * newline): one sort, not one scan of the whole day per domain. 0, or -1
 * out of memory, or the first non-zero value f returned. */
typedef int tlsrpt_fn(void *ctx, const char *domain, const char *lines, size_t len);
int tlsrpt_split(const char *text, size_t n, tlsrpt_fn *f, void *ctx);

typedef struct tlsrpt_meta {
	const char *org;         /* organization-name and the report's submitter */
	const char *contact;     /* contact-info */
	const char *day;         /* "YYYY-MM-DD" */
	const char *policy;      /* the cached MTA-STS policy text, or 0 */
	size_t policylen;
} tlsrpt_meta;

/* The RFC 8460 JSON report for domain from a day's counts into json
 * (m->day must be a valid day: tlsrpt_dayscan)
 * (replaced). 0 ok (*sessions: how many sessions it covers), -1 no memory. */
int tlsrpt_json(const char *text, size_t n, const char *domain, const tlsrpt_meta *m, buf *json, unsigned long *sessions);

/* One TXT record s[0..n) of _smtp._tls.DOMAIN: 1 a TLSRPTv1 record, its
 * mailto: addresses (decoded, without any "?query") NUL-separated into
 * mailto, *other the number of other (https:) addresses; 0 not a
 * TLSRPTv1 record; -1 a malformed one. */
int tlsrpt_rua(const char *s, size_t n, buf *mailto, size_t *nmail, size_t *other);

#endif
