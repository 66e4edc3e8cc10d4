/* child: start a program, feed it, wait for it (see child.h). */
#include "lib/child.h"
#include "lib/err.h"
#include "lib/fdpipe.h"
#include "lib/io.h"
#include "lib/sig.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

int errno_temp(int e)
{
	switch (e) {
	case EINTR: case ENOMEM: case ETXTBSY: case EIO: case ETIMEDOUT:
	case EAGAIN: case EDEADLK: case EBUSY: case ENFILE: case EMFILE:
	case EFBIG: case ENOSPC: case ENETDOWN: case ENETUNREACH: case ENETRESET:
	case ECONNABORTED: case ECONNRESET: case ENOBUFS: case ECONNREFUSED:
	case EHOSTDOWN: case EHOSTUNREACH: case EUSERS: case EDQUOT: case ESTALE:
	case ENOLCK:
		return 1;
	}
	return 0;
}

/* In the child, after fork: never returns. */
static _Noreturn void run(char *const *argv)
{
	int e;
	sig_default(SIGPIPE);
	execvp(argv[0], argv);
	e = errno;
	err_warnerr("unable to run ", argv[0], (char *)0);
	_exit(errno_temp(e) ? 111 : 100);
}

pid_t child_start(char *const *argv, int in)
{
	pid_t pid = fork();
	if (pid != 0) return pid;
	if (in > 0 && dup2(in, 0) < 0) { err_warnerr("unable to set up descriptors", (char *)0); _exit(111); }
	run(argv);
}

pid_t child_pipe(char *const *argv, int *wfd)
{
	int p[2], e;
	pid_t pid;

	/* Above 2, so that dup2 onto 0 never clobbers the other end. */
	if (pipe_above(p, 3) < 0) return -1;
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		if (dup2(p[0], 0) < 0) { err_warnerr("unable to set up descriptors", (char *)0); _exit(111); }
		run(argv);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

int child_wait(pid_t pid)
{
	int status, code;
	if (wait_pid(pid, &status, 0) < 0) return CHILD_WAITERR;
	code = wait_code(status);
	return code < 0 ? CHILD_CRASHED : code;
}

int child_feed(int out, const char *pre, size_t prelen, int in)
{
	char b[IO_BUFSIZE];
	ssize_t r;

	if (prelen && write_all(out, pre, prelen) < 0) return -2;
	for (;;) {
		r = read(in, b, sizeof b);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) return -1;
		if (r == 0) return 0;
		if (write_all(out, b, (size_t)r) < 0) return -2;
	}
}
