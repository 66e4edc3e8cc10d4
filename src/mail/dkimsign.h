/* dkimsign: DKIM signatures (RFC 6376) for mail leaving by SMTP, made
 * with libopendkim: RSA-SHA256, and Ed25519-SHA256 (RFC 8463), which the
 * Debian libopendkim 2.11 build supports (DKIM_FEATURE_ED25519).
 *
 * Which mail is ours, and which keys sign it (doc/dkim.5):
 *   - the domain looked at is the From field's; when that is not ours,
 *     the envelope sender's. A message that went through local delivery
 *     (it has a Delivered-To field: a .qmail forward or a list) is judged
 *     by its envelope sender alone, so mail from elsewhere is not signed
 *     as if it were ours, unless control/dkim/signforwards says 1;
 *   - control/dkim/signingtable, when it has a line for the domain,
 *     decides: do not sign, or sign with another domain's keys, or with
 *     one selector only;
 *   - otherwise the domain is ours when control/dkim/DOMAIN/ holds keys:
 *     every SELECTOR.key there signs, one signature each (so an RSA and
 *     an Ed25519 key give the two signatures RFC 8463 suggests).
 * Canonicalisation is relaxed/relaxed. The signature covers the bytes as
 * qmail-remote sends them (src/mail/smtpdata.h: every LF, CR LF or lone
 * CR is a CR LF line end), so the message is read in chunks and memory
 * stays bounded whatever its size. */
#ifndef NQ_DKIMSIGN_H
#define NQ_DKIMSIGN_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"

#define DKIM_KEYS_MAX 8            /* keys (so signatures) per message */
#define DKIM_KEYFILE_MAX 65536     /* bytes in one key file */

typedef struct dkimkey {
	char domain[256];
	char selector[64];
	buf pem;                   /* the private key, PEM */
	int ed25519;               /* 1 Ed25519-SHA256, 0 RSA-SHA256 */
} dkimkey;

/* The signature fields for the message at fd from offset off (read with
 * pread), envelope sender sender, into out: zero or more
 * "DKIM-Signature: ...\n" fields with LF line ends, to be sent before the
 * message. 0 done (out empty: not ours), -1 temporary failure, why says
 * what (a key that cannot be read, out of memory). Control files are
 * the instance's (src/mail/instance.h). */
int dkimsign_message(int fd, off_t off, const char *sender, buf *out, buf *why);

/* The pieces, for tests. */
/* The domain of the first address in a From field's contents (unfolded
 * or not), lower-cased, into d. 0 found, -1 none or not a usable domain. */
int dkimsign_fromdomain(const char *s, size_t n, buf *d);
/* A domain that may name a directory: letters, digits, '-', '.', no
 * empty label. */
int dkimsign_domainok(const char *d);
/* The signing table's decision for domain (and address addr, may be
 * null) in table (NUL-separated lines as control_readlines gives):
 * 0 no line matches; 1 a line matches: *signdom and *sel (may be empty:
 * every key) are set, pointing into table, or *signdom is "-" for "do
 * not sign". */
int dkimsign_table(const buf *table, const char *domain, const char *addr,
                   const char **signdom, size_t *signdomlen, const char **sel, size_t *sellen);
/* Load the keys of control/dkim/DOMAIN/ (only SELECTOR.key when sel is
 * non-empty) into keys; *n how many. 0 ok, -1 error (why). */
int dkimsign_loadkeys(const char *domain, const char *sel, dkimkey *keys, size_t *n, buf *why);
/* Sign the message with keys[0..n) into out, as dkimsign_message. */
int dkimsign_sign(dkimkey *keys, size_t n, int fd, off_t off, buf *out, buf *why);
void dkimsign_freekeys(dkimkey *keys, size_t n);

#endif
