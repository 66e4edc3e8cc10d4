/* qmail-remote: send one message by SMTP (qmail-remote(8)).
 *
 *     qmail-remote host sender recip [recip ...]
 *
 * The message is on fd 0; the reports for qmail-rspawn (or any program
 * that runs qmail-remote the way qmail-rspawn does) go to fd 1: one per
 * recipient, 'r', 'h' or 's', then one for the message, 'K', 'Z' or 'D',
 * each a letter, a text and a NUL byte. It always exits 0: every problem,
 * including a wrong command line, is a report. The work is done by
 * src/mail/smtpout.c, which qmail-rspawn also runs without executing
 * this program. */
#include "lib/err.h"
#include "mail/instance.h"
#include "mail/smtpout.h"

int main(int argc, char **argv)
{
	err_prog = "qmail-remote";
	nq_chdir_home();
	return smtpout_run(argc > 1 ? argv[1] : 0, argc > 2 ? argv[2] : 0, argv + 3, argc > 3 ? argc - 3 : 0, 0, 1);
}
