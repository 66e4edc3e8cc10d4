/* sig: installing handlers without SA_RESTART surprises, and child reaping. */
#ifndef NQ_SIG_H
#define NQ_SIG_H
#include <sys/types.h>

void sig_catch(int sig, void (*f)(int));    /* handler, no SA_RESTART */
void sig_ignore(int sig);
void sig_default(int sig);
void sig_block(int sig);
void sig_unblock(int sig);
/* waitpid that retries on EINTR; returns pid, 0 (none ready with nohang), -1 */
pid_t wait_pid(pid_t pid, int *status, int nohang);
/* Exit code of a wait status; signals become 111-ish: -1 means crashed. */
int wait_code(int status);

#endif
