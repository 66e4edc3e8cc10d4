/* io: buffered descriptor I/O with EINTR retries and timeouts. */
#include "lib/io.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

int io_wait(int fd, int w, int timeout)
{
	struct pollfd p;
	int r;

	if (timeout <= 0) return 0;
	p.fd = fd;
	p.events = w ? POLLOUT : POLLIN;
	for (;;) {
		r = poll(&p, 1, timeout * 1000);
		if (r > 0) return 0;
		if (r == 0) { errno = ETIMEDOUT; return -1; }
		if (errno != EINTR) return -1;
	}
}

void in_init(io_in *in, int fd, int timeout)
{
	in->fd = fd;
	in->timeout = timeout;
	in->pos = in->len = 0;
}

ssize_t in_fill(io_in *in)
{
	ssize_t r;

	if (in->pos < in->len) return (ssize_t)(in->len - in->pos);
	in->pos = in->len = 0;
	for (;;) {
		if (io_wait(in->fd, 0, in->timeout) < 0) return -1;
		r = read(in->fd, in->b, sizeof in->b);
		if (r >= 0) break;
		if (errno != EINTR && errno != EAGAIN) return -1;
	}
	in->len = (size_t)r;
	return r;
}

size_t in_buffered(const io_in *in) { return in->len - in->pos; }

ssize_t in_read(io_in *in, char *p, size_t n)
{
	ssize_t r = in_fill(in);
	size_t k;

	if (r <= 0) return r;
	k = in->len - in->pos;
	if (k > n) k = n;
	memcpy(p, in->b + in->pos, k);
	in->pos += k;
	return (ssize_t)k;
}

int in_getc(io_in *in, char *c)
{
	ssize_t r = in_fill(in);
	if (r <= 0) return (int)r;
	*c = in->b[in->pos++];
	return 1;
}

int in_getline(io_in *in, buf *line, char delim, size_t max)
{
	int over = 0;

	for (;;) {
		ssize_t r = in_fill(in);
		char *start, *end;
		size_t k;

		if (r < 0) return -1;
		if (r == 0) {
			if (over) { errno = ERANGE; return -1; }
			return 0;
		}
		start = in->b + in->pos;
		end = memchr(start, delim, in->len - in->pos);
		k = end ? (size_t)(end - start) + 1 : in->len - in->pos;
		if (!over) {
			size_t take = k;
			if (max && line->len + take > max) { take = max - line->len; over = 1; }
			if (buf_put(line, start, take) < 0) return -1;
		}
		in->pos += k;
		if (end) {
			if (over) { errno = ERANGE; return -1; }
			return 1;
		}
	}
}

void out_init(io_out *out, int fd, int timeout)
{
	out->fd = fd;
	out->timeout = timeout;
	out->len = 0;
}

static int out_write(io_out *out, const char *p, size_t n)
{
	while (n) {
		ssize_t w;
		if (io_wait(out->fd, 1, out->timeout) < 0) return -1;
		w = write(out->fd, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN) continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int out_flush(io_out *out)
{
	size_t n = out->len;
	out->len = 0;
	return out_write(out, out->b, n);
}

int out_put(io_out *out, const void *p, size_t n)
{
	if (n > sizeof out->b - out->len) {
		if (out_flush(out) < 0) return -1;
		if (n >= sizeof out->b) return out_write(out, p, n);
	}
	memcpy(out->b + out->len, p, n);
	out->len += n;
	return 0;
}

int out_puts(io_out *out, const char *s) { return out_put(out, s, strlen(s)); }

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t read_full(int fd, void *p, size_t n)
{
	char *c = p;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, c + got, n - got);
		if (r < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		if (r == 0) break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int read_file(const char *path, buf *b, size_t max)
{
	char tmp[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	b->len = 0;
	if (buf_ready(b, 0) < 0) { close(fd); return -1; }
	b->s[0] = 0;
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR) continue;
			close(fd);
			return -1;
		}
		if (r == 0) break;
		if (max && b->len + (size_t)r > max) { close(fd); errno = ERANGE; return -1; }
		if (buf_put(b, tmp, (size_t)r) < 0) { close(fd); return -1; }
	}
	close(fd);
	return 0;
}
