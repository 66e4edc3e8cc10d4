/* forward: send the message on to one or more addresses.
 *
 *   in .qmail:  | forward address ...
 *
 * The same as writing each address on its own line of the .qmail file,
 * except that the addresses can be computed by the shell at delivery time
 * ("| forward \"$DEFAULT\"@example.org"). The message goes back into the
 * queue through qmail-queue with $DTLINE on top and $NEWSENDER (the
 * sender qmail-local chose for forwards, see dot-qmail(5)) as its
 * envelope sender.
 *
 * Exit codes: 0 queued ("forward: qp N", which qmail-local
 * puts in its report), 100 usage, missing
 * environment or a permanent refusal by qmail-queue, 111 temporary. */
#include "mail/resend.h"
#include "lib/err.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <signal.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	const char *sender, *dtline;
	buf why = BUF_INIT;
	unsigned long qp;
	char num[24];
	int r;

	err_prog = "forward";
	sig_ignore(SIGPIPE);
	if (argc < 2) err_die(EXIT_PERM, "usage: forward address ...", (char *)0);
	if (!(sender = getenv("NEWSENDER"))) err_die(EXIT_PERM, "NEWSENDER not set", (char *)0);
	if (!(dtline = getenv("DTLINE"))) err_die(EXIT_PERM, "DTLINE not set", (char *)0);

	r = resend(0, dtline, sender, argv + 1, (size_t)(argc - 1), &qp, &why);
	if (r) err_die(r == 'D' ? EXIT_PERM : EXIT_TEMP, why.s, (char *)0);
	fmt_ulong(num, qp);
	err_warn("qp ", num, (char *)0);
	return 0;
}
