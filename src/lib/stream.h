/* stream: a buffered two-way byte stream over a pair of descriptors that
 * can switch to TLS in the middle of the conversation (STARTTLS, STLS).
 *
 * It is src/lib/io.h's io_in and io_out in one object, with reads and
 * writes going through tls_read/tls_write once stream_tls() was called.
 * Every read and write honours the stream's timeout (seconds, 0 none).
 * Return conventions as in io.h: >0 bytes, 0 end of file, -1 error with
 * errno (ETIMEDOUT after the timeout).
 *
 * Input already buffered when the stream switches to TLS came before
 * the handshake, in plain text: stream_tls() throws it away, so that a
 * command pipelined after STARTTLS can never be taken as if it had come
 * through the encrypted channel (CVE-2011-0411 and its relatives). */
#ifndef NQ_STREAM_H
#define NQ_STREAM_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"
#include "lib/tls.h"

#define STREAM_BUFSIZE 16384

typedef struct stream {
	int rfd, wfd;
	int timeout;
	tls *tls;              /* 0: plain text */
	size_t pos, len;       /* unread input is in[pos..len) */
	size_t olen;
	char in[STREAM_BUFSIZE];
	char out[STREAM_BUFSIZE];
} stream;

void stream_init(stream *s, int rfd, int wfd, int timeout);
/* Make sure input is buffered: returns the number of bytes buffered
 * (reading once if none is), 0 at end of file, -1 error. */
ssize_t stream_fill(stream *s);
/* Bytes buffered and not yet consumed. */
size_t stream_buffered(const stream *s);
/* Like io.h's in_getline with delimiter '\n': appends the line, LF
 * included, to line. 1 a whole line, 0 end of file (a partial line may
 * be in line), -1 error; with ERANGE when more than max bytes (0: no
 * limit) came before the LF: the excess is read and dropped. */
int stream_getline(stream *s, buf *line, size_t max);
/* Drop whatever input is buffered; returns how many bytes that was. */
size_t stream_discard(stream *s);

int stream_put(stream *s, const void *p, size_t n);
int stream_puts(stream *s, const char *str);
int stream_flush(stream *s);

/* From now on, talk through t. Buffered input is discarded (see above)
 * and buffered output must have been flushed. */
void stream_tls(stream *s, tls *t);

#endif
