/* fwdrun: programs, files and forwards for fastforward and dot-forward;
 * see fwdrun.h. The delivery code itself is shared with qmail-local
 * (maildir.h, mbox.h, qqclient.h): only the glue is here. */
#include "mail/fwdrun.h"
#include "mail/maildir.h"
#include "mail/mbox.h"
#include "mail/qqclient.h"
#include "lib/fdpipe.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(buf *why, int code, const char *a, const char *b, const char *c)
{
	why->len = 0;
	buf_puts(why, a);
	if (b) buf_puts(why, b);
	if (c) buf_puts(why, c);
	return code;
}

static int failerr(buf *why, int code, const char *a, const char *b)
{
	const char *e = strerror(errno);
	why->len = 0;
	buf_puts(why, a);
	if (b) buf_puts(why, b);
	buf_puts(why, ": ");
	buf_puts(why, e);
	return code;
}

static int rewind0(buf *why)
{
	if (lseek(0, 0, SEEK_SET) < 0) return failerr(why, 111, "unable to rewind the message", 0);
	return 0;
}

int fr_rewindable(buf *why)
{
	char b[8192];
	const char *dir = getenv("TMPDIR");
	int fd;

	if (lseek(0, 0, SEEK_CUR) >= 0) return 0;
	if (errno != ESPIPE) return failerr(why, 111, "unable to seek on the message", 0);
	if (!dir || dir[0] != '/') dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		buf name = BUF_INIT;
		if (buf_copys(&name, dir) < 0 || buf_puts(&name, "/fwdXXXXXX") < 0) return fail(why, 111, "out of memory", 0, 0);
		fd = mkstemp(name.s);
		if (fd >= 0) unlink(name.s);
		buf_free(&name);
		if (fd < 0) return failerr(why, 111, "unable to create a temporary file in ", dir);
	}
	for (;;) {
		ssize_t r = read(0, b, sizeof b);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { int e = errno; close(fd); errno = e; return failerr(why, 111, "unable to read the message", 0); }
		if (r == 0) break;
		if (write_all(fd, b, (size_t)r) < 0) { int e = errno; close(fd); errno = e; return failerr(why, 111, "unable to write a temporary file", 0); }
	}
	if (fd_move(0, fd) < 0) return failerr(why, 111, "unable to move the message to descriptor 0", 0);
	return rewind0(why);
}

int fr_lines(buf *out, const char *const *names)
{
	for (; *names; names++) {
		const char *v = getenv(*names);
		if (v && buf_puts(out, v) < 0) return -1;
	}
	return 0;
}

static int exitclass(int code)
{
	switch (code) {
	case 0: case 99:
		return 0;
	case 100: case 64: case 65: case 70: case 76: case 77: case 78: case 112:
		return 100;
	default:
		return 111;
	}
}

int fr_program(const char *cmd, const char *pre, size_t prelen, buf *why)
{
	char *argv[4];
	int p[2] = {-1, -1}, status, code;
	pid_t pid;

	if (rewind0(why)) return 111;
	if (prelen && pipe_above(p, 3) < 0) return failerr(why, 111, "unable to make a pipe", 0);
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)cmd;
	argv[3] = 0;
	pid = fork();
	if (pid < 0) {
		int e = errno;
		if (prelen) { close(p[0]); close(p[1]); }
		errno = e;
		return failerr(why, 111, "unable to fork", 0);
	}
	if (pid == 0) {
		if (prelen && dup2(p[0], 0) < 0) _exit(111);
		sig_default(SIGPIPE);
		execv("/bin/sh", argv);
		_exit(111);
	}
	if (prelen) {
		/* The program may stop reading early: that is its business, and
		 * its exit code says how it went (SIGPIPE is ignored here). */
		char b[8192];
		int ok = 1;
		close(p[0]);
		if (write_all(p[1], pre, prelen) < 0) ok = 0;
		while (ok) {
			ssize_t r = read(0, b, sizeof b);
			if (r < 0 && errno == EINTR) continue;
			if (r <= 0) break;
			if (write_all(p[1], b, (size_t)r) < 0) ok = 0;
		}
		close(p[1]);
	}
	if (wait_pid(pid, &status, 0) < 0) return failerr(why, 111, "unable to wait for a program", 0);
	code = wait_code(status);
	if (code < 0) return fail(why, 111, "program crashed: ", cmd, 0);
	if (exitclass(code)) {
		char num[24];
		fmt_ulong(num, (unsigned long long)code);
		why->len = 0;
		buf_puts(why, "program ");
		buf_puts(why, cmd);
		buf_puts(why, " exited ");
		buf_puts(why, num);
	}
	return exitclass(code);
}

int fr_file(const char *path, buf *why)
{
	static const char *const mboxlines[] = {"UFLINE", "RPLINE", "DTLINE", 0};
	static const char *const mdlines[] = {"RPLINE", "DTLINE", 0};
	static unsigned long counter;
	size_t n = strlen(path);
	buf pre = BUF_INIT, r = BUF_INIT;
	int md = n && path[n - 1] == '/', rc;

	if (fr_lines(&pre, md ? mdlines : mboxlines) < 0) return fail(why, 111, "out of memory", 0, 0);
	if (md) rc = maildir_deliver(AT_FDCWD, path, 0, pre.s ? pre.s : "", pre.len, &counter, 0, &r);
	else rc = mbox_deliver(AT_FDCWD, path, 0, pre.s ? pre.s : "", pre.len, &r);
	buf_free(&pre);
	if (rc < 0) {
		fail(why, 111, r.s ? r.s : "file delivery failed", 0, 0);
		buf_free(&r);
		return 111;
	}
	buf_free(&r);
	return 0;
}

int fr_queue(const char *sender, const char *rcpts, size_t len, buf *why)
{
	static const char *const dt[] = {"DTLINE", 0};
	char b[16384];
	buf top = BUF_INIT;
	size_t pos = 0;
	qq q;
	int r;

	if (rewind0(why)) return 111;
	if (fr_lines(&top, dt) < 0) return fail(why, 111, "out of memory", 0, 0);
	if (qq_open(&q, 0) < 0) { buf_free(&top); return failerr(why, 111, "unable to run qmail-queue", 0); }
	if (top.len) qq_put(&q, top.s, top.len);
	buf_free(&top);
	for (;;) {
		ssize_t k = read(0, b, sizeof b);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) { q.failed = 1; break; }
		if (k == 0) break;
		qq_put(&q, b, (size_t)k);
	}
	qq_from(&q, sender);
	while (pos < len) {
		size_t n = strlen(rcpts + pos);
		qq_to(&q, rcpts + pos, n);
		pos += n + 1;
	}
	why->len = 0;
	r = qq_close(&q, why);
	if (r == 0) return 0;
	{
		buf m = BUF_INIT;
		buf_puts(&m, "unable to forward the message: ");
		buf_put(&m, why->s, why->len);
		buf_copy(why, m.s, m.len);
		buf_free(&m);
	}
	return r == 'D' ? 100 : 111;
}
