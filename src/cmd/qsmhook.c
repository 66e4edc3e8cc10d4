/* qsmhook: run a delivery program written for sendmail's mailer
 * interface from a .qmail line.
 *
 *   in .qmail:  | qsmhook [-lnP] [-x prefix] [-DFMms] program [arg ...]
 *
 * sendmail started such programs with the envelope in %-escapes of the
 * command line and often with a "From " line in front of the message.
 * qsmhook rebuilds that from qmail-local's environment (qmail-command(8)):
 * in each arg, %g becomes $SENDER, %h $HOST, %u the recipient's local
 * part ($LOCAL, less the -x prefix), %% a percent sign; any other %c is
 * dropped. The program then reads, on its standard input, $UFLINE (unless
 * -n), $RPLINE (with -P), $DTLINE (with -l) and the message.
 *
 * Options: -n no From_ line; -P add Return-Path; -l add Delivered-To;
 * -x prefix: strip prefix (any case) from the front of the local part;
 * -D -F -M -m -s are sendmail flags accepted and ignored.
 *
 * The substituted values go into the program's argument vector, never
 * through a shell, so nothing in an address can become a command. Memory
 * is bounded by the arguments, not by the message.
 * Exit codes: the program's; 100 usage or program not found; 111
 * temporary trouble or a crash of the program. */
#include "lib/buf.h"
#include "lib/child.h"
#include "lib/err.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "usage: qsmhook [-lnP] [-x prefix] [-DFMms] program [arg ...]"

static const char *need(const char *name)
{
	const char *v = getenv(name);
	if (!v) err_die(EXIT_PERM, USAGE, " (", name, " must be set, as qmail-local does)", (char *)0);
	return v;
}

/* arg with its %-escapes replaced, into a new NUL-terminated string. */
static char *expand(const char *arg, const char *sender, const char *host, const char *recip)
{
	buf b = BUF_INIT;
	const char *p;
	int e = 0;

	if (buf_copys(&b, "") < 0) err_nomem();
	for (p = arg; *p; p++) {
		if (*p != '%') { e |= buf_putc(&b, *p); continue; }
		if (!*++p) break;                 /* a lone % at the end: dropped */
		switch (*p) {
		case '%': e |= buf_putc(&b, '%'); break;
		case 'g': e |= buf_puts(&b, sender); break;
		case 'h': e |= buf_puts(&b, host); break;
		case 'u': e |= buf_puts(&b, recip); break;
		default: break;                   /* unknown escapes vanish */
		}
	}
	if (e) err_nomem();
	return b.s;
}

int main(int argc, char **argv)
{
	int withuf = 1, withrp = 0, withdt = 0;
	const char *uf, *rp, *dt, *recip, *host, *sender;
	buf pre = BUF_INIT;
	char **args;
	int opt, i, n, wfd, r, code;
	pid_t pid;

	err_prog = "qsmhook";
	sig_ignore(SIGPIPE);
	dt = need("DTLINE");
	rp = need("RPLINE");
	uf = need("UFLINE");
	recip = need("LOCAL");
	host = need("HOST");
	sender = need("SENDER");

	while ((opt = getopt(argc, argv, "+DFlMmnPsx:")) != -1)
		switch (opt) {
		case 'D': case 'F': case 'M': case 'm': case 's': break;
		case 'l': withdt = 1; break;
		case 'n': withuf = 0; break;
		case 'P': withrp = 1; break;
		case 'x':
			if (strlen(recip) >= strlen(optarg) && case_eqn(recip, optarg, strlen(optarg)))
				recip += strlen(optarg);
			break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	if (optind >= argc) err_die(EXIT_PERM, USAGE, (char *)0);

	n = argc - optind;
	args = calloc((size_t)n + 1, sizeof *args);
	if (!args) err_nomem();
	for (i = 0; i < n; i++) args[i] = expand(argv[optind + i], sender, host, recip);

	if ((withuf && buf_puts(&pre, uf) < 0) || (withrp && buf_puts(&pre, rp) < 0)
	    || (withdt && buf_puts(&pre, dt) < 0))
		err_nomem();
	pid = child_pipe(args, &wfd);
	if (pid < 0) err_dieerr(EXIT_TEMP, "unable to start ", args[0], (char *)0);
	r = child_feed(wfd, pre.s, pre.len, 0);
	if (r == -1) {
		err_warnerr("unable to read the message", (char *)0);
		kill(pid, SIGTERM);
	}
	close(wfd);
	code = child_wait(pid);
	if (r == -1) return EXIT_TEMP;
	if (code == CHILD_WAITERR) err_dieerr(EXIT_TEMP, "unable to wait for ", args[0], (char *)0);
	if (code == CHILD_CRASHED) err_die(EXIT_TEMP, args[0], " crashed", (char *)0);
	return code;
}
