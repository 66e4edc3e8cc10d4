/* bounce: the failure report qmail-send collects for a message and the
 * bounce message it makes of it.
 *
 * While a message is being delivered, every permanent failure is appended
 * to queue/bounce/N as qmail writes it (and qmail's tools expect it):
 *     "<recipient>:" NL, the report text, NL, an empty line.
 * Inside the text an empty line is written as "/", so blocks stay
 * separated by exactly one empty line.
 *
 * When every recipient is done, that file becomes one bounce message: an
 * RFC 3464 multipart/report (report-type=delivery-status) whose first,
 * text/plain part is qmail's QSBMF text word for word, so that both QSBMF
 * and DSN parsers understand it:
 *     Hi. This is the qmail-send program at HOST.
 *     I'm afraid I wasn't able to deliver your message to the following addresses.
 *     This is a permanent error; I've given up. Sorry it didn't work out.
 *     <blocks>
 *     --- Below this line is a copy of the message.
 * (a double bounce says "I tried to deliver a bounce message to this
 * address, but the bounce bounced!" and "--- Below this line is the
 * original bounce."), then a message/delivery-status part with one
 * recipient group per block (a failure reported by qmail-remote gets
 * Remote-MTA "dns; <address>", Diagnostic-Code "smtp; <the reply>" and the
 * server's enhanced status, src/mail/remotediag.h; any other failure
 * Diagnostic-Code "x-qmail; <qmail's text>" and the last "#x.y.z" in it),
 * then the original message as message/rfc822
 * with its Return-Path. The message is streamed: memory does not depend on
 * its size nor on the number of failed recipients. */
#ifndef NQ_BOUNCE_H
#define NQ_BOUNCE_H
#include <stddef.h>
#include <time.h>
#include "lib/buf.h"
#include "lib/io.h"

/* Longest line of bounce/N kept; longer ones are cut (they cannot come
 * from our own spawns, whose reports are bounded). */
#define BOUNCE_LINE_MAX 65536

/* Append to b the block for recip failing with report (rlen bytes). */
int bounce_block(buf *b, const char *recip, const char *report, size_t rlen);

/* One block of a bounce/N file, as bounce_nextblk finds it. A block
 * whose first byte ('<') has been overwritten by BOUNCE_SENT had its own
 * bounce queued already (a VERP message's failures are bounced one by
 * one, each to its recipient's return path: src/mail/verp.h). */
#define BOUNCE_SENT 'D'
typedef struct bounce_blk {
	unsigned long long off, len;  /* its bytes in the file, the empty line that ends it included */
	int sent;                     /* marked BOUNCE_SENT */
	buf addr;                     /* the failed address, without "<" and ">:" */
} bounce_blk;

#define BOUNCE_BLK_INIT {0, 0, 0, BUF_INIT}

/* The next block of the bounce/N file read through in, whose next byte
 * is at offset *pos (advanced past the block). 1 a block, 0 end of file,
 * -1 a read error or out of memory (errno). The address kept is cut at
 * BOUNCE_LINE_MAX bytes. */
int bounce_nextblk(io_in *in, unsigned long long *pos, bounce_blk *b);

/* Mark the block at offset off of bounce/N (fd open for writing) as sent.
 * Not fsynced: a mark lost in a crash only means that bounce goes twice.
 * 0, or -1 (errno). */
int bounce_marksent(int fd, unsigned long long off);

typedef struct bounce_msg {
	const char *host;       /* bouncehost: greeting, From, Reporting-MTA */
	const char *fromuser;   /* bouncefrom, the From's local part */
	const char *to;         /* who gets the bounce */
	const char *sender;     /* the failed message's envelope sender */
	int dbl;                /* a double bounce (the failed message was a bounce) */
	time_t now, arrival;    /* Date; when the failed message was queued */
	unsigned long id;       /* the failed message's number */
	const char *boundary;   /* MIME boundary; must not occur in the message */
	unsigned long long blkoff, blklen;   /* blklen 0: every block of the file;
	                                      * else only the block at blkoff */
} bounce_msg;

/* Write the bounce for the blocks in fdfail (read from its start, or
 * only the block m->blkoff, m->blklen; twice) and the message in fdmess
 * (from its current offset) to out, and flush it. 0 ok, -1 a read or
 * write failed (errno). */
int bounce_write(io_out *out, const bounce_msg *m, int fdfail, int fdmess);

/* 1 when every block of the bounce/N file fd names addr (compared
 * without regard to case), 0 when another address failed, -1 on a read
 * error. A bounce from <> that failed only at the double-bounce address
 * is a triple bounce: there is nobody left to tell. */
int bounce_only_to(int fd, const char *addr);

#define BOUNCE_BOUNDARY_MAX 64
/* A MIME boundary for the bounce of message id: random, so no message
 * contains it by chance. */
void bounce_boundary(char *b, unsigned long id);

/* Queue the bounce m through qmail-queue (src/mail/qqclient.h): envelope
 * sender <>, recipient m->to. 0 queued (*qp: qmail-queue's pid, qmail's
 * long-term queue id); 'D' or 'Z' when it was not, with the reason in
 * why. The caller ignores SIGPIPE. */
int bounce_queue(const bounce_msg *m, int fdfail, int fdmess, unsigned long *qp, buf *why);

/* The DSN status code ("5.1.1") in report text: the last "#x.y.z" in it,
 * or "5.0.0". s must hold at least 12 bytes. */
void bounce_status(const char *text, size_t n, char *s);

#endif
