/* pop3msg: a message file turned into a POP3 multi-line response body
 * (RFC 1939 section 3), fed in chunks of any size, for RETR and TOP.
 *
 * What goes on the wire: every line ends in CRLF whatever the file holds
 * (LF or CRLF line ends; a CR not followed by LF is content and passes
 * unchanged); a line starting with "." gets another "." in front; the
 * response ends with CRLF "." CRLF. As qmail-pop3d does, one empty line
 * is added after the message (qmail-pop3d(8): some clients mishandle a
 * message whose last line touches the terminating dot). With a limit
 * (TOP), the header, the empty line after it and at most that many body
 * lines are sent.
 *
 * Memory is the caller's output buffer: at most twice the chunk plus a
 * few bytes, whatever the size of the message. */
#ifndef NQ_POP3MSG_H
#define NQ_POP3MSG_H
#include <stddef.h>
#include "lib/buf.h"

typedef struct pop3msg {
	int bol;            /* the next byte starts a line */
	int cr;             /* a CR is held back: is it part of CRLF? */
	int empty;          /* the current line has no content yet */
	int inbody;         /* the header is over */
	int top;            /* a line limit applies */
	int done;           /* the limit is reached: ignore the rest */
	unsigned long left; /* body lines still to send (top) */
} pop3msg;

/* top 0: the whole message (RETR); top 1: header and lines body lines. */
void pop3msg_init(pop3msg *m, int top, unsigned long lines);
/* Convert p[0..n) and append it to out. 0 or -1 (out of memory). */
int pop3msg_put(pop3msg *m, const char *p, size_t n, buf *out);
/* Finish the response: end an unterminated line, the extra empty line,
 * then the ".". 0 or -1. */
int pop3msg_end(pop3msg *m, buf *out);

#endif
