/* smtpdmilter: qmail-smtpd's use of the milters of control/milters
 * (the protocol is src/mail/milter.h): the macros each stage sends, what
 * a verdict means for the SMTP reply, and the message as the milters see
 * it and as qmail-queue gets it afterwards.
 *
 * Every stage function returns 0 to go on, 1 when the command (or the
 * session, or the message) is refused, with the whole reply line in
 * reply (no CR LF; 4xx or 5xx), or -1 out of memory. qmail-smtpd says
 * the reply: it owns the stream and counts the errors.
 *
 * The session: smilter_connect before the greeting (a refusal is said
 * as the greeting: 554 and then only QUIT, or 421 and the end);
 * smilter_helo at each HELO/EHLO (a refusal also refuses MAIL until a
 * HELO passes: smilter_helorefused); smilter_mail and smilter_rcpt once
 * qmail-smtpd accepted the command itself; smilter_eom at the end of
 * DATA; smilter_reset when a transaction ends otherwise; smilter_close
 * at the end. A discard (at MAIL, RCPT or the end) is noted in
 * sm->discard: the client is told 250 and nothing is queued. */
#ifndef NQ_SMTPDMILTER_H
#define NQ_SMTPDMILTER_H
#include <sys/types.h>
#include "lib/buf.h"
#include "mail/milter.h"
#include "mail/spool.h"

#define SMILTER_HDR_MAX (1024 * 1024)   /* header bytes shown to the milters */
#define SMILTER_QFIELD "X-Milter-Quarantine: "

typedef struct smilter {
	milters ms;
	buf mac;                  /* the next stage's macros */
	buf heloreply;            /* the HELO was refused: MAIL gets this */
	int discard;              /* this message is to be dropped */
	spool newbody;            /* a body a milter gave in place of the client's */
} smilter;

/* Who the client is, for the CONNECT stage and its macros. */
struct smilter_client {
	const char *me;           /* control/me */
	const char *ip;           /* TCPREMOTEIP, or "unknown" */
	const char *host;         /* TCPREMOTEHOST, or 0 */
	const char *port;         /* TCPREMOTEPORT, or 0 */
	const char *localip;      /* TCPLOCALIP, or 0 */
};

/* TLS facts for the HELO stage's macros (version 0: no TLS). */
struct smilter_tls {
	const char *version, *cipher;
	int bits;
};

/* What goes to qmail-queue after smilter_eom said 0: front, then the
 * spool body (0: the message's own) from offset rest on (smilter_tail). */
struct smilter_out {
	buf front;
	spool *body;
	unsigned long long rest;
};

/* Read control/milters. dir: where a replaced body may be spooled (as
 * spool_init's). 0 ok (none is fine), -1 error (errno; a malformed line
 * is explained in why). */
int smilter_load(smilter *sm, const char *dir, milter_logfn *log, buf *why);
int smilter_active(const smilter *sm);   /* any milter configured */

int smilter_connect(smilter *sm, const struct smilter_client *c, buf *reply);
int smilter_helo(smilter *sm, const char *helo, const struct smilter_tls *t, buf *reply);
/* The reply for MAIL when the HELO name was refused, or 0. */
const char *smilter_helorefused(const smilter *sm);
int smilter_mail(smilter *sm, const char *from, const char *login, buf *reply);
int smilter_rcpt(smilter *sm, const char *addr, size_t n, buf *reply);
/* The end of the message. head: the fields qmail-smtpd puts in front of
 * the spooled message (Received, Authentication-Results, ...); the
 * milters see head and the spool as one message. from and rcpts (each
 * recipient followed by a NUL) are changed as the milters ask. On 0,
 * o says what to queue; 1 refused (reply set; empty reply: discarded,
 * say 250 and queue nothing). */
int smilter_eom(smilter *sm, const buf *head, spool *sp, pid_t qp, buf *from, buf *rcpts,
                struct smilter_out *o, buf *reply);
/* Feed the spool from offset off on to fn (as spool_each does). 0 ok,
 * fn's nonzero return, or -1 a read error. */
int smilter_tail(spool *sp, unsigned long long off, int (*fn)(void *arg, const char *p, size_t n), void *arg);
void smilter_reset(smilter *sm);
void smilter_close(smilter *sm);

#endif
