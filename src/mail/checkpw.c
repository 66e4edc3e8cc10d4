/* checkpw: running a checkpassword program (see checkpw.h). */
#include "mail/checkpw.h"
#include "lib/fdpipe.h"
#include "lib/io.h"
#include "lib/sig.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int checkpw(char *const *argv, const char *login, size_t ll, const char *pass, size_t pl,
            const char *stamp, int timeout)
{
	char data[CHECKPW_DATA_MAX];
	size_t sl = strlen(stamp), n = 0;
	struct timespec nap = {0, 1000000};
	time_t end = timeout > 0 ? time(0) + timeout : 0;
	int p[2], st, nul;
	pid_t pid, w;

	if (ll + pl + sl + 3 > sizeof data) return CHECKPW_BAD;
	memcpy(data + n, login, ll); n += ll; data[n++] = 0;
	memcpy(data + n, pass, pl); n += pl; data[n++] = 0;
	memcpy(data + n, stamp, sl); n += sl; data[n++] = 0;

	if (pipe_above(p, 4) < 0) return CHECKPW_TEMP;
	pid = fork();
	if (pid < 0) { close(p[0]); close(p[1]); return CHECKPW_TEMP; }
	if (pid == 0) {
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(2, 1) < 0 || dup2(p[0], 3) < 0) _exit(111);
		sig_default(SIGPIPE);
		sig_default(SIGCHLD);
		execv(argv[0], argv);
		_exit(111);
	}
	close(p[0]);
	/* A pipe holds far more than CHECKPW_DATA_MAX: this cannot block. */
	(void)write_all(p[1], data, n);
	close(p[1]);
	memset(data, 0, sizeof data);

	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid) break;
		if (w < 0 && errno != EINTR) return CHECKPW_TEMP;
		if (end && time(0) > end) {
			kill(pid, SIGKILL);
			wait_pid(pid, &st, 0);
			return CHECKPW_TEMP;
		}
		nanosleep(&nap, 0);
		if (nap.tv_nsec < 50000000) nap.tv_nsec *= 2;
	}
	if (!WIFEXITED(st)) return CHECKPW_TEMP;
	if (WEXITSTATUS(st) == 0) return CHECKPW_OK;
	if (WEXITSTATUS(st) == 1) return CHECKPW_BAD;
	return CHECKPW_TEMP;
}
