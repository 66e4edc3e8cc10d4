/* srs: the Sender Rewriting Scheme, in the SRS0/SRS1 form that libsrs2
 * and postsrsd use, so that addresses we make are understood by their
 * tools and theirs by ours.
 *
 * When a .qmail file forwards a message to another domain, the receiver
 * checks SPF for the envelope sender's domain against our address and
 * fails it. So the forwarded copy gets a sender in our SRS domain that
 * encodes the original one, and a bounce sent back to it is decoded and
 * passed on (srsreverse(8)):
 *
 *   user@orig.example        -> SRS0=HHHH=TT=orig.example=user@SRSDOMAIN
 *   SRS0=hhhh=tt=o.example=u@hop1.example (someone else's)
 *                            -> SRS1=HHHH=hop1.example==hhhh=tt=o.example=u@SRSDOMAIN
 *   SRS1=xxxx=hop1.example==rest@elsewhere (a further hop)
 *                            -> SRS1=HHHH=hop1.example==rest@SRSDOMAIN
 *
 * TT is the day number (seconds since the epoch / 86400) modulo 1024 in
 * two base32 characters (A-Z2-7); HHHH the first four base64 characters
 * (standard alphabet) of HMAC-SHA1(secret, lowercase of the fields, run
 * together): for SRS0 TT, domain and user; for SRS1 the first hop and
 * the rest after "SRS0". Reversal compares hashes without regard to
 * case (mail systems fold local parts), tries every secret, and refuses
 * an SRS0 stamp older than maxage days (SRS1 carries no stamp: the first
 * hop checks its own). The separator after the tag may be '=', '+' or
 * '-' on input; we write '='.
 *
 * Configuration, read by srs_load() (qmail-control(5) style files):
 *   control/srsdomain   the domain of our SRS addresses; missing or empty:
 *                       SRS is off (nothing is rewritten, nothing checked)
 *   control/srs         secrets, one a line; the first signs, every one
 *                       verifies (rotation: put the new one first, drop
 *                       the old one after maxage days). Needed when
 *                       srsdomain is set. Mode 0640 root:nofiles in a
 *                       root instance: read by root (qmail-lspawn, before
 *                       it becomes the recipient), qmaild (qmail-smtpd's
 *                       RCPT check) and alias (srsreverse).
 *   control/srsmaxage   days an SRS0 address stays valid; default 21. */
#ifndef NQ_SRS_H
#define NQ_SRS_H
#include <stddef.h>
#include <time.h>
#include "lib/buf.h"
#include "mail/route.h"

#define SRS_HASHLEN 4
#define SRS_MAXAGE_DEFAULT 21
#define SRS_ADDR_MAX 1000      /* longest address rewritten or reversed */

struct srs_cfg {
	buf domain;                /* control/srsdomain, lower case; empty: off */
	buf secrets;               /* control/srs: NUL-terminated lines */
	unsigned long maxage;      /* days */
};

#define SRS_CFG_INIT {BUF_INIT, BUF_INIT, SRS_MAXAGE_DEFAULT}

/* Results of srs_reverse() and srs_check(). */
#define SRS_OK 0
#define SRS_NOTSRS 1           /* not an SRS address at all */
#define SRS_BADFORM 2          /* SRS tag, but fields missing or malformed */
#define SRS_BADHASH 3          /* no secret gives this hash: forged */
#define SRS_EXPIRED 4          /* the time stamp is older than maxage */
#define SRS_NOSECRET 5         /* srsdomain set, control/srs empty */

/* Read the three control files into c (which must be SRS_CFG_INIT or
 * freed). 1 SRS is on, 0 off (no srsdomain), -1 error with errno and
 * *what naming the file. */
int srs_load(struct srs_cfg *c, const char **what);
/* Only the domain (is SRS on, and is this address ours?): 1, 0, -1. */
int srs_load_domain(struct srs_cfg *c);
void srs_free(struct srs_cfg *c);

/* The SRS form of sender for a forwarded copy, into out (NUL-terminated).
 * 1 rewritten; 0 not to be rewritten (SRS off, the null sender, "#@[]",
 * no '@', a sender at the SRS domain itself, one that rt says is ours
 * (rt may be 0), one too long); -1 out of memory or no secret. */
int srs_forward(buf *out, const struct srs_cfg *c, const route *rt, const char *sender, time_t now);

/* Decode the local part local[0..len) of an address at our SRS domain
 * into out (NUL-terminated address): SRS_OK or another SRS_ result, -1
 * out of memory. */
int srs_reverse(buf *out, const struct srs_cfg *c, const char *local, size_t len, time_t now);

/* For an envelope recipient addr[0..len): SRS_NOTSRS when it is not at
 * the SRS domain or has no SRS tag, else what srs_reverse says. */
/* Whether the local part s[0..n) starts as an SRS0 or SRS1 address
 * does: a test that needs no control file. */
int srs_tagged(const char *s, size_t n);
int srs_check(const struct srs_cfg *c, const char *addr, size_t len, time_t now);

/* A short text for an SRS_ result. */
const char *srs_why(int r);

/* Pieces exposed for tests: the hash of the fields (each with its length)
 * under secret, and the two-character time stamp of day number day. */
int srs_hash(char out[SRS_HASHLEN], const char *secret, size_t slen,
             const char *const *f, const size_t *flen, size_t nf);
void srs_stamp(char out[2], unsigned long day);

#endif
