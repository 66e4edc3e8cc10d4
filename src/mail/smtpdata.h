/* smtpdata: a queued message made into the bytes qmail-remote sends
 * after DATA, so that a peer can only ever see one message.
 *
 * Whatever the queue holds, the output is CRLF-terminated lines:
 *   - LF, CR LF and a CR not followed by LF each end a line and are sent
 *     as CR LF (a bare CR is never passed on: some servers end lines at
 *     it, and "\r.\r" must not end the message there);
 *   - a line that starts with '.' gets another '.' in front, decided after
 *     that conversion, so no line of the message is a lone '.';
 *   - a last line without a line end gets one;
 *   - smtpdata_end adds the one ".\r\n" that ends the message.
 * So "\r\n.\r\n" occurs exactly once, at the end.
 *
 * It also notes what the peer must be told or must support: 8-bit bytes
 * in the body (BODY=8BITMIME) and in the header (SMTPUTF8, RFC 6532).
 * The header ends at the first empty line. */
#ifndef NQ_SMTPDATA_H
#define NQ_SMTPDATA_H
#include <stddef.h>
#include "lib/buf.h"

typedef struct smtpdata {
	int start;            /* at the start of a line */
	int cr;               /* a CR is pending */
	int inheader;
	int hdr8, body8;      /* 8-bit bytes seen in the header, anywhere */
	int hdrbad;           /* the header's 8-bit bytes are not all UTF-8 */
	int u8need;           /* continuation bytes the current UTF-8 sequence lacks */
	unsigned long long out;   /* bytes produced so far */
} smtpdata;

void smtpdata_init(smtpdata *d);
/* Append the encoding of p[0..n) to out. 0 ok, -1 out of memory. */
int smtpdata_put(smtpdata *d, const char *p, size_t n, buf *out);
/* Finish the last line if needed and append ".\r\n". */
int smtpdata_end(smtpdata *d, buf *out);

#endif
