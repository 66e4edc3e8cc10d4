/* qmail-tcpto: print qmail-remote's table of hosts that timed out
 * (qmail-tcpto(8)), one line per host as qmail prints it:
 *     192.0.2.7 timed out 312 seconds ago; # recent timeouts: 2
 * The table is DIR/queue/lock/tcpto (src/mail/tcpto.h); qmail-tcpok
 * empties it. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/tcpto.h"
#include <time.h>

int main(int argc, char **argv)
{
	static tcpto_ent ents[TCPTO_N];
	io_out out;
	char num[24], ip[IPADDR_FMT];
	time_t now = time(0);
	int n, i;

	(void)argv;
	err_prog = "qmail-tcpto";
	if (argc > 1) err_die(EXIT_PERM, "usage: qmail-tcpto", (char *)0);
	nq_chdir_home();
	n = tcpto_list(ents);
	if (n < 0) err_dieerr(EXIT_TEMP, "unable to read queue/lock/tcpto", (char *)0);
	out_init(&out, 1, 0);
	for (i = 0; i < n; i++) {
		ipaddr_fmt(ip, &ents[i].ip);
		out_puts(&out, ip);
		out_puts(&out, " timed out ");
		fmt_ulong(num, (unsigned long long)(now > ents[i].when ? now - ents[i].when : 0));
		out_puts(&out, num);
		out_puts(&out, " seconds ago; # recent timeouts: ");
		fmt_ulong(num, ents[i].errors);
		out_puts(&out, num);
		out_puts(&out, "\n");
	}
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	return 0;
}
