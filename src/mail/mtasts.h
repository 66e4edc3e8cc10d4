/* mtasts: SMTP MTA Strict Transport Security (RFC 8461) for qmail-remote:
 * whether a recipient domain asks that mail reach it only over TLS with a
 * certificate valid for an exchanger it lists.
 *
 * Discovery: the TXT record "_mta-sts.DOMAIN" (through src/mail/dns.h, so
 * control/dnsservers, never the system resolver) holds "v=STSv1; id=...";
 * the policy itself is https://mta-sts.DOMAIN/.well-known/mta-sts.txt,
 * fetched with libcurl (src/mail/mtastsfetch.c): HTTPS only, the server's
 * certificate checked against the system store (or control/mtastscafile),
 * no redirects, at most MTASTS_BODY_MAX bytes, within a timeout, media type
 * text/plain. The host's address comes from our DNS and is handed to curl,
 * which therefore never resolves a name itself.
 *
 * The policy: "version: STSv1", "mode: enforce|testing|none",
 * "max_age: seconds" (at most 31557600) and "mx: pattern" lines, a pattern
 * being a name or "*.name" (one leading label of any value).
 *
 * Cache (RFC 8461 section 5.1): one file per domain, DIR/queue/mtasts/
 * policy.DOMAIN, written atomically, holding when it was fetched, the TXT
 * id it was fetched for and the policy's text. A cached policy is used
 * until max_age has passed; it is fetched again when the TXT id changes
 * or when it is older than MTASTS_REFRESH (or half its max_age), and a
 * refresh that fails keeps the cached policy. Without a TXT record (or
 * when DNS fails) an unexpired cached policy still applies. After a
 * failed refresh the cache is used without trying again for MTASTS_RETRY
 * seconds (the file's mtime records the failure).
 *
 * control/mtasts: "on" (the default) or "off"; off means no lookups and no
 * enforcement. control/mtastscafile: a PEM file of trust anchors used
 * instead of the system store, both for the policy fetch and for checking
 * the exchangers' certificates under MTA-STS (meant for tests and private
 * deployments).
 *
 * Enforcement, for a message to DOMAIN sent by MX (not through an
 * smtproutes relay, which the domain's policy does not cover):
 *   enforce  only exchangers matching an mx pattern are used, and only
 *            over TLS with a certificate verified for the exchanger's name
 *            (tlsdestinations' "verify" at least); otherwise the delivery
 *            is deferred (#4.7.5);
 *   testing  delivery as control/tlsdestinations says; what enforce would
 *            have refused is counted for TLS-RPT (src/mail/tlsrpt.h);
 *   none     nothing.
 * MTA-STS only ever tightens control/tlsdestinations: the stricter wins. */
#ifndef NQ_MTASTS_H
#define NQ_MTASTS_H
#include <stddef.h>
#include <time.h>
#include "lib/buf.h"
#include "lib/tls.h"
#include "mail/tlsdest.h"

#define MTASTS_BODY_MAX 65536          /* bytes of policy accepted */
#define MTASTS_MAXAGE_MAX 31557600UL   /* RFC 8461: about a year */
#define MTASTS_MX_MAX 64               /* mx patterns kept */
#define MTASTS_ID_MAX 32               /* characters of a TXT id */
#define MTASTS_REFRESH 86400           /* a cached policy is refetched daily */
#define MTASTS_TIMEOUT 60              /* seconds for the whole fetch */
#define MTASTS_RETRY 300               /* after a failed refresh, the cache is
                                          used this long before trying again */
#define MTASTS_DIR "queue/mtasts"      /* relative to the instance */

enum { MTASTS_NONE, MTASTS_TESTING, MTASTS_ENFORCE };

typedef struct mtasts_policy {
	int mode;                       /* MTASTS_NONE, _TESTING, _ENFORCE */
	unsigned long max_age;
	size_t nmx;
	buf mx;                         /* nmx patterns, each NUL-terminated, lower case */
	buf text;                       /* the policy as fetched */
	char id[MTASTS_ID_MAX + 1];     /* the TXT id it was fetched for */
	time_t fetched;
	char domain[256];               /* the policy domain, lower case */
	const char *fail;               /* a TLS-RPT result type when discovery
	                                   failed ("sts-policy-fetch-error", ...), else 0 */
	int mxbad;                      /* testing mode: this exchanger does not match */
} mtasts_policy;
#define MTASTS_POLICY_INIT {MTASTS_NONE, 0, 0, BUF_INIT, BUF_INIT, "", 0, "", 0, 0}

void mtasts_free(mtasts_policy *p);

/* Parse a policy body s[0..n). 0 ok (p's mode, max_age, mx, text set),
 * -1 invalid, with a reason in why (may be 0). */
int mtasts_parse(const char *s, size_t n, mtasts_policy *p, buf *why);

/* One TXT record s[0..n) of _mta-sts: 1 a valid STSv1 record (id copied),
 * 0 not an STSv1 record (another TXT record: ignored), -1 an STSv1 record
 * that is malformed. */
int mtasts_txt(const char *s, size_t n, char id[MTASTS_ID_MAX + 1]);

/* 1 when the exchanger name mx matches pattern (RFC 8461 section 4.1:
 * equal ignoring case and one final dot, or "*.rest" and mx is one label
 * followed by ".rest"). */
int mtasts_match(const char *pattern, const char *mx);
/* 1 when mx matches one of p's patterns. */
int mtasts_mx_ok(const mtasts_policy *p, const char *mx);

/* A policy domain as a safe file name part: lower case letters, digits,
 * '-', '_' and '.', no empty label; the result in out (at most 255
 * bytes and a NUL). 0 ok, -1 not a name we look policies up for (an
 * address literal, a name with other bytes). */
int mtasts_domain(const char *domain, char out[256]);

/* The cache file's text: "fetched id\n" then the policy body, and back.
 * mtasts_cache_parse returns 0 ok, -1 a damaged file. */
int mtasts_cache_fmt(const mtasts_policy *p, buf *out);
int mtasts_cache_parse(const char *s, size_t n, mtasts_policy *p);

/* 1 when control/mtasts says on (the default), 0 off, -1 unreadable or
 * neither word. */
int mtasts_enabled(void);
/* control/mtastscafile's first line (0 when absent: the system store);
 * valid until the next call. */
const char *mtasts_cafile(void);

/* The policy that applies to mail for domain, discovered or cached as
 * described above (dns_init must have been called). 1: p holds a policy
 * in mode testing or enforce; 0: no policy applies (none found, mode none,
 * discovery failed without a cached policy, or MTA-STS is off), p->fail
 * then naming a discovery failure if there was one and why saying more
 * (RFC 8461: a sender without a policy delivers as usual); -1: control/
 * mtasts or control/mtastscafile cannot be read or control/mtasts is
 * neither on nor off (why): the caller defers, as for any control file. */
int mtasts_get(const char *domain, mtasts_policy *p, buf *why);

/* The HTTPS fetch alone (src/mail/mtastsfetch.c): the policy body for
 * domain into body. 0 ok; -1 with *rtype a TLS-RPT result type and a
 * reason in why. */
int mtasts_fetch(const char *domain, buf *body, const char **rtype, buf *why);

/* ---- qmail-remote's hooks (src/mail/mtastsout.c) ------------------------------ */

/* Once per message, after control/tlsdestinations gave pol: the policy
 * for the recipient domain, unless the message is routed to a relay
 * (routed non-zero). Under enforce, pol is raised to "verify" when it is
 * weaker (none, may, encrypt), with control/mtastscafile as trust store
 * when there is one; dane and dane-only stay (see mtasts_verify). A
 * policy that could not be discovered is counted for TLS-RPT. Returns 1
 * a policy applies, 0 none, -1 a control file is bad: defer (why). */
int mtasts_begin(mtasts_policy *p, const char *domain, int routed, tlspolicy *pol, buf *why);

/* Before connecting to an address of exchanger mx: 1 use it, 0 skip it
 * (enforce, mx not in the policy; why holds the #4.7.5 text, and the
 * refusal is counted). Under testing a mismatch is only remembered for
 * mtasts_tls. */
int mtasts_mx(mtasts_policy *p, const char *mx, buf *why);

/* 1 when this session must use TLS with a certificate verified for the
 * exchanger's name because of the policy: enforce, and the exchanger is
 * not authenticated by DANE instead (dane: it has secure TLSA records
 * and DANE is used; RFC 8461 section 2 lets DANE take precedence). */
int mtasts_verify(const mtasts_policy *p, int dane);

/* After the TLS step of a session with exchanger mx at address rip on
 * socket fd: conn the TLS connection (0: no TLS, because STARTTLS was not
 * offered, tlserr 0, or the handshake failed, tlserr its reason). Counts
 * the session for TLS-RPT (success, or the failure's result type; under
 * testing the certificate is checked here, since the handshake did not
 * check it). Returns 0 go on, -1 the session must not go on (enforce and
 * the peer not verified; why holds the #4.7.5 text). */
int mtasts_tls(mtasts_policy *p, tls *conn, const char *mx, int dane, const char *rip, int fd,
               const char *tlserr, buf *why);

#endif
