/* smtpout: the work of qmail-remote(8): one message, one sender, some
 * recipients, all for one host; SMTP to the host's exchangers (or its
 * relay), and qmail-remote's reports to the caller.
 *
 * It lives in src/mail so that qmail-rspawn can run it in a forked child
 * without executing a program, as qmail-lspawn runs qmail-local's engine;
 * qmail-remote is a main() around it.
 *
 * Reports (qmail-remote(8)): for each recipient in order, 'r' (accepted),
 * 'h' (refused permanently) or 's' (refused for now) with a text; then
 * one message report, 'K' (the host took responsibility for every
 * accepted recipient), 'Z' (temporary failure) or 'D' (permanent), with
 * a text; each report ends with a NUL byte. Failures before the
 * recipients were offered have no recipient reports. Texts are qmail's:
 * "127.0.0.1 accepted message.\nRemote host said: 250 ok\n". */
#ifndef NQ_SMTPOUT_H
#define NQ_SMTPOUT_H

/* Deliver the message on msgfd (read from its current offset); write the
 * reports to outfd. Control files are read from the instance
 * (src/mail/instance.h). Always returns 0, as qmail-remote always exits 0;
 * problems are reports. */
int smtpout_run(const char *host, const char *sender, char *const *recips, int n, int msgfd, int outfd);

/* Kept sessions, for qmail-rspawn's delivery children. The first job is
 * delivered as smtpout_run does; when it ended with the session in good
 * order (the message accepted), the reports are followed by the record
 * "I" (the letter and a NUL: the child is idle) and nextjob(ctx, &job)
 * is asked for another job: 1 a job (its msgfd open, closed by us after
 * its delivery), 0 no more. A job for the same host, route, credentials
 * and TLS policy goes on the same session (a transaction after the last
 * one, as RFC 5321 allows); any other, or a session the server closed
 * meanwhile, gets a new connection. At most SMTPOUT_REUSE_MAX messages
 * go on one session. Never returns: the process exits when the session
 * is over. */
#define SMTPOUT_REUSE_MAX 100
typedef struct smtpout_job {
	const char *host, *sender;
	char *const *recips;
	int n;
	int msgfd;
} smtpout_job;
_Noreturn void smtpout_serve(const smtpout_job *first, int outfd, int (*nextjob)(void *ctx, smtpout_job *job), void *ctx);

#endif
