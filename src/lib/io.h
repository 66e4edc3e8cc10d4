/* io: small buffered readers and writers on file descriptors.
 * They retry on EINTR, honour an optional timeout (seconds, 0 = none) and
 * never use stdio, so they are safe on network and queue data.
 * Return conventions: >0 bytes, 0 end of file, -1 error (errno set;
 * ETIMEDOUT after the timeout). */
#ifndef NQ_IO_H
#define NQ_IO_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"

#define IO_BUFSIZE 8192

typedef struct io_in {
	int fd;
	int timeout;
	size_t pos, len;
	char b[IO_BUFSIZE];
} io_in;

typedef struct io_out {
	int fd;
	int timeout;
	size_t len;
	char b[IO_BUFSIZE];
} io_out;

void in_init(io_in *in, int fd, int timeout);
ssize_t in_fill(io_in *in);                 /* refill when empty */
ssize_t in_read(io_in *in, char *p, size_t n);
int in_getc(io_in *in, char *c);            /* 1 ok, 0 eof, -1 error */
/* Append bytes up to and including delim to line. Returns 1 when delim was
 * seen, 0 at end of file (line may hold a partial last line), -1 on error.
 * At most max bytes are appended (0 = no limit); when the limit is reached
 * the rest of the line is read and discarded and -1 with ERANGE returned. */
int in_getline(io_in *in, buf *line, char delim, size_t max);
size_t in_buffered(const io_in *in);

void out_init(io_out *out, int fd, int timeout);
int out_put(io_out *out, const void *p, size_t n);
int out_puts(io_out *out, const char *s);
int out_flush(io_out *out);

/* Unbuffered full transfers. */
int write_all(int fd, const void *p, size_t n);        /* 0 or -1 */
ssize_t read_full(int fd, void *p, size_t n);          /* bytes read until n or eof */
/* Wait until fd is readable (writable if w) for at most timeout seconds. */
int io_wait(int fd, int w, int timeout);
/* Read a whole (small) file into b, at most max bytes (ERANGE beyond). */
int read_file(const char *path, buf *b, size_t max);

#endif
