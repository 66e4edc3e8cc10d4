/* qmail-local: deliver or forward one message for one local recipient.
 *
 *   qmail-local [-nN] user homedir local dash ext domain sender defaultdelivery
 *
 * The message is on descriptor 0, a seekable file. qmail-lspawn calls the
 * same engine in a forked child under the recipient's uid (and runs this
 * program only when QMAILLOCAL names it); by hand, run it as the recipient. The work is done by local_deliver()
 * (src/mail/local.c); this file only reads the arguments and reports as
 * qmail-local does: the report on standard output (qmail-lspawn captures
 * it), exit 0 delivered, 100 permanent failure, 111 temporary failure.
 * See qmail-local(8), dot-qmail(5), qmail-command(8). */
#include "mail/local.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/sig.h"
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: qmail-local [ -nN ] user homedir local dash ext domain sender defaultdelivery";

int main(int argc, char **argv)
{
	struct local_req req = {0};
	struct local_result res = { 111, BUF_INIT };
	int opt;

	err_prog = "qmail-local";
	umask(077);
	/* a program or qmail-queue that dies early must not kill us */
	sig_ignore(SIGPIPE);

	req.doit = 1;
	/* "+": options end at the first argument; a sender or an extension
	 * that starts with '-' is never taken for an option */
	while ((opt = getopt(argc, argv, "+nN")) != -1)
		switch (opt) {
		case 'n': req.doit = 0; break;
		case 'N': req.doit = 1; break;
		default: err_die(EXIT_PERM, usage, (char *)0);
		}
	if (argc - optind != 8) err_die(EXIT_PERM, usage, (char *)0);
	argv += optind;
	req.user = argv[0];
	req.home = argv[1];
	req.local = argv[2];
	req.dash = argv[3];
	req.ext = argv[4];
	req.host = argv[5];
	req.sender = argv[6];
	req.defaultdelivery = argv[7];
	if (req.home[0] != '/') err_die(EXIT_PERM, usage, (char *)0);
	req.msgfd = 0;

	local_deliver(&req, &res);

	if (write_all(1, res.text.s, res.text.len) < 0 && res.code == 0) res.code = EXIT_TEMP;
	local_result_free(&res);
	return res.code;
}
