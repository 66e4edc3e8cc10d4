/* preline: feed the message to a program with the lines an mbox-minded
 * program expects in front of it.
 *
 *   in .qmail:  | preline [-dfr] command [arg ...]
 *
 * qmail-local gives a program the message as it was queued and describes
 * the envelope in the environment (qmail-command(8)). Programs written for
 * sendmail, procmail first of all, expect the envelope inside the message
 * instead. preline writes $UFLINE (the "From sender date" line), $RPLINE
 * (Return-Path) and $DTLINE (Delivered-To) to the command's standard
 * input, then the message, and exits with the command's exit code, so
 * qmail-local judges the delivery by what the command said.
 *
 * Options (before the command): -f, -r, -d leave out the From_,
 * Return-Path and Delivered-To line; -F, -R, -D put them back.
 *
 * Nothing here passes the message to a shell: the command is run with
 * execvp and the arguments from the .qmail line. Memory is a fixed
 * buffer whatever the message size. If the command stops reading early,
 * its own exit code decides (it chose not to read the rest).
 * Exit codes: the command's; 100 usage, or the command cannot be run for
 * good; 111 a temporary problem, or the command crashed. */
#include "lib/child.h"
#include "lib/err.h"
#include "lib/sig.h"
#include "lib/buf.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define USAGE "usage: preline [-dfrDFR] command [arg ...]"

int main(int argc, char **argv)
{
	int withuf = 1, withrp = 1, withdt = 1;
	const char *uf, *rp, *dt;
	buf pre = BUF_INIT;
	int opt, wfd, r, code;
	pid_t pid;

	err_prog = "preline";
	sig_ignore(SIGPIPE);
	uf = getenv("UFLINE");
	rp = getenv("RPLINE");
	dt = getenv("DTLINE");
	if (!uf || !rp || !dt) err_die(EXIT_PERM, USAGE, " (UFLINE, RPLINE and DTLINE must be set, as qmail-local does)", (char *)0);

	/* "+": options stop at the command; its own options are its own. */
	while ((opt = getopt(argc, argv, "+frdFRD")) != -1)
		switch (opt) {
		case 'f': withuf = 0; break;
		case 'r': withrp = 0; break;
		case 'd': withdt = 0; break;
		case 'F': withuf = 1; break;
		case 'R': withrp = 1; break;
		case 'D': withdt = 1; break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	if (optind >= argc) err_die(EXIT_PERM, USAGE, (char *)0);

	if ((withuf && buf_puts(&pre, uf) < 0) || (withrp && buf_puts(&pre, rp) < 0)
	    || (withdt && buf_puts(&pre, dt) < 0))
		err_nomem();

	pid = child_pipe(argv + optind, &wfd);
	if (pid < 0) err_dieerr(EXIT_TEMP, "unable to start ", argv[optind], (char *)0);
	r = child_feed(wfd, pre.s, pre.len, 0);
	if (r == -1) {
		/* We could not read the message: the command must not take a
		 * truncated copy for a whole one. */
		err_warnerr("unable to read the message", (char *)0);
		kill(pid, SIGTERM);
	}
	close(wfd);
	code = child_wait(pid);
	if (r == -1) _exit(EXIT_TEMP);
	if (code == CHILD_WAITERR) err_dieerr(EXIT_TEMP, "unable to wait for ", argv[optind], (char *)0);
	if (code == CHILD_CRASHED) err_die(EXIT_TEMP, argv[optind], " crashed", (char *)0);
	return code;
}
