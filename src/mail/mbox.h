/* mbox: appending one message to an mbox file (mbox(5), as qmail writes it).
 *
 * What is appended: the caller's lines (the "From sender date" line,
 * Return-Path, Delivered-To), then the message with every line that
 * starts with any number of '>' followed by "From " given one more '>'
 * (so readers can undo it), a newline if the message did not end with
 * one, and a blank line that separates it from the next message.
 *
 * Locking: flock and an fcntl lock on the whole file, both, because mail
 * readers on Debian use either; a file still locked after 30 seconds is a
 * temporary failure. If locking is impossible (a file system without
 * locks) the message is appended unlocked, as qmail does.
 *
 * Failure: when the file was locked and writing fails (disk full), the
 * file is truncated back to its original length, so no half message
 * stays behind. The data is fsynced before success is reported.
 *
 * Memory: the message is streamed; a line of any length costs nothing. */
#ifndef NQ_MBOX_H
#define NQ_MBOX_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/io.h"

#define MBOX_LOCK_WAIT 30   /* seconds */

/* Append the message read from msgfd (from offset 0) to path, relative
 * to the directory descriptor base unless absolute. Returns 0, or -1 with
 * a one-line reason in why (every mbox failure is temporary). */
int mbox_deliver(int base, const char *path, int msgfd, const char *pre, size_t prelen, buf *why);

/* The quoting filter, usable on its own (tests, fuzzing): feed bytes,
 * then finish. out receives the quoted bytes. */
typedef struct mbox_quote {
	int linestart;      /* at the start of a line */
	size_t ngt;         /* '>' seen at the start of this line, held back */
	size_t npre;        /* bytes of "From " matched after them, held back */
	int lastnl;         /* the last byte passed on was a newline (or none yet) */
} mbox_quote;

void mbox_quote_init(mbox_quote *q);
int mbox_quote_put(mbox_quote *q, io_out *out, const char *p, size_t n);
/* Flush what is held back and end with a newline if needed. */
int mbox_quote_end(mbox_quote *q, io_out *out);

#endif
