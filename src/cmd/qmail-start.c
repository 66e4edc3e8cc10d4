/* qmail-start: turn on mail delivery (qmail-start(8)).
 *
 *     qmail-start [defaultdelivery [logger arg ...]]
 *
 * Run as root (or by the owner of a single-user instance), it creates the
 * pipes between the daemons, starts each under its own uid (DIR/users/ids,
 * src/mail/instance.h) and finally becomes qmail-send itself, so the
 * process a supervisor started (and signals) is the queue manager:
 *
 *   qmail-lspawn  root     fd 0 requests from qmail-send, fd 1 reports
 *   qmail-rspawn  qmailr   likewise; only when DIR/bin/qmail-rspawn exists
 *   qmail-clean   qmailq   fd 0 requests from qmail-send, fd 1 replies
 *   logger        qmaill   fd 0 qmail-send's log (only when one is named)
 *   qmail-send    qmails   fd 0 log (the logger's pipe, else our fd 1),
 *                          1/2 to/from qmail-lspawn, 3/4 to/from
 *                          qmail-rspawn (closed when there is none),
 *                          5/6 to/from qmail-clean
 *
 * Each pipe end is held by exactly one process (all are close-on-exec
 * until moved into place), so when qmail-send exits every daemon and the
 * logger read end of file and exit too: a restart is always clean.
 * defaultdelivery goes to qmail-lspawn; when it is not given,
 * control/defaultdelivery is used, else ./Maildir/. The environment is
 * passed on unchanged (it reaches qmail-local). */
#include "lib/err.h"
#include "lib/fdpipe.h"
#include "lib/fs.h"
#include "lib/sig.h"
#include "mail/control.h"
#include "mail/instance.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "usage: qmail-start [defaultdelivery [logger arg ...]]"
#define FDMIN 10   /* pipes live above the numbers the children receive */

static nq_ids ids;

/* Put the descriptors in place: want[i] becomes descriptor i (-1: leave
 * i closed). Sources are all >= FDMIN, so no dup2 clobbers another. */
static void place(const int *want, int n)
{
	int i;
	for (i = 0; i < n; i++) {
		if (want[i] < 0) { close(i); continue; }
		if (dup2(want[i], i) < 0) err_dieerr(EXIT_TEMP, "unable to set up descriptors", (char *)0);
	}
}

/* Fork a daemon: descriptors from want[0..n), user role, then exec. */
static void start(const char *what, const int *want, int n, int role, char **argv, int path)
{
	pid_t pid = fork();
	if (pid < 0) err_dieerr(EXIT_TEMP, "unable to fork for ", what, (char *)0);
	if (pid) return;
	place(want, n);
	if (role >= 0) nq_become(&ids, (enum nq_role)role);
	sig_default(SIGPIPE);
	if (path) execvp(argv[0], argv);
	else execv(argv[0], argv);
	err_dieerr(EXIT_TEMP, "unable to run ", argv[0], (char *)0);
}

static void mkpipe(int p[2])
{
	if (pipe_above(p, FDMIN) < 0) err_dieerr(EXIT_TEMP, "unable to create pipe", (char *)0);
}

int main(int argc, char **argv)
{
	buf dd = BUF_INIT, bin[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	int tol[2], froml[2], tor[2], fromr[2], toc[2], fromc[2], lg[2] = { -1, -1 };
	int rspawn, want[7];
	char *av[3];
	struct stat st;

	err_prog = "qmail-start";
	(void)argc;
	if (nq_ids_read(&ids) < 0) err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/users/ids", (char *)0);
	if (!ids.single && geteuid() != 0) err_die(EXIT_TEMP, "must be run as root", (char *)0);
	nq_chdir_home();

	if (argv[1]) {
		if (buf_copys(&dd, argv[1]) < 0) err_nomem();
	} else if (control_readline(&dd, "defaultdelivery", "./Maildir/") < 0)
		err_dieerr(EXIT_TEMP, "unable to read control/defaultdelivery", (char *)0);

	nq_path(&bin[0], "bin/qmail-send");
	nq_path(&bin[1], "bin/qmail-lspawn");
	nq_path(&bin[2], "bin/qmail-rspawn");
	nq_path(&bin[3], "bin/qmail-clean");
	rspawn = stat(bin[2].s, &st) == 0;

	mkpipe(tol); mkpipe(froml);
	mkpipe(toc); mkpipe(fromc);
	tor[0] = tor[1] = fromr[0] = fromr[1] = -1;
	if (rspawn) { mkpipe(tor); mkpipe(fromr); }
	if (argv[1] && argv[2]) {
		mkpipe(lg);
		want[0] = lg[0];
		start("logger", want, 1, R_QMAILL, argv + 2, 1);
	}

	av[2] = 0;
	av[0] = bin[1].s; av[1] = dd.s;
	want[0] = tol[0]; want[1] = froml[1];
	start("qmail-lspawn", want, 2, -1, av, 0);
	if (rspawn) {
		av[0] = bin[2].s; av[1] = 0;
		want[0] = tor[0]; want[1] = fromr[1];
		start("qmail-rspawn", want, 2, R_QMAILR, av, 0);
	}
	av[0] = bin[3].s; av[1] = 0;
	want[0] = toc[0]; want[1] = fromc[1];
	start("qmail-clean", want, 2, R_QMAILQ, av, 0);

	/* Ourselves: become qmail-send. Without a logger the log is our
	 * standard output, moved above FDMIN first like every other source. */
	if (lg[1] < 0) {
		lg[1] = fcntl(1, F_DUPFD_CLOEXEC, FDMIN);
		if (lg[1] < 0) err_dieerr(EXIT_TEMP, "unable to set up descriptors", (char *)0);
	}
	want[0] = lg[1];
	want[1] = tol[1]; want[2] = froml[0];
	want[3] = tor[1]; want[4] = fromr[0];
	want[5] = toc[1]; want[6] = fromc[0];
	nq_become(&ids, R_QMAILS);
	place(want, 7);
	av[0] = bin[0].s; av[1] = 0;
	execv(av[0], av);
	_exit(111);   /* nowhere left to say it: fd 2 is a pipe now */
}
