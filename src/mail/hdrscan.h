/* hdrscan: reading the header of a delivered message for the helpers that
 * look at it (qbiff, qreceipt, qlist, maildirwatch), tolerantly and in
 * bounded memory.
 *
 * header.h's reader is strict: a field over its limit is an error, which
 * suits qmail-inject (it must not pass on what it cannot read). A helper
 * that only glances at a Subject or a From must instead go on with the
 * rest of the message whatever an outsider put in it, so here:
 *   - a field longer than the scanner's max is cut at max bytes (the rest
 *     of it is read and dropped) and flagged;
 *   - the header ends at an empty line (consumed, not returned), at the
 *     end of input, or at the first line that is not a field, which then
 *     belongs to the body and is handed back (see hdrscan_field);
 *   - line ends are left as they are (CR LF or LF); hdrscan_value()
 *     unfolds.
 * After the header, the caller goes on reading the body from the same
 * io_in. */
#ifndef NQ_HDRSCAN_H
#define NQ_HDRSCAN_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/io.h"
#include "mail/addr.h"

typedef struct hdrscan {
	io_in *in;
	size_t max;      /* bytes kept of one field (or of a first body line) */
	int done;        /* the header is over */
	int cut;         /* the last field returned lost its bytes beyond max */
	int bodyline;    /* at the end: f holds the start of the body's first line */
} hdrscan;

void hdrscan_init(hdrscan *h, io_in *in, size_t max);
/* 1: a field in f (all its lines, as read, at most max bytes; h->cut
 *    says whether bytes were dropped).
 * 0: the header is over. When h->bodyline, f holds the first bytes of
 *    a line that was not a field (the body starts with it; when it was
 *    longer than max, the rest of it is still in the stream); otherwise
 *    f is empty and the next byte of the stream is the body's first.
 * -1: read error or out of memory (errno). */
int hdrscan_field(hdrscan *h, buf *f);

/* 1 when field f is named name (ASCII case ignored). */
int hdrscan_is(const buf *f, const char *name);
/* The contents of field f -- after the colon, unfolded, with blanks at
 * both ends removed -- into v. 0 ok, -1 no memory. */
int hdrscan_value(const buf *f, buf *v);

/* Address completion as qmail-inject does it, from control/defaulthost,
 * defaultdomain and plusdomain (each defaulting to control/me, else to
 * its own name). 1 ok, 0 one is not a host name, -1 error (errno). */
int hdrscan_cfg(addr_cfg *c);
/* Every address of the address-list field f in envelope form, each
 * followed by NUL, appended to addrs. 1 ok, 0 the field does not parse,
 * -1 no memory. */
int hdrscan_addrs(const addr_cfg *c, const buf *f, buf *addrs);

#endif
