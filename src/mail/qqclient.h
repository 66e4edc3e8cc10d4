/* qqclient: handing one message to qmail-queue, as qmail-queue(8) defines
 * the interface: the message on the child's descriptor 0, then the
 * envelope ("F" sender NUL, "T" recipient NUL per recipient, NUL) on its
 * descriptor 1, then the exit code says what happened (0 queued, 11..40
 * permanent, anything else temporary; 82: the reason is on descriptor 6).
 *
 * The program run is the one named by the caller, else $QMAILQUEUE (as
 * netqmail's programs honour it), else DIR/bin/qmail-queue.
 *
 * Order of use: qq_open, qq_put (the whole message), qq_from, qq_to per
 * recipient, qq_close. The caller must ignore SIGPIPE: a qmail-queue that
 * dies early is then reported through its exit code, not by killing us.
 * No global state: several qq may be open at once. */
#ifndef NQ_QQCLIENT_H
#define NQ_QQCLIENT_H
#include <sys/types.h>
#include "lib/buf.h"
#include "lib/io.h"

typedef struct qq {
	pid_t pid;
	int failed;        /* a write failed; qq_close reports it */
	int errfd;         /* read end of descriptor 6 (custom reason) */
	io_out mess;       /* to the child's fd 0 */
	io_out env;        /* to the child's fd 1 */
} qq;

/* 0 started, -1 could not (errno). */
int qq_open(qq *q, const char *prog);
void qq_put(qq *q, const void *p, size_t n);
void qq_puts(qq *q, const char *s);
void qq_from(qq *q, const char *sender);        /* ends the message */
void qq_to(qq *q, const char *rcpt, size_t n);
/* Waits for qmail-queue. Returns 0 when the message was queued, else
 * 'D' (permanent) or 'Z' (temporary) with a one-line reason in why. */
int qq_close(qq *q, buf *why);
/* The reason for an exit code of qmail-queue ('D' or 'Z', or 0 for 0). */
int qq_code(int code, const char **why);

#endif
