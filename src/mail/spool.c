/* spool: a message held in memory, then in an unlinked file (see spool.h).
 *
 * The file is made only when a message outgrows SPOOL_MEM_MAX, so the
 * common small message costs no file system work at all. */
#include "mail/spool.h"
#include "lib/io.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHUNK 65536

void spool_init(spool *s, const char *dir)
{
	memset(s, 0, sizeof *s);
	s->dir = dir;
	s->fd = -1;
	s->bol = 1;
}

void spool_reset(spool *s)
{
	if (s->fd >= 0) close(s->fd);
	s->fd = -1;
	s->mem.len = 0;
	s->len = 0;
	s->hdrlen = 0;
	s->hdrdone = 0;
	s->bol = 1;
}

void spool_free(spool *s)
{
	spool_reset(s);
	buf_free(&s->mem);
}

/* An unlinked file: O_TMPFILE where the file system has it, else a
 * memfd (the message then lives in memory the kernel may swap out, which
 * is still better than none at all). */
static int tmpfile_open(const char *dir)
{
	const char *d = dir;
	int fd;

	if (!d || !*d) d = getenv("TMPDIR");
	if (!d || !*d) d = "/tmp";
	fd = open(d, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) return fd;
	return memfd_create("qmail-smtpd-spool", MFD_CLOEXEC);
}

/* Note where the header ends: at the first empty line. */
static void header(spool *s, const char *p, size_t n)
{
	size_t i;
	for (i = 0; i < n && !s->hdrdone; i++) {
		s->hdrlen++;
		if (p[i] == '\n') {
			if (s->bol) s->hdrdone = 1;
			s->bol = 1;
		} else s->bol = 0;
	}
}

int spool_put(spool *s, const char *p, size_t n)
{
	if (!n) return 0;
	if (s->len + n < s->len) { errno = EFBIG; return -1; }
	if (s->fd < 0 && s->mem.len + n > SPOOL_MEM_MAX) {
		s->fd = tmpfile_open(s->dir);
		if (s->fd < 0) return -1;
	}
	if (s->fd < 0) {
		if (buf_put(&s->mem, p, n) < 0) return -1;
	} else {
		/* the file holds what follows the memory part */
		size_t done = 0;
		while (done < n) {
			ssize_t w = pwrite(s->fd, p + done, n - done, (off_t)(s->len + done - s->mem.len));
			if (w < 0 && errno == EINTR) continue;
			if (w <= 0) return -1;
			done += (size_t)w;
		}
	}
	header(s, p, n);
	s->len += n;
	return 0;
}

ssize_t spool_read(spool *s, unsigned long long off, char *p, size_t n)
{
	if (off >= s->len || !n) return 0;
	if (n > s->len - off) n = (size_t)(s->len - off);
	if (off < s->mem.len) {
		if (n > s->mem.len - off) n = (size_t)(s->mem.len - off);
		memcpy(p, s->mem.s + off, n);
		return (ssize_t)n;
	}
	for (;;) {
		ssize_t r = pread(s->fd, p, n, (off_t)(off - s->mem.len));
		if (r < 0 && errno == EINTR) continue;
		return r;
	}
}

int spool_each(spool *s, int (*fn)(void *arg, const char *p, size_t n), void *arg)
{
	char *chunk;
	unsigned long long off;
	int r;

	if (s->mem.len && (r = fn(arg, s->mem.s, s->mem.len)) != 0) return r;
	if (s->len == s->mem.len) return 0;
	chunk = malloc(CHUNK);
	if (!chunk) return -1;
	for (off = s->mem.len; off < s->len; ) {
		ssize_t k = spool_read(s, off, chunk, CHUNK);
		if (k <= 0) { free(chunk); return -1; }
		off += (unsigned long long)k;
		if ((r = fn(arg, chunk, (size_t)k)) != 0) { free(chunk); return r; }
	}
	free(chunk);
	return 0;
}

unsigned long long spool_header(spool *s, const char **inmem)
{
	if (inmem) *inmem = s->hdrlen <= s->mem.len ? (s->mem.s ? s->mem.s : "") : 0;
	return s->hdrlen;
}
