/* sig: signal handling helpers. */
#include "lib/sig.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

void sig_catch(int sig, void (*f)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = f;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

void sig_ignore(int sig) { sig_catch(sig, SIG_IGN); }
void sig_default(int sig) { sig_catch(sig, SIG_DFL); }

static void mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, 0);
}

void sig_block(int sig) { mask(SIG_BLOCK, sig); }
void sig_unblock(int sig) { mask(SIG_UNBLOCK, sig); }

pid_t wait_pid(pid_t pid, int *status, int nohang)
{
	pid_t r;
	do r = waitpid(pid, status, nohang ? WNOHANG : 0);
	while (r < 0 && errno == EINTR);
	return r;
}

int wait_code(int status)
{
	if (WIFEXITED(status)) return WEXITSTATUS(status);
	return -1;
}
