/* stream: buffered plain-or-TLS I/O with timeouts (see stream.h). */
#include "lib/stream.h"
#include "lib/io.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

void stream_init(stream *s, int rfd, int wfd, int timeout)
{
	s->rfd = rfd;
	s->wfd = wfd;
	s->timeout = timeout;
	s->tls = 0;
	s->pos = s->len = s->olen = 0;
}

static ssize_t rawread(stream *s, char *p, size_t n)
{
	ssize_t r;

	if (s->tls) return tls_read(s->tls, p, n, s->timeout);
	for (;;) {
		if (io_wait(s->rfd, 0, s->timeout) < 0) return -1;
		r = read(s->rfd, p, n);
		if (r >= 0) return r;
		if (errno != EINTR && errno != EAGAIN) return -1;
	}
}

static int rawwrite(stream *s, const char *p, size_t n)
{
	if (s->tls) return tls_write(s->tls, p, n, s->timeout);
	while (n) {
		ssize_t w;
		if (io_wait(s->wfd, 1, s->timeout) < 0) return -1;
		w = write(s->wfd, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN) continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t stream_fill(stream *s)
{
	ssize_t r;

	if (s->pos < s->len) return (ssize_t)(s->len - s->pos);
	s->pos = s->len = 0;
	r = rawread(s, s->in, sizeof s->in);
	if (r <= 0) return r;
	s->len = (size_t)r;
	return r;
}

size_t stream_buffered(const stream *s) { return s->len - s->pos; }

int stream_getline(stream *s, buf *line, size_t max)
{
	int over = 0;

	for (;;) {
		ssize_t r = stream_fill(s);
		char *start, *end;
		size_t k;

		if (r < 0) return -1;
		if (r == 0) {
			if (over) { errno = ERANGE; return -1; }
			return 0;
		}
		start = s->in + s->pos;
		end = memchr(start, '\n', s->len - s->pos);
		k = end ? (size_t)(end - start) + 1 : s->len - s->pos;
		if (!over) {
			size_t take = k;
			if (max && line->len + take > max) { take = max - line->len; over = 1; }
			if (buf_put(line, start, take) < 0) return -1;
		}
		s->pos += k;
		if (end) {
			if (over) { errno = ERANGE; return -1; }
			return 1;
		}
	}
}

size_t stream_discard(stream *s)
{
	size_t n = s->len - s->pos;
	s->pos = s->len = 0;
	return n;
}

int stream_flush(stream *s)
{
	size_t n = s->olen;
	s->olen = 0;
	return rawwrite(s, s->out, n);
}

int stream_put(stream *s, const void *p, size_t n)
{
	if (n > sizeof s->out - s->olen) {
		if (stream_flush(s) < 0) return -1;
		if (n >= sizeof s->out) return rawwrite(s, p, n);
	}
	memcpy(s->out + s->olen, p, n);
	s->olen += n;
	return 0;
}

int stream_puts(stream *s, const char *str) { return stream_put(s, str, strlen(str)); }

void stream_tls(stream *s, tls *t)
{
	stream_discard(s);
	s->olen = 0;
	s->tls = t;
}
