/* local: the local delivery engine, qmail-local(8) as a library function.
 *
 * local_deliver() does everything qmail-local does for one message and
 * one recipient: check the home directory, refuse a message that already
 * carries this recipient's Delivered-To line, find the .qmail file
 * (dot-qmail(5)), and follow its instructions: Maildir and mbox
 * deliveries, programs (qmail-command(8): sh -c in the home directory with
 * the message on stdin and qmail's environment), and forwards through
 * qmail-queue, done last and all at once. It stops at the first failure.
 *
 * It is written to be called either from the qmail-local program or,
 * after a fork and a change of uid, from inside qmail-lspawn without an
 * exec: it keeps no global state, never exits, never changes the working
 * directory or the environment of its process, and frees what it takes.
 * What it does need from its caller: the process already runs as the
 * recipient, SIGPIPE is ignored, and msgfd is a seekable file.
 *
 * SRS (srs.h): when it is on, forwards to addresses that are not ours
 * get the SRS form of the forwarding sender, and so does $NEWSENDER for
 * programs (forward, fastforward), which cannot tell where they send.
 *
 * The report (result text) is what qmail-local prints and what qmail-send
 * logs or puts in a bounce: the programs' output (bounded), "did F+W+P"
 * (file deliveries, forwards, programs) and "qp N" on success, or the
 * reason of the failure. */
#ifndef NQ_LOCAL_H
#define NQ_LOCAL_H
#include <sys/types.h>
#include "lib/buf.h"

struct srs_cfg;

#define LOCAL_PATRN 002          /* home or .qmail mode bits that defer (conf-patrn) */
#define LOCAL_TEXT_MAX 4000      /* bytes of report kept */
#define LOCAL_PROGOUT_MAX 2000   /* of which at most this from programs */

struct local_req {
	const char *user;            /* the recipient's account */
	const char *home;            /* absolute home directory */
	const char *local;           /* local part of the recipient */
	const char *dash;            /* "" or "-" (qmail-users(5)) */
	const char *ext;             /* the extension: remote input */
	const char *host;            /* domain of the recipient */
	const char *sender;          /* envelope sender ("" for bounces) */
	const char *defaultdelivery; /* instructions when .qmail is empty or absent */
	int msgfd;                   /* the message; seekable */
	int doit;                    /* 0: only describe (qmail-local -n) */
	const char *qmailqueue;      /* program for forwards; 0: $QMAILQUEUE, else DIR/bin/qmail-queue */
	char *const *env;            /* environment programs inherit; 0: this process's */
	const struct srs_cfg *srs;   /* SRS settings (srs.h), read with privilege by
	                              * qmail-lspawn; 0: read control/ here if needed */
};

struct local_result {
	int code;                    /* 0 delivered, 100 permanent failure, 111 temporary */
	buf text;                    /* the report; may hold several lines */
};

void local_deliver(const struct local_req *req, struct local_result *res);
void local_result_free(struct local_result *res);

/* Return-Path value for sender: the local part quoted when RFC 5322 needs
 * it (qmail's quote2). Exposed for tests. 0 or -1. */
int local_quote_addr(buf *out, const char *addr);

#endif
