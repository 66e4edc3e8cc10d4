/* Unit tests for src/lib/child.c: exit codes, crashes, programs that
 * cannot be run, feeding a pipe, temporary errno values. */
#include "tap.h"
#include "lib/child.h"
#include "lib/err.h"
#include "lib/sig.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	char *exit7[] = {"sh", "-c", "exit 7", 0};
	char *crash[] = {"sh", "-c", "kill -9 $$", 0};
	char *none[] = {"/nonexistent/program", 0};
	char *count[] = {"sh", "-c", "test \"$(wc -c)\" -eq 100006", 0};
	char *quit[] = {"true", 0};
	char b[100000];
	int fd, wfd, r;
	pid_t pid;

	err_prog = "child-test";
	sig_ignore(SIGPIPE);
	ok(child_wait(child_start(exit7, -1)) == 7, "exit code");
	ok(child_wait(child_start(crash, -1)) == CHILD_CRASHED, "crash");
	ok(child_wait(child_start(none, -1)) == 100, "a program that does not exist: 100");
	ok(errno_temp(ENOMEM) && errno_temp(EAGAIN) && errno_temp(ENOSPC) && !errno_temp(ENOENT)
	   && !errno_temp(EACCES), "temporary and permanent errno values");

	memset(b, 'x', sizeof b);
	fd = memfd_create("t", 0);
	if (write(fd, b, sizeof b) != (ssize_t)sizeof b) return 1;
	lseek(fd, 0, SEEK_SET);
	pid = child_pipe(count, &wfd);
	r = child_feed(wfd, "pre:\n", 6, fd);
	close(wfd);
	ok(r == 0 && child_wait(pid) == 0, "prefix and all input reach the child");
	lseek(fd, 0, SEEK_SET);
	pid = child_pipe(quit, &wfd);
	usleep(100000);
	r = child_feed(wfd, "", 0, fd);
	close(wfd);
	ok(r == -2 && errno == EPIPE && child_wait(pid) == 0, "a child that stops reading: EPIPE, its own code");
	pid = child_pipe(quit, &wfd);
	r = child_feed(wfd, "", 0, -1);
	close(wfd);
	ok(r == -1 && child_wait(pid) == 0, "a read error is told apart");
	close(fd);
	return done_testing();
}
