/* qmail-mtasts: show the MTA-STS policy qmail-remote applies to a domain
 * (qmail-mtasts(8)).
 *
 *     qmail-mtasts domain [domain ...]
 *
 * For each domain, discover the policy exactly as qmail-remote does
 * (src/mail/mtasts.h: the _mta-sts TXT record through control/dnsservers,
 * the HTTPS fetch, the cache in DIR/queue/mtasts, which it updates), and
 * print one line:
 *     domain: enforce max_age 86400 id 20240101 fetched 1700000000 mx mx1.example.com *.example.net
 *     domain: none (why)
 * with ", cached after: REASON" when a failed refresh left the cached
 * policy in use. Run it as qmailr, so that a policy it stores stays
 * qmailr's. Exit 0; 100 usage; 111 when DNS cannot be set up or a
 * control file cannot be read. */
#include "mail/dns.h"
#include "mail/instance.h"
#include "mail/mtasts.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include <string.h>

static buf out;

static void put(const char *s) { if (buf_puts(&out, s) < 0) err_nomem(); }

int main(int argc, char **argv)
{
	mtasts_policy p = MTASTS_POLICY_INIT;
	buf why = BUF_INIT;
	int i;

	err_prog = "qmail-mtasts";
	if (argc < 2) err_die(EXIT_PERM, "usage: qmail-mtasts domain [domain ...]", (char *)0);
	nq_chdir_home();
	if (dns_init(&why) < 0) err_die(EXIT_TEMP, "unable to set up DNS: ", why.s ? why.s : "?", (char *)0);
	for (i = 1; i < argc; i++) {
		int r = mtasts_get(argv[i], &p, &why);
		if (r < 0) err_die(EXIT_TEMP, why.s ? why.s : "unable to read control files", (char *)0);
		out.len = 0;
		put(argv[i]);
		put(": ");
		if (r == 1) {
			char n[24];
			const char *mx = p.mx.s;
			size_t k;
			put(p.mode == MTASTS_ENFORCE ? "enforce" : "testing");
			fmt_ulong(n, p.max_age);
			put(" max_age "); put(n);
			put(" id "); put(p.id);
			fmt_ulong(n, (unsigned long long)p.fetched);
			put(" fetched "); put(n);
			put(" mx");
			for (k = 0; k < p.nmx; k++, mx += strlen(mx) + 1) { put(" "); put(mx); }
			if (p.fail) { put(", cached after: "); put(p.fail); if (why.len) { put(": "); put(why.s); } }
		} else {
			put("none");
			if (p.fail) { put(" ("); put(p.fail); if (why.len) { put(": "); put(why.s); } put(")"); }
			else if (why.len) { put(" ("); put(why.s); put(")"); }
		}
		put("\n");
		if (write_all(1, out.s, out.len) < 0) err_dieerr(EXIT_TEMP, "unable to write", (char *)0);
	}
	mtasts_free(&p);
	return 0;
}
