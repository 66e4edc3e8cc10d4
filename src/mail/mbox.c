/* mbox: locked, quoted, fsynced appends to an mbox file (see mbox.h). */
#include "mail/mbox.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char from_[] = "From ";

void mbox_quote_init(mbox_quote *q)
{
	q->linestart = 1;
	q->ngt = q->npre = 0;
	q->lastnl = 1;
}

static int gts(io_out *out, size_t n)
{
	static const char many[64] =
		">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";
	while (n) {
		size_t k = n < sizeof many ? n : sizeof many;
		if (out_put(out, many, k) < 0) return -1;
		n -= k;
	}
	return 0;
}

/* Pass on what the start of the line held back, unquoted. */
static int release(mbox_quote *q, io_out *out)
{
	if (gts(out, q->ngt) < 0 || out_put(out, from_, q->npre) < 0) return -1;
	if (q->ngt || q->npre) q->lastnl = 0;
	q->ngt = q->npre = 0;
	q->linestart = 0;
	return 0;
}

int mbox_quote_put(mbox_quote *q, io_out *out, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (q->linestart) {
			char c = p[i];
			if (q->npre == 0 && c == '>') { q->ngt++; i++; continue; }
			if (c == from_[q->npre]) {
				i++;
				if (++q->npre == 5) {
					/* ">*From ": one more '>' */
					if (gts(out, q->ngt + 1) < 0 || out_put(out, from_, 5) < 0) return -1;
					q->ngt = q->npre = 0;
					q->linestart = 0;
					q->lastnl = 0;
				}
				continue;
			}
			if (release(q, out) < 0) return -1;
		}
		/* Inside a line: pass everything up to and including the
		 * next newline at once. */
		{
			const char *nl = memchr(p + i, '\n', n - i);
			size_t k = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
			if (out_put(out, p + i, k) < 0) return -1;
			i += k;
			q->lastnl = nl != 0;
			q->linestart = nl != 0;
		}
	}
	return 0;
}

int mbox_quote_end(mbox_quote *q, io_out *out)
{
	if (q->linestart && (q->ngt || q->npre) && release(q, out) < 0) return -1;
	if (!q->lastnl) {
		if (out_put(out, "\n", 1) < 0) return -1;
		q->lastnl = 1;
	}
	return 0;
}

static void reason(buf *why, const char *a, const char *path, int e, const char *code)
{
	buf_copys(why, a);
	if (path) buf_puts(why, path);
	if (e) { buf_puts(why, ": "); buf_puts(why, strerror(e)); }
	buf_puts(why, ". ");
	buf_puts(why, code);
}

static void nap(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, 0);
}

/* 1 locked, 0 locking not possible here, -1 timed out. Polling instead of
 * alarm(): this code may run inside another program (qmail-lspawn's
 * child) whose signal handlers are not ours to change. */
static int lock(int fd)
{
	time_t end = time(0) + MBOX_LOCK_WAIT;
	struct flock fl;
	int have = 0;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) { have = 1; break; }
		if (errno != EWOULDBLOCK && errno != EINTR) break;
		if (time(0) >= end) return -1;
		nap();
	}
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	for (;;) {
		if (fcntl(fd, F_SETLK, &fl) == 0) { have = 1; break; }
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) break;
		if (time(0) >= end) return -1;
		nap();
	}
	return have;
}

int mbox_deliver(int base, const char *path, int msgfd, const char *pre, size_t prelen, buf *why)
{
	io_out out;
	mbox_quote q;
	struct stat st;
	char b[16384];
	off_t pos;
	int fd, locked, e;

	if (lseek(msgfd, 0, SEEK_SET) < 0) {
		reason(why, "Unable to rewind message", 0, errno, "(#4.3.0)");
		return -1;
	}
	/* O_NONBLOCK: a FIFO named in .qmail must not hang the delivery. */
	fd = openat(base, path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		reason(why, "Unable to open ", path, errno, "(#4.2.1)");
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		reason(why, "Unable to open ", path, e, "(#4.2.1)");
		return -1;
	}
	fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	locked = lock(fd);
	if (locked < 0) {
		close(fd);
		buf_copys(why, "File has been locked for 30 seconds straight. (#4.3.0)");
		return -1;
	}
	pos = lseek(fd, 0, SEEK_END);
	if (pos < 0) pos = 0;

	out_init(&out, fd, 0);
	mbox_quote_init(&q);
	if (out_put(&out, pre, prelen) < 0) goto writeerr;
	for (;;) {
		ssize_t r = read(msgfd, b, sizeof b);
		if (r < 0) {
			if (errno == EINTR) continue;
			e = errno;
			if (locked && S_ISREG(st.st_mode)) (void)!ftruncate(fd, pos);
			close(fd);
			reason(why, "Unable to read message", 0, e, "(#4.3.0)");
			return -1;
		}
		if (r == 0) break;
		if (mbox_quote_put(&q, &out, b, (size_t)r) < 0) goto writeerr;
	}
	if (mbox_quote_end(&q, &out) < 0 || out_put(&out, "\n", 1) < 0 || out_flush(&out) < 0)
		goto writeerr;
	if (fsync(fd) < 0) {
		/* /dev/null and other special files have nothing to sync. */
		if (S_ISREG(st.st_mode) || (errno != EINVAL && errno != EROFS)) goto writeerr;
	}
	if (close(fd) < 0) {
		e = errno;
		reason(why, "Unable to write ", path, e, "(#4.3.0)");
		return -1;
	}
	return 0;

writeerr:
	e = errno;
	if (locked && S_ISREG(st.st_mode)) (void)!ftruncate(fd, pos);
	close(fd);
	reason(why, "Unable to write ", path, e, "(#4.3.0)");
	return -1;
}
