/* header: the header of a mail message as qmail-header(5) describes it.
 *
 * A header is a series of fields "Name: contents", each possibly folded
 * over several lines (a continuation line begins with a space or tab),
 * ended by an empty line. This file knows what a field name may contain,
 * which fields qmail treats specially, how to unfold a field, how to read
 * a header from a stream with bounded memory, and how to write the fields
 * qmail-inject creates (Date, Message-ID).
 *
 * Line ends: input lines ending in CR LF are taken as ending in LF (the
 * queue stores LF only), in the header and, through header_lf_put(), in
 * the body; a CR not followed by LF is kept. */
#ifndef NQ_HEADER_H
#define NQ_HEADER_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "lib/buf.h"
#include "lib/io.h"

#define HEADER_FIELD_MAX (256 * 1024)   /* one field, continuation lines included */
#define HEADER_MAX (1024 * 1024)        /* the whole header as read */

/* The fields qmail-inject looks at (qmail-header(5)). */
enum header_kind {
	H_OTHER,
	H_TO, H_CC, H_BCC, H_APPARENTLYTO,
	H_RTO, H_RCC, H_RBCC,
	H_RETURNPATH,
	H_SENDER, H_FROM, H_REPLYTO, H_RETURNRECEIPTTO, H_ERRORSTO,
	H_RSENDER, H_RFROM, H_RREPLYTO,
	H_DATE, H_RDATE, H_MESSAGEID, H_RMESSAGEID,
	H_CONTENTLENGTH, H_MAILFOLLOWUPTO,
	H_NKINDS
};

/* If s[0..n) begins a header field -- a non-empty name of printable
 * characters other than ':' (no space), optional blanks, then ':' -- the
 * offset just past the colon, and the name's length in *namelen (may be
 * null). 0 when it is not a field. */
size_t header_field(const char *s, size_t n, size_t *namelen);
/* Which field s[0..n) is (H_OTHER also when it is not a field at all). */
enum header_kind header_kind(const char *s, size_t n);
/* 1 when kind holds an address list qmail-inject rewrites. */
int header_is_addrlist(enum header_kind kind);
/* Append to out the field contents s[0..n) with every line break (LF,
 * CR LF) removed, so that folded lines join with their leading blank.
 * 0 ok, -1 out of memory or out's limit (errno). */
int header_unfold(buf *out, const char *s, size_t n);

/* Reading a header. header_in_field() returns, one per call:
 *    1  a field in *field: its lines exactly as read (folded lines kept,
 *       each ending in LF; a last line without LF gets one). A line
 *       "From ..." (an mbox separator) comes back as "MBOX-Line: From ...".
 *    0  the header is over. h->next then holds the first bytes of the
 *       body: the empty line that ended the header, or the first line that
 *       is not a field (then h->blank is 1: the caller must write an empty
 *       line before it), or nothing at end of input. When h->partial is 1,
 *       that line was longer than HEADER_FIELD_MAX and lacks its LF: the
 *       rest of it is still in the stream. Lines in h->next had their
 *       CR LF turned into LF already.
 *   -1  error, h->err says which (HIN_*); errno is kept for HIN_READ.
 * Memory stays below a few times HEADER_FIELD_MAX whatever the input. */
enum { HIN_READ = 1, HIN_NOMEM, HIN_FIELD_TOO_LONG, HIN_HEADER_TOO_LONG };
typedef struct header_in {
	io_in *in;
	buf next;        /* a line read ahead, not yet used */
	int have;        /* next is valid */
	int partial;     /* next was cut at HEADER_FIELD_MAX (no LF) */
	int eof;         /* the stream is at its end */
	int done;        /* the header is over */
	int blank;       /* an empty line must be inserted before the body */
	int err;
	size_t total;    /* header bytes so far */
} header_in;

void header_in_init(header_in *h, io_in *in);
int header_in_field(header_in *h, buf *field);
void header_in_free(header_in *h);

/* Copy p[0..n) to out, dropping every CR that comes just before an LF,
 * also when the CR and the LF arrive in different calls (*cr carries the
 * state; start it at 0 and call header_lf_end() at the end of input).
 * *last gets the last byte written (to tell whether the text ended with
 * LF). 0 ok, -1 write error. */
int header_lf_put(io_out *out, int *cr, char *last, const char *p, size_t n);
int header_lf_end(io_out *out, int *cr, char *last);

/* "Tue, 30 Jul 1996 13:54:54 +0200": date-time of RFC 5322 in local time
 * with the local offset, appended to b. 0 ok, -1 no memory. */
int header_date(buf *b, time_t t);
/* "<YYYYMMDDHHMMSS.pid.qmail@idhost>" (the time in UTC), appended to b. */
int header_msgid(buf *b, time_t t, pid_t pid, const char *idhost);

#endif
