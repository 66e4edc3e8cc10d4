/* srsreverse: deliver mail sent to one of our SRS addresses to the
 * address it stands for (srsreverse(8)).
 *
 *   in .qmail:  | srsreverse [ localpart ]
 *
 * Typical setup: control/virtualdomains has "srs.example.com:srs" and
 * ~alias/.qmail-srs-default is "|DIR/bin/srsreverse", so that
 * SRS0=HHHH=TT=orig.example=user@srs.example.com reaches this program
 * with $DEFAULT "SRS0=HHHH=TT=orig.example=user". The local part is the
 * argument, else $DEFAULT. The hash must come from one of the secrets in
 * control/srs and an SRS0 time stamp must be younger than
 * control/srsmaxage days (src/mail/srs.h); then the message goes back
 * into the queue through qmail-queue, with $DTLINE on top (a loop is
 * caught by qmail-local), to the decoded address, with the envelope
 * sender unchanged ($SENDER: a bounce stays a bounce).
 *
 * Exit codes follow qmail-command(8): 0 forwarded; 100 a forged, expired
 * or malformed address, or not an SRS address at all (the message
 * bounces, the text says why); 111 temporary trouble (control files,
 * qmail-queue). */
#include "mail/fwdrun.h"
#include "mail/srs.h"
#include "lib/err.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] = "usage: srsreverse [ localpart ]";

int main(int argc, char **argv)
{
	struct srs_cfg cfg = SRS_CFG_INIT;
	const char *local, *sender, *what;
	buf to = BUF_INIT, why = BUF_INIT;
	int r;

	err_prog = "srsreverse";
	sig_ignore(SIGPIPE);
	if (argc > 2) err_die(EXIT_PERM, usage, (char *)0);
	local = argc == 2 ? argv[1] : getenv("DEFAULT");
	if (!local) err_die(EXIT_PERM, "DEFAULT not set and no local part given; ", usage, (char *)0);
	if (!(sender = getenv("SENDER"))) err_die(EXIT_PERM, "SENDER not set", (char *)0);

	r = srs_load(&cfg, &what);
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to read ", what, (char *)0);
	if (r == 0) err_die(EXIT_PERM, "SRS is off here (control/srsdomain is not set); no mailbox here by that name. (#5.1.1)", (char *)0);

	r = srs_reverse(&to, &cfg, local, strlen(local), time(0));
	switch (r) {
	case SRS_OK:
		break;
	case -1:
		err_nomem();
	case SRS_NOSECRET:
		err_die(EXIT_TEMP, "control/srs holds no secret. (#4.3.5)", (char *)0);
	case SRS_BADHASH:
		err_die(EXIT_PERM, "Sorry, ", local, " is not a valid SRS address: its hash was not made here. (#5.7.1)", (char *)0);
	case SRS_EXPIRED:
		err_die(EXIT_PERM, "Sorry, the SRS address ", local, " has expired. (#5.1.1)", (char *)0);
	default:
		err_die(EXIT_PERM, "Sorry, ", local, ": ", srs_why(r), "; no mailbox here by that name. (#5.1.1)", (char *)0);
	}
	if (buf_put0(&to) < 0) err_nomem();

	if (fr_rewindable(&why)) err_die(EXIT_TEMP, why.s, (char *)0);
	r = fr_queue(sender, to.s, to.len, &why);
	if (r) err_die(r, why.s, (char *)0);
	err_warn("forwarded to ", to.s, (char *)0);
	srs_free(&cfg);
	buf_free(&to);
	buf_free(&why);
	return 0;
}
