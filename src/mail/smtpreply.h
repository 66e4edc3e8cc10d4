/* smtpreply: reading the replies of an SMTP server, as qmail-remote does.
 *
 * A reply is one or more lines "ddd-text" ending with "ddd text" (or a
 * bare "ddd"); the code is the first line's. The text kept for reports is
 * every line as sent, codes included, CR removed and LF kept (qmail's
 * "Remote host said: " text), NUL bytes shown as '?', at most
 * SMTPREPLY_TEXT_MAX bytes (the rest is dropped, the reply still read).
 * A reply longer than SMTPREPLY_MAX bytes in all, a line that does not
 * start with a code 200-599 followed by ' ', '-' or the line end, is
 * malformed: the caller treats the connection as broken.
 *
 * The EHLO reply's lines after the first are the server's extensions;
 * smtpreply_ehlo finds the ones qmail-remote uses. */
#ifndef NQ_SMTPREPLY_H
#define NQ_SMTPREPLY_H
#include <stddef.h>
#include "lib/buf.h"

#define SMTPREPLY_TEXT_MAX 4096
#define SMTPREPLY_MAX 65536

typedef struct smtpreply {
	unsigned code;        /* valid once complete */
	size_t total;         /* bytes of the reply so far */
	buf text;
	int more;             /* 1: a continuation line is expected */
} smtpreply;
#define SMTPREPLY_INIT {0, 0, BUF_INIT, 0}

void smtpreply_reset(smtpreply *r);
/* One line as read (n bytes, LF and CR optional at its end): 1 the reply
 * is complete, 0 more lines follow, -1 malformed (or out of memory). */
int smtpreply_line(smtpreply *r, const char *line, size_t n);
void smtpreply_free(smtpreply *r);

#define EHLO_PIPELINING 0x01
#define EHLO_SIZE       0x02
#define EHLO_8BITMIME   0x04
#define EHLO_SMTPUTF8   0x08
#define EHLO_STARTTLS   0x10
#define EHLO_ENHANCED   0x20
#define EHLO_AUTH_PLAIN 0x40
#define EHLO_AUTH_LOGIN 0x80

typedef struct smtpext {
	unsigned flags;
	unsigned long size;   /* SIZE's limit; 0: none given */
} smtpext;

/* The extensions in a complete EHLO reply's text. */
void smtpreply_ehlo(const smtpreply *r, smtpext *e);

#endif
