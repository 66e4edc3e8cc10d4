/* remotediag: what the delivery-status part of a bounce (RFC 3464) says
 * about a failure qmail-remote reported, read back from the report text
 * kept in queue/bounce/N:
 *     192.0.2.7 does not like recipient.
 *     Remote host said: 550-5.1.1 no such user
 *     550 5.1.1 here
 *     Giving up on 192.0.2.7.
 * gives Remote-MTA "dns; 192.0.2.7", Diagnostic-Code
 * "smtp; 550 5.1.1 no such user here" and Status 5.1.1 (the server's
 * enhanced status code; without one, 5.0.0 or 4.0.0 from the reply's
 * first digit). A text that is not qmail-remote's (no "Remote host said:"
 * line) is not a remote diagnostic: the bounce keeps its x-qmail one. */
#ifndef NQ_REMOTEDIAG_H
#define NQ_REMOTEDIAG_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/ipaddr.h"

typedef struct remotediag {
	char mta[IPADDR_FMT];   /* the server's address, "" when not named */
	char status[12];        /* "5.1.1" */
	buf smtp;               /* the reply: code, then the text of its lines */
} remotediag;
#define REMOTEDIAG_INIT {"", "", BUF_INIT}

/* 1 when text (n bytes) carries a remote server's reply, filled in d;
 * 0 when it does not; -1 out of memory. */
int remotediag_parse(const char *text, size_t n, remotediag *d);
void remotediag_free(remotediag *d);

#endif
