/* predate: give a message a Date field in local time, then hand it on.
 *
 *   predate program [arg ...]
 *
 * qmail-inject dates a message in UTC ("-0000": zone unknown). A user who
 * wants the local time and offset in the Date field runs the injector
 * through predate (datemail is "predate sendmail"). predate writes
 * "Date: " and the current local date-time with its offset from UTC to
 * program's standard input, then copies its own standard input after it,
 * and exits with program's exit code (a crash is 111).
 *
 * program is found in PATH and run without a shell; memory is a fixed
 * buffer whatever the size of the message. Exit codes: program's, 100
 * usage, 111 temporary trouble. */
#include "mail/header.h"
#include "lib/child.h"
#include "lib/err.h"
#include "lib/sig.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	buf date = BUF_INIT;
	int wfd, r, code;
	pid_t pid;

	err_prog = "predate";
	sig_ignore(SIGPIPE);
	if (argc < 2) err_die(EXIT_PERM, "usage: predate program [arg ...]", (char *)0);
	if (buf_copys(&date, "Date: ") < 0 || header_date(&date, time(0)) < 0 || buf_putc(&date, '\n') < 0)
		err_nomem();

	pid = child_pipe(argv + 1, &wfd);
	if (pid < 0) err_dieerr(EXIT_TEMP, "unable to start ", argv[1], (char *)0);
	r = child_feed(wfd, date.s, date.len, 0);
	if (r == -1) {
		err_warnerr("unable to read the message", (char *)0);
		kill(pid, SIGTERM);
	}
	close(wfd);
	code = child_wait(pid);
	if (r == -1) return EXIT_TEMP;
	if (code == CHILD_WAITERR) err_dieerr(EXIT_TEMP, "unable to wait for ", argv[1], (char *)0);
	if (code == CHILD_CRASHED) err_die(EXIT_TEMP, argv[1], " crashed", (char *)0);
	return code;
}
