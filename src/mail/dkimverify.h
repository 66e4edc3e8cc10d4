/* dkimverify: checking the DKIM signatures (RFC 6376, and Ed25519-SHA256
 * of RFC 8463) of a message qmail-smtpd receives, with libopendkim, while
 * the message arrives: the bytes are fed as they come, so nothing is read
 * twice and memory does not grow with the body.
 *
 * Public keys are TXT records at SELECTOR._domainkey.DOMAIN, asked of the
 * servers in control/dnsservers (src/mail/dnstxt.h), never through
 * libopendkim's own resolver. At most DKIMV_SIGS_MAX signatures of a
 * message are checked (each costs a DNS lookup); later ones are ignored.
 * libopendkim keeps the whole header in memory, so a header longer than
 * DKIMV_HEADER_MAX is not verified (the result says so).
 *
 * Each signature gets one RFC 8601 result:
 *   pass       the signature and the body hash verify;
 *   fail       the key was found but the signature or the body hash
 *              does not verify (a changed header or body, a wrong key);
 *   temperror  the key could not be fetched for now (a DNS failure);
 *   permerror  it never will verify as it is: no key record, a key
 *              record that is broken or revoked, an expired signature
 *              (x= in the past) or one dated in the future;
 *   policy     it verifies by the RFC, but not by our rules: a key
 *              shorter than 1024 bits;
 *   neutral    the signature field itself cannot be parsed.
 * A message without any signature gets one "dkim=none". */
#ifndef NQ_DKIMVERIFY_H
#define NQ_DKIMVERIFY_H
#include <stddef.h>
#include "lib/buf.h"
#include "mail/authres.h"

#define DKIMV_SIGS_MAX 8
#define DKIMV_HEADER_MAX (256 * 1024)   /* = SPOOL_MEM_MAX: DMARC reads it there */

struct dkimv_sig {
	char domain[256];       /* d=, lower-cased; "" when unknown */
	char selector[128];     /* s= */
	char b[24];             /* the start of b= that tells it apart */
	const char *result;     /* "pass", "fail", ... as above */
	const char *why;        /* a short comment, or 0 */
	int soft;               /* the key lookup failed for now */
};

typedef struct dkimv {
	void *h;                /* libopendkim's handle, 0 once finished */
	int on;                 /* feeding: 0 once the result is known */
	int inheader, bol;
	int name;               /* bytes of "dkim-signature" matched, -1 none */
	int sawsig;             /* the header has a DKIM-Signature field */
	int syntax;             /* libopendkim could not parse the header */
	unsigned long long hdr; /* header bytes so far */
	const char *none;       /* the result when no signature got one */
	const char *nonewhy;
	size_t n;               /* signatures with a result */
	struct dkimv_sig sig[DKIMV_SIGS_MAX];
	buf crlf;               /* the chunk with CR LF line ends */
} dkimv;

/* Begin a message. 0 ok, -1 libopendkim cannot be started (the message
 * then gets dkim=temperror: the check did not happen). */
int dkimv_start(dkimv *v);
/* The message's next bytes, as the queue stores them (LF line ends).
 * 0 ok, -1 out of memory. */
int dkimv_feed(dkimv *v, const char *p, size_t n);
/* The message is complete: decide every signature's result. */
void dkimv_end(dkimv *v);
/* Add the results to a: one dkim= per signature, or one dkim=none.
 * -1 out of memory. */
int dkimv_authres(const dkimv *v, struct authres *a);
void dkimv_free(dkimv *v);

#endif
