/* fwdrun: carrying out forwarding commands for programs that qmail-local
 * runs from a .qmail file (fastforward, dot-forward): running a program
 * with the message on its input, appending the message to a file or a
 * Maildir, and forwarding it through qmail-queue.
 *
 * The message is on descriptor 0, as qmail-command(8) gives it; each
 * function reads it from its start, so fr_rewindable() must have been
 * called first. The header lines qmail-local prepares for programs come
 * from its environment: $DTLINE (Delivered-To, put on top of every
 * forwarded copy, so that a forwarding loop is caught), $RPLINE
 * (Return-Path) and $UFLINE (the mbox "From " line); a missing one is
 * simply left out.
 *
 * Results follow qmail-command(8): 0 done, 100 permanent failure (the
 * message bounces), 111 temporary failure (qmail-send tries again
 * later); why gets one line saying what went wrong. The caller must
 * ignore SIGPIPE. */
#ifndef NQ_FWDRUN_H
#define NQ_FWDRUN_H
#include <stddef.h>
#include "lib/buf.h"

/* Make descriptor 0 seekable: when it is a pipe, copy the message into
 * an unlinked temporary file and put that on 0. 0, or 111 with why. */
int fr_rewindable(buf *why);

/* The lines from the environment variables named in names (e.g.
 * "UFLINE", "RPLINE", "DTLINE", then 0) appended to out. 0 or -1. */
int fr_lines(buf *out, const char *const *names);

/* sh -c cmd with the message on its input, pre[0..prelen) in front of
 * it; its output goes where ours goes. Exit 0 and 99 are success; 100,
 * 64, 65, 70, 76, 77, 78 and 112 permanent failure; anything else,
 * a crash included, temporary. */
int fr_program(const char *cmd, const char *pre, size_t prelen, buf *why);

/* Append to the mbox path, or deliver to the Maildir path when it ends
 * in '/': with $UFLINE $RPLINE $DTLINE (mbox) or $RPLINE $DTLINE
 * (Maildir) in front, as qmail-local writes them. 0 or 111. */
int fr_file(const char *path, buf *why);

/* One qmail-queue run: $DTLINE then the message, envelope sender, and
 * the recipients rcpts[0..len), each NUL-terminated. 0, 100 or 111. */
int fr_queue(const char *sender, const char *rcpts, size_t len, buf *why);

#endif
