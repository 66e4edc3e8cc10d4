/* qmail-tlsrpt: mail the day's TLS reports (RFC 8460, qmail-tlsrpt(8)).
 *
 *     qmail-tlsrpt [-n] [-k] [-f sender] [YYYY-MM-DD]
 *
 * For the day given (default: yesterday, UTC), read the counts that
 * qmail-remote left in DIR/queue/mtasts/tlsrpt.DAY; for each policy
 * domain in them, look up the TLS-RPT record "_smtp._tls.DOMAIN" (TXT,
 * through control/dnsservers), build the aggregate JSON report and queue
 * it through qmail-queue to the record's mailto: addresses, as the
 * multipart/report of RFC 8460 section 5.3 (report-type "tlsrpt", the
 * JSON as application/tlsrpt+json). https: addresses are not supported
 * and are skipped. A domain without a TLS-RPT record gets no report.
 *
 * Options: -n prints each report's JSON on one line (and sends nothing);
 * -k keeps the counts file after sending (by default it is renamed to
 * tlsrpt.DAY.sent, so a second run sends nothing twice); -f sets the
 * envelope sender (default postmaster@ME, ME from control/me, which is
 * also the organization-name and the submitter).
 *
 * Exit codes: 0 done (also when there were no counts), 100 usage, 111
 * a temporary failure (DNS, qmail-queue, reading): the counts are kept
 * and the run may be repeated. */
#include "mail/control.h"
#include "mail/date822.h"
#include "mail/dns.h"
#include "mail/dnstxt.h"
#include "mail/instance.h"
#include "mail/mtasts.h"
#include "mail/qqclient.h"
#include "mail/tlsrpt.h"
#include "lib/base64.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "usage: qmail-tlsrpt [-n] [-k] [-f sender] [YYYY-MM-DD]"

static int dry, keep;
static const char *sender;
static buf me, from;
static char day[11];
static time_t daystart;

/* The mailto: addresses of domain's one TLSRPTv1 record into to. 1 found,
 * 0 none to send to (why says), -1 DNS failed. */
static int rua(const char *domain, buf *to, size_t *nto, buf *why)
{
	buf name = BUF_INIT, recs = BUF_INIT, one = BUF_INIT;
	size_t n = 0, k, found = 0, nm = 0, no = 0, https = 0;
	const char *s;
	int r, bad = 0;

	*nto = 0;
	to->len = 0;
	if (buf_copys(&name, "_smtp._tls.") < 0 || buf_puts(&name, domain) < 0) err_nomem();
	r = dnstxt_lookup(name.s, &recs, &n, why);
	buf_free(&name);
	if (r == DNS_SOFT) { buf_free(&recs); return -1; }
	for (k = 0, s = recs.s; r == DNS_FOUND && k < n; k++, s += strlen(s) + 1) {
		int t = tlsrpt_rua(s, strlen(s), &one, &nm, &no);
		if (t == 0) continue;
		found++;
		if (t < 0) { bad = 1; continue; }
		if (buf_put(to, one.s ? one.s : "", one.len) < 0) err_nomem();
		*nto += nm;
		https += no;
	}
	buf_free(&recs);
	buf_free(&one);
	r = 0;
	if (!found) (void)buf_copys(why, "no TLS-RPT record");
	else if (found > 1 || bad) (void)buf_copys(why, found > 1 ? "more than one TLS-RPT record" : "a malformed TLS-RPT record");
	else if (!*nto) (void)buf_copys(why, https ? "only https: report addresses, which qmail-tlsrpt does not use" : "no report address");
	else r = 1;
	return r;
}

/* The cached policy's text for domain (for policy-string and mx-host). */
static void cachedpolicy(const char *domain, buf *text)
{
	buf path = BUF_INIT, raw = BUF_INIT;
	mtasts_policy p = MTASTS_POLICY_INIT;
	text->len = 0;
	nq_path(&path, MTASTS_DIR "/policy.");
	if (buf_puts(&path, domain) < 0) err_nomem();
	if (read_file(path.s, &raw, MTASTS_BODY_MAX + 64) == 0 && mtasts_cache_parse(raw.s ? raw.s : "", raw.len, &p) == 0 &&
	    buf_copy(text, p.text.s ? p.text.s : "", p.text.len) < 0)
		err_nomem();
	mtasts_free(&p);
	buf_free(&path);
	buf_free(&raw);
}

static void put(buf *m, const char *s) { if (buf_puts(m, s) < 0) err_nomem(); }

/* The report as a message (RFC 8460 section 5.3). */
static void message(buf *m, const char *domain, const buf *json, const buf *to, size_t nto)
{
	char date[DATE822_MAX], n1[24], n2[24], pid[24];
	buf b64 = BUF_INIT;
	const char *a;
	size_t k, i;

	m->len = 0;
	date822_fmt(date, time(0));
	fmt_ulong(n1, (unsigned long long)daystart);
	fmt_ulong(n2, (unsigned long long)daystart + 86399);
	fmt_ulong(pid, (unsigned long long)getpid());
	put(m, "From: "); put(m, from.s); put(m, "\n");
	put(m, "To: ");
	for (k = 0, a = to->s; k < nto; k++, a += strlen(a) + 1) { if (k) put(m, ",\n "); put(m, a); }
	put(m, "\nDate: "); put(m, date); put(m, "\n");
	put(m, "Message-ID: <tlsrpt."); put(m, day); put(m, "."); put(m, domain); put(m, "."); put(m, pid);
	put(m, "@"); put(m, me.s); put(m, ">\n");
	put(m, "Subject: Report Domain: "); put(m, domain); put(m, " Submitter: "); put(m, me.s);
	put(m, " Report-ID: <"); put(m, day); put(m, "_"); put(m, domain); put(m, "@"); put(m, me.s); put(m, ">\n");
	put(m, "TLS-Report-Domain: "); put(m, domain); put(m, "\n");
	put(m, "TLS-Report-Submitter: "); put(m, me.s); put(m, "\n");
	put(m, "MIME-Version: 1.0\n");
	put(m, "Content-Type: multipart/report; report-type=\"tlsrpt\";\n boundary=\"=_tlsrpt_"); put(m, day); put(m, "\"\n\n");
	put(m, "This is a MIME message: a TLS report (RFC 8460).\n\n");
	put(m, "--=_tlsrpt_"); put(m, day); put(m, "\nContent-Type: text/plain; charset=us-ascii\n\n");
	put(m, "This is the aggregate TLS report (RFC 8460) from "); put(m, me.s); put(m, "\nfor mail sent to ");
	put(m, domain); put(m, " on "); put(m, day); put(m, " (UTC).\n\n");
	put(m, "--=_tlsrpt_"); put(m, day);
	put(m, "\nContent-Type: application/tlsrpt+json\nContent-Transfer-Encoding: base64\n");
	put(m, "Content-Disposition: attachment;\n filename=\""); put(m, me.s); put(m, "!"); put(m, domain); put(m, "!");
	put(m, n1); put(m, "!"); put(m, n2); put(m, ".json\"\n\n");
	if (b64_encode(&b64, json->s, json->len) < 0) err_nomem();
	for (i = 0; i < b64.len; i += 76) {
		if (buf_put(m, b64.s + i, b64.len - i < 76 ? b64.len - i : 76) < 0) err_nomem();
		put(m, "\n");
	}
	put(m, "\n--=_tlsrpt_"); put(m, day); put(m, "--\n");
	buf_free(&b64);
}

/* Queue m for the nto addresses in to. 0 or 'D'/'Z' with why. */
static int queue(const buf *m, const buf *to, size_t nto, buf *why)
{
	qq q;
	size_t k;
	const char *a;
	if (qq_open(&q, 0) < 0) { (void)buf_copys(why, "unable to run qmail-queue"); return 'Z'; }
	qq_put(&q, m->s, m->len);
	qq_from(&q, from.s);
	for (k = 0, a = to->s; k < nto; k++, a += strlen(a) + 1) qq_to(&q, a, strlen(a));
	return qq_close(&q, why);
}

static int temp;              /* a temporary failure: keep the counts */

/* The report for one domain (its count lines alone): looked up, built,
 * printed (-n) or queued. */
static int report(void *ctx, const char *d, const char *lines, size_t len)
{
	static buf json, policy, to, msg, why;
	tlsrpt_meta m;
	unsigned long sessions;
	size_t nto;
	int r;

	(void)ctx;
	why.len = 0;
	r = rua(d, &to, &nto, &why);
	if (r < 0) {
		err_warn("DNS failed for _smtp._tls.", d, ": ", why.s ? why.s : "?", "; will try again", (char *)0);
		temp = 1;
		return 0;
	}
	if (r == 0) { err_warn(d, ": ", why.s, "; no report sent", (char *)0); return 0; }
	cachedpolicy(d, &policy);
	m.org = me.s;
	m.contact = from.s;
	m.day = day;
	m.policy = policy.len ? policy.s : 0;
	m.policylen = policy.len;
	if (tlsrpt_json(lines, len, d, &m, &json, &sessions) < 0) err_nomem();
	if (dry) {
		if (write_all(1, json.s, json.len) < 0) err_dieerr(EXIT_TEMP, "unable to write", (char *)0);
		return 0;
	}
	message(&msg, d, &json, &to, nto);
	why.len = 0;
	r = queue(&msg, &to, nto, &why);
	if (r) {
		err_warn("unable to queue the report for ", d, ": ", why.s ? why.s : "?", (char *)0);
		if (r == 'Z') temp = 1;
		return 0;
	}
	err_warn("report for ", d, " queued to ", to.s, nto > 1 ? " and others" : "", (char *)0);
	return 0;
}

/* The day's counts, at most TLSRPT_FILE_MAX bytes of them (a line cut
 * there is skipped). 0, or -1 with errno (ENOENT: none that day). */
static int readcounts(const char *path, buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t want;
	ssize_t r;
	if (fd < 0) return -1;
	if (fstat(fd, &st) < 0) { int e = errno; close(fd); errno = e; return -1; }
	want = st.st_size > 0 ? (size_t)st.st_size : 0;
	if (want > TLSRPT_FILE_MAX) {
		err_warn("counts beyond the first 64 MiB of ", path, " are not reported", (char *)0);
		want = TLSRPT_FILE_MAX;
	}
	if (buf_ready(b, want) < 0) err_nomem();
	r = read_full(fd, b->s, want);
	if (r < 0) { int e = errno; close(fd); errno = e; return -1; }
	b->len = (size_t)r;
	b->s[b->len] = 0;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	buf path = BUF_INIT, counts = BUF_INIT, why = BUF_INIT;
	int opt;

	err_prog = "qmail-tlsrpt";
	while ((opt = getopt(argc, argv, "nkf:")) != -1) {
		switch (opt) {
		case 'n': dry = 1; break;
		case 'k': keep = 1; break;
		case 'f': sender = optarg; break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	}
	if (argc - optind > 1) err_die(EXIT_PERM, USAGE, (char *)0);
	if (argc - optind == 1) {
		if (tlsrpt_dayscan(argv[optind], &daystart) < 0) err_die(EXIT_PERM, "not a day (YYYY-MM-DD): ", argv[optind], (char *)0);
		memcpy(day, argv[optind], sizeof day);
	} else {
		tlsrpt_day(time(0) - 86400, day);
		(void)tlsrpt_dayscan(day, &daystart);
	}
	signal(SIGPIPE, SIG_IGN);
	nq_chdir_home();
	if (control_readline(&me, "me", 0) < 0) err_dieerr(EXIT_TEMP, "unable to read control/me", (char *)0);
	if (!me.len) err_die(EXIT_TEMP, "control/me is missing or empty", (char *)0);
	if (sender) { if (buf_copys(&from, sender) < 0) err_nomem(); }
	else if (buf_copys(&from, "postmaster@") < 0 || buf_puts(&from, me.s) < 0) err_nomem();

	nq_path(&path, MTASTS_DIR "/tlsrpt.");
	if (buf_puts(&path, day) < 0) err_nomem();
	if (readcounts(path.s, &counts) < 0) {
		if (errno == ENOENT) return 0;        /* nothing was counted that day */
		err_dieerr(EXIT_TEMP, "unable to read ", path.s, (char *)0);
	}
	if (dns_init(&why) < 0) err_die(EXIT_TEMP, "unable to set up DNS: ", why.s ? why.s : "?", (char *)0);
	if (tlsrpt_split(counts.s, counts.len, report, 0) < 0) err_nomem();

	if (!dry && !keep && !temp) {
		char today[11];
		buf sent = BUF_INIT;
		tlsrpt_day(time(0), today);
		if (!strcmp(today, day)) err_warn("the day is not over: counts kept", (char *)0);
		else if (buf_copy(&sent, path.s, path.len) < 0 || buf_puts(&sent, ".sent") < 0) err_nomem();
		else if (rename(path.s, sent.s) < 0) err_dieerr(EXIT_TEMP, "unable to rename ", path.s, (char *)0);
		buf_free(&sent);
	}
	return temp ? EXIT_TEMP : 0;
}
