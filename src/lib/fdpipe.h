/* fdpipe: pipes whose descriptors stay clear of the low numbers a child
 * is about to receive. A program that forks a child and dup2()s pipe ends
 * onto 0, 1, 2 (or 6, for qmail-queue's reason) must not have a pipe end
 * sitting on one of those numbers already, which happens whenever the
 * caller started with some of them closed. */
#ifndef NQ_FDPIPE_H
#define NQ_FDPIPE_H

/* pipe(2) with both ends close-on-exec and numbered min or above.
 * 0 or -1 (errno). */
int pipe_above(int p[2], int min);

#endif
