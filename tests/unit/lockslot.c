/* Unit tests for src/lib/lockslot.c: N slots per key across processes,
 * released when the holder exits, keys independent. */
#include "tap.h"
#include "lib/lockslot.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

/* A child that takes a slot for key and waits; returns its pid once the
 * slot is taken (or -1 when it could not take one). */
static pid_t holder(const char *path, const char *key, unsigned long max)
{
	int p[2];
	char c;
	pid_t pid;
	if (pipe(p) < 0) return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDWR | O_CREAT, 0600);
		long s = lockslot_take(fd, key, strlen(key), max);
		(void)!write(p[1], s >= 0 ? "y" : "n", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1 || c != 'y') { close(p[0]); kill(pid, SIGKILL); waitpid(pid, 0, 0); return -1; }
	close(p[0]);
	return pid;
}

int main(void)
{
	char path[] = "/tmp/nq-lockslot-XXXXXX";
	int fd = mkstemp(path);
	pid_t a, b, c;

	a = holder(path, "192.0.2.1", 2);
	b = holder(path, "192.0.2.1", 2);
	ok(a > 0 && b > 0, "two holders for one key with max 2");
	c = holder(path, "192.0.2.1", 2);
	ok(c < 0, "a third is refused");
	errno = 0;
	ok(lockslot_take(fd, "192.0.2.1", 9, 2) < 0 && errno == EAGAIN, "and so is this process: EAGAIN");
	c = holder(path, "192.0.2.2", 2);
	ok(c > 0, "another key has its own slots");
	kill(a, SIGKILL);
	waitpid(a, 0, 0);
	ok(lockslot_take(fd, "192.0.2.1", 9, 2) >= 0, "a slot frees when its holder dies");
	kill(b, SIGKILL);
	kill(c, SIGKILL);
	waitpid(b, 0, 0);
	waitpid(c, 0, 0);
	ok(lockslot_take(fd, "x", 1, 0) < 0 && errno == EINVAL, "max 0 is an error");
	unlink(path);
	return done_testing();
}
