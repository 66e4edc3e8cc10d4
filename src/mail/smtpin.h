/* smtpin: reading what an SMTP client sends (RFC 5321), without any
 * policy: the command verb, the path and parameters of MAIL and RCPT, and
 * the DATA stream. qmail-smtpd decides what to do with the results; the
 * fuzz targets tests/fuzz/fuzz-smtp*.c feed these functions garbage.
 *
 * Paths. "<addr>", "<@route,@route:addr>", a bare addr (qmail accepts one
 * without brackets), "<>". The address comes back in envelope form, as
 * qmail has always stored it: quotes and backslashes removed, so that
 * "\"joe smith\"@host" becomes "joe smith@host", and the source route
 * dropped. The domain is the part after the last '@'. Control characters
 * and NUL are refused everywhere; bytes >= 128 only mark the address as
 * needing SMTPUTF8 (the caller checks the client asked for it).
 *
 * DATA. smtp_data_feed() takes the bytes the client sends after 354, in
 * chunks of any size, and yields the message as the queue stores it:
 * CR LF becomes LF, a leading dot is removed from every line that has one.
 * The message ends only at CR LF "." CR LF (the first line counts as
 * following a CR LF). A LF not preceded by CR, or a CR not followed by LF,
 * is never a line end: it marks the message as bad (SMTP smuggling) and
 * nothing more is produced, but the reader keeps looking for the real end
 * so that the rest of the message is never taken for commands. Likewise
 * a NUL byte, a message longer than the caller's limit, and too many hops
 * (Received: and Delivered-To: fields in the header) mark it bad.
 * The state is a few integers: memory does not depend on the input. */
#ifndef NQ_SMTPIN_H
#define NQ_SMTPIN_H
#include <stddef.h>
#include "lib/buf.h"

#define SMTP_LINE_MAX 4096      /* a command line, CR LF included */
#define SMTP_ADDR_MAX 1000      /* an address in envelope form */
#define SMTP_HOPS_MAX 100       /* qmail's limit: this many hops is a loop */

enum smtp_verb {
	SV_UNKNOWN, SV_HELO, SV_EHLO, SV_MAIL, SV_RCPT, SV_DATA, SV_RSET,
	SV_NOOP, SV_VRFY, SV_EXPN, SV_HELP, SV_QUIT, SV_STARTTLS, SV_AUTH, SV_BDAT
};

/* The verb of the command line s[0..n) (CR LF already removed) and, in
 * *arg, the offset of its argument (blanks after the verb skipped). */
enum smtp_verb smtp_verb(const char *s, size_t n, size_t *arg);

/* Results of smtp_path. */
enum smtp_perr {
	SP_OK = 0,
	SP_SYNTAX,      /* not a path at all */
	SP_PREFIX,      /* "FROM:" or "TO:" missing */
	SP_TOOLONG,     /* longer than SMTP_ADDR_MAX */
	SP_BADCHAR,     /* a control character or NUL */
	SP_NODOMAIN     /* "user@" or "@": an '@' with nothing after it */
};

struct smtp_path {
	buf addr;       /* envelope form, NUL-terminated; empty for <> */
	int utf8;       /* holds bytes >= 128 */
	size_t params;  /* offset in the argument where parameters start */
};

/* Parse the argument of MAIL (prefix "FROM:") or RCPT ("TO:") in
 * s[0..n). On SP_OK, p->addr and p->params are set. -1: out of memory. */
int smtp_path(const char *s, size_t n, const char *prefix, struct smtp_path *p);

/* Iterate the parameters "KEY[=VALUE]" separated by blanks, from *pos in
 * s[0..n). 1 one more (key and value point into s; *vl is 0 when there
 * is no '='), 0 none left, -1 a malformed parameter. */
int smtp_param(const char *s, size_t n, size_t *pos,
               const char **key, size_t *kl, const char **val, size_t *vl);

/* The DATA reader. */
enum smtp_dstate { SD_BOL, SD_DOT, SD_DOTCR, SD_TEXT, SD_CR, SD_END };

#define SD_BARELF  1    /* a LF without CR */
#define SD_BARECR  2    /* a CR without LF */
#define SD_NUL     4
#define SD_TOOBIG  8
#define SD_HOPS   16

struct smtp_data {
	enum smtp_dstate st;
	int bad;                  /* SD_* flags; nothing is output once set */
	unsigned long long size;  /* bytes output (as stored, LF line ends) */
	unsigned long long max;   /* limit on size, 0 none */
	int inheader;             /* still in the header */
	int hops;                 /* Received: and Delivered-To: fields seen */
	size_t col;               /* column in the current line (header only) */
	int cand;                 /* the line may still be a hop field */
	char head[14];            /* its first bytes, lowercased */
};

void smtp_data_init(struct smtp_data *d, unsigned long long max);
/* Consume bytes from p[0..n), appending output to out. Returns the number
 * of bytes consumed: fewer than n only when the end of the message was
 * reached (d->st == SD_END), the rest belonging to what follows.
 * -1: out of memory (out's growth failed). */
long long smtp_data_feed(struct smtp_data *d, const char *p, size_t n, buf *out);

#endif
