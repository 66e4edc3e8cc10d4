/* condredirect: send the message elsewhere when a program says so.
 *
 *   in .qmail:  | condredirect newaddress program [arg ...]
 *
 * program (found in PATH, run without a shell) reads the message on its
 * standard input and answers with its exit code:
 *   0     the message is forwarded to newaddress, then condredirect exits
 *         99, so qmail-local skips the rest of the .qmail file;
 *   111   condredirect exits 111: the delivery is tried again later;
 *   other condredirect exits 0 (also when program cannot be run): the
 *         .qmail file goes on as if this line were not there.
 * A program that crashes is a temporary failure (111).
 *
 * The forward carries $DTLINE on top and $SENDER as its envelope sender,
 * as qmail's condredirect does. The message is read again from the start
 * of standard input, which qmail-local makes a seekable file; program
 * must not leave a child behind that is still reading it.
 * Exit codes: 99 forwarded, 0 not forwarded, 100 usage, missing
 * environment or permanent refusal by qmail-queue, 111 temporary. */
#include "mail/resend.h"
#include "lib/child.h"
#include "lib/err.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *sender, *dtline;
	buf why = BUF_INIT;
	unsigned long qp;
	char num[24];
	pid_t pid;
	int code, r;

	err_prog = "condredirect";
	if (argc < 3) err_die(EXIT_PERM, "usage: condredirect newaddress program [arg ...]", (char *)0);

	pid = child_start(argv + 2, -1);
	if (pid < 0) err_dieerr(EXIT_TEMP, "unable to start ", argv[2], (char *)0);
	code = child_wait(pid);
	if (code == CHILD_WAITERR) err_dieerr(EXIT_TEMP, "unable to wait for ", argv[2], (char *)0);
	if (code == CHILD_CRASHED) err_die(EXIT_TEMP, argv[2], " crashed", (char *)0);
	if (code == 111) err_die(EXIT_TEMP, "temporary failure of ", argv[2], (char *)0);
	if (code != 0) return 0;

	sig_ignore(SIGPIPE);
	if (!(sender = getenv("SENDER"))) err_die(EXIT_PERM, "SENDER not set", (char *)0);
	if (!(dtline = getenv("DTLINE"))) err_die(EXIT_PERM, "DTLINE not set", (char *)0);
	if (lseek(0, 0, SEEK_SET) < 0) err_dieerr(EXIT_TEMP, "unable to rewind the message", (char *)0);
	r = resend(0, dtline, sender, argv + 1, 1, &qp, &why);
	if (r) err_die(r == 'D' ? EXIT_PERM : EXIT_TEMP, why.s, (char *)0);
	fmt_ulong(num, qp);
	err_warn("qp ", num, (char *)0);
	return 99;
}
