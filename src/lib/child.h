/* child: running another program the way qmail's small helpers do
 * (preline, condredirect, bouncesaying, except, predate, qsmhook): start
 * it, perhaps feed its standard input through a pipe, wait for it and
 * read its exit code.
 *
 * The program is looked up in PATH (execvp), as a command written on a
 * .qmail line expects. When it cannot be run, the child writes
 * "PROG: unable to run NAME: reason" (PROG is err_prog) to stderr and
 * exits 111 if the reason is temporary (errno_temp) and 100 otherwise; the
 * caller then sees that code like any exit code of the program, which is
 * what qmail's helpers do.
 *
 * The caller should ignore SIGPIPE, so that a child that stops reading
 * shows up as a write error (EPIPE), not as the caller's death; the child
 * gets SIGPIPE back to its default. */
#ifndef NQ_CHILD_H
#define NQ_CHILD_H
#include <stddef.h>
#include <sys/types.h>

#define CHILD_CRASHED (-1)    /* child_wait: killed by a signal */
#define CHILD_WAITERR (-2)    /* child_wait: waitpid failed (errno) */

/* 1 when errno value e names a condition that may go away by itself
 * (out of memory, out of descriptors or processes, I/O error, disk full,
 * network trouble, timeout), 0 when trying again will not help. */
int errno_temp(int e);

/* Start argv[0] with descriptor in as its standard input (in < 0: the
 * caller's own). Returns the pid, or -1 (errno) when fork failed. */
pid_t child_start(char *const *argv, int in);
/* Start argv[0] with a pipe as its standard input; *wfd gets the write
 * end (close-on-exec). Returns the pid, or -1 (errno). */
pid_t child_pipe(char *const *argv, int *wfd);
/* Wait for pid. Returns its exit code (0..255), CHILD_CRASHED or
 * CHILD_WAITERR. */
int child_wait(pid_t pid);

/* Write pre[0..prelen) and then everything read from descriptor in to
 * descriptor out, through a fixed buffer (memory does not depend on the
 * size of the data). 0 done, -1 read error, -2 write error (errno kept;
 * EPIPE when the reader went away). */
int child_feed(int out, const char *pre, size_t prelen, int in);

#endif
