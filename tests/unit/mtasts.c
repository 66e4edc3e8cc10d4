/* Unit tests for src/mail/mtasts.c and src/mail/tlsrpt.c: the MTA-STS
 * policy parser (RFC 8461 section 3.2), the _mta-sts TXT record (3.1),
 * exchanger matching with the "*." rule (4.1), policy domains as file
 * names, the cache file's round trip, TLS-RPT's rua= record (RFC 8460
 * section 3), days, and the aggregate JSON built from count lines. */
#include "tap.h"
#include "mail/mtasts.h"
#include "mail/tlsrpt.h"
#include "lib/io.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* tlsrpt_split's callback: the domains seen, and the sessions of each. */
struct seen { buf doms; int n, bad; };
static int onsplit(void *ctx, const char *d, const char *lines, size_t len)
{
	struct seen *s = ctx;
	tlsrpt_meta m = { "me.test", "postmaster@me.test", "2026-11-29", 0, 0 };
	buf j = BUF_INIT;
	unsigned long sessions;
	size_t i, nl = 0;
	for (i = 0; i < len; i++) if (lines[i] == '\n') nl++;
	if (tlsrpt_json(lines, len, d, &m, &j, &sessions) < 0 || sessions != nl) s->bad = 1;
	buf_free(&j);
	if (buf_puts(&s->doms, d) < 0 || buf_putc(&s->doms, ' ') < 0) return -1;
	s->n++;
	return 0;
}

/* 8 processes append 250 counts each at once: every line whole. */
static int concurrent(void)
{
	char home[] = "/tmp/nq-tlsrpt-XXXXXX", path[128], day[11];
	buf text = BUF_INIT;
	struct seen seen = { BUF_INIT, 0, 0 };
	size_t lines = 0, i;
	int k, good = 1;
	pid_t pids[8];

	if (!mkdtemp(home)) return 0;
	snprintf(path, sizeof path, "%s/queue", home);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/queue/mtasts", home);
	mkdir(path, 0700);
	setenv("NQMAIL_HOME", home, 1);
	for (k = 0; k < 8; k++) {
		pids[k] = fork();
		if (pids[k] == 0) {
			char dom[32];
			snprintf(dom, sizeof dom, "d%d.test", k);
			for (i = 0; i < 250; i++) tlsrpt_record("sts", dom, i % 2 ? "success" : "validation-failure", "mx.example.com", "192.0.2.1", 0);
			_exit(0);
		}
	}
	for (k = 0; k < 8; k++) waitpid(pids[k], 0, 0);
	tlsrpt_day(time(0), day);
	snprintf(path, sizeof path, "%s/queue/mtasts/tlsrpt.%s", home, day);
	if (read_file(path, &text, 1 << 20) < 0) return 0;
	for (i = 0; i < text.len; i++) if (text.s[i] == '\n') lines++;
	if (tlsrpt_split(text.s, text.len, onsplit, &seen) < 0 || seen.n != 8 || seen.bad) good = 0;
	for (k = 0; good && k < 8; k++) {
		char dom[32];
		unsigned long sessions;
		tlsrpt_meta m = { "me.test", "postmaster@me.test", day, 0, 0 };
		buf j = BUF_INIT;
		snprintf(dom, sizeof dom, "d%d.test", k);
		if (tlsrpt_json(text.s, text.len, dom, &m, &j, &sessions) < 0 || sessions != 250) good = 0;
		buf_free(&j);
	}
	unlink(path);
	snprintf(path, sizeof path, "%s/queue/mtasts", home);
	rmdir(path);
	snprintf(path, sizeof path, "%s/queue", home);
	rmdir(path);
	rmdir(home);
	buf_free(&text);
	buf_free(&seen.doms);
	return good && lines == 2000;
}

static mtasts_policy p = MTASTS_POLICY_INIT;

static int parses(const char *s) { return mtasts_parse(s, strlen(s), &p, 0) == 0; }

static int txt(const char *s, const char *wantid)
{
	char id[MTASTS_ID_MAX + 1] = "";
	int r = mtasts_txt(s, strlen(s), id);
	if (wantid) return r == 1 && !strcmp(id, wantid);
	return r;
}

static int rua(const char *s, const char *want, size_t wmail, size_t wother)
{
	buf out = BUF_INIT;
	size_t nm, no;
	int r = tlsrpt_rua(s, strlen(s), &out, &nm, &no), ok;
	if (r != 1) { buf_free(&out); return 0; }
	ok = nm == wmail && no == wother && (!want || (out.len && !strcmp(out.s, want)));
	buf_free(&out);
	return ok;
}

int main(void)
{
	const char *good = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET\r\nmax_age: 86400\r\n";
	buf b = BUF_INIT;
	char dom[256];

	/* the policy */
	ok(parses(good), "a policy with CRLF lines parses");
	ok(p.mode == MTASTS_ENFORCE && p.max_age == 86400 && p.nmx == 2, "mode, max_age and both mx kept");
	ok(!strcmp(p.mx.s, "mail.example.com") && !strcmp(p.mx.s + strlen(p.mx.s) + 1, "*.example.net"), "mx patterns in lower case");
	ok(parses("version: STSv1\nmode: testing\nmx: mx.a.test\nmax_age: 600\n") && p.mode == MTASTS_TESTING, "LF lines, testing");
	ok(parses("version: STSv1\nmode: none\nmax_age: 600") && p.mode == MTASTS_NONE && p.nmx == 0, "none needs no mx; no final newline");
	ok(parses("  version:STSv1\t\nmode:   enforce  \n mx:a.test\nmax_age: 1\nfuture: x\n") && p.mode == MTASTS_ENFORCE,
	   "blanks around keys and values");
	ok(!parses("version : STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\n"), "a key with a blank before the colon is not version");
	ok(parses("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1\nextension: whatever: really\n\n\n"), "unknown keys and blank lines ignored");
	ok(!parses("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n"), "version STSv2 refused");
	ok(!parses("mode: enforce\nmx: a.test\nmax_age: 1\n"), "no version refused");
	ok(!parses("version: STSv1\nmx: a.test\nmax_age: 1\n"), "no mode refused");
	ok(!parses("version: STSv1\nmode: enforce\nmx: a.test\n"), "no max_age refused");
	ok(!parses("version: STSv1\nmode: enforce\nmax_age: 1\n"), "enforce without mx refused");
	ok(!parses("version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 1\n"), "mode is case-sensitive");
	ok(!parses("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 12345678901\n"), "max_age over ten digits refused");
	ok(!parses("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n"), "negative max_age refused");
	ok(parses("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 9999999999\n") && p.max_age == MTASTS_MAXAGE_MAX,
	   "max_age above a year is capped at 31557600");
	ok(!parses("version: STSv1\nmode: enforce\nmx: a..test\nmax_age: 1\n"), "empty label in mx refused");
	ok(!parses("version: STSv1\nmode: enforce\nmx: a.test/x\nmax_age: 1\n"), "odd bytes in mx refused");
	ok(!parses("version: STSv1\nmode: enforce\nmx: *.*.test\nmax_age: 1\n"), "only one leading wildcard");
	ok(!parses("version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 1\n"), "no wildcard inside");
	ok(!parses("version: STSv1\nmode: enforce\nmx a.test\nmax_age: 1\n"), "a line without a colon refused");
	ok(parses("version: STSv1\nmode: testing\nmode: enforce\nmx: a.test\nmax_age: 5\nmax_age: 7\n") &&
	   p.mode == MTASTS_TESTING && p.max_age == 5, "the first of a repeated key counts");
	{
		char big[MTASTS_BODY_MAX + 2];
		memset(big, '#', sizeof big);
		ok(mtasts_parse(big, sizeof big, &p, &b) < 0, "a policy over 64 KiB refused");
	}

	/* the TXT record */
	ok(txt("v=STSv1; id=20160831085700Z;", "20160831085700Z"), "TXT with id and final ';'");
	ok(txt("v=STSv1;id=abc", "abc"), "TXT without blanks");
	ok(txt("v=STSv1; ext=foo; id=x1", "x1"), "TXT with an extension first");
	ok(txt("v=spf1 -all", 0) == 0, "another TXT record is not ours");
	ok(txt("v=STSv10; id=x", 0) == 0, "v=STSv10 is not ours");
	ok(txt("v=STSv1;", 0) == -1, "STSv1 without id is malformed");
	ok(txt("v=STSv1; id=has-dash", 0) == -1, "id of letters and digits only");
	ok(txt("v=STSv1; id=123456789012345678901234567890123", 0) == -1, "id longer than 32 refused");
	ok(txt("v=STSv1; id=a; id=b", 0) == -1, "two ids refused");
	ok(txt("v=STSv1 id=a", 0) == -1, "missing ';' refused");

	/* exchangers */
	ok(mtasts_match("mail.example.com", "MAIL.example.com."), "exact match ignores case and final dot");
	ok(mtasts_match("*.example.com", "mx1.example.com"), "wildcard matches one label");
	ok(!mtasts_match("*.example.com", "example.com"), "wildcard needs a label");
	ok(!mtasts_match("*.example.com", "a.b.example.com"), "wildcard matches one label only");
	ok(!mtasts_match("*.example.com", ".example.com"), "an empty label is no label");
	ok(!mtasts_match("mail.example.com", "mail.example.co"), "different names");
	ok(!mtasts_match("example.com", "mail.example.com"), "no suffix match without a wildcard");
	parses(good);
	ok(mtasts_mx_ok(&p, "mail.example.com") && mtasts_mx_ok(&p, "x.example.net") && !mtasts_mx_ok(&p, "evil.test"),
	   "mtasts_mx_ok over all patterns");

	/* domains as file names */
	ok(mtasts_domain("Example.COM.", dom) == 0 && !strcmp(dom, "example.com"), "domain lower-cased, final dot gone");
	ok(mtasts_domain("../etc", dom) < 0 && mtasts_domain("a/b.test", dom) < 0 && mtasts_domain("[1.2.3.4]", dom) < 0 &&
	   mtasts_domain("", dom) < 0 && mtasts_domain(".a.test", dom) < 0, "no path tricks, literals or empty labels");

	/* the cache file */
	{
		mtasts_policy q = MTASTS_POLICY_INIT;
		parses(good);
		memcpy(p.id, "abc123", 7);
		p.fetched = 1700000000;
		ok(mtasts_cache_fmt(&p, &b) == 0 && mtasts_cache_parse(b.s, b.len, &q) == 0 &&
		   q.fetched == 1700000000 && !strcmp(q.id, "abc123") && q.mode == MTASTS_ENFORCE && q.nmx == 2 &&
		   q.text.len == strlen(good), "cache file round trip");
		ok(mtasts_cache_parse("17 abc\nversion: STSv1\n", 22, &q) < 0, "a cache file with a bad policy is damaged");
		ok(mtasts_cache_parse("x abc\n", 6, &q) < 0 && mtasts_cache_parse("17\n", 3, &q) < 0 &&
		   mtasts_cache_parse("17 a-b\n", 7, &q) < 0, "a bad cache header is damaged");
		mtasts_free(&q);
	}

	/* TLS-RPT rua= */
	ok(rua("v=TLSRPTv1; rua=mailto:reports@example.com", "reports@example.com", 1, 0), "rua mailto");
	ok(rua("v=TLSRPTv1;rua=mailto:a%2Bb@example.com?subject=x,https://reporting.example.com/v1", "a+b@example.com", 1, 1),
	   "rua %-decoding, query dropped, https counted");
	ok(rua("v=TLSRPTv1;rua=mailto:a%2Bb@example.com?subject=x , https://r.example.com/v1;", "a+b@example.com", 1, 1),
	   "rua with blanks and a final ';'");
	{
		buf o = BUF_INIT;
		size_t nm, no;
		ok(tlsrpt_rua("v=spf1 -all", 11, &o, &nm, &no) == 0, "another record is not TLSRPT");
		ok(tlsrpt_rua("v=TLSRPTv1;", 11, &o, &nm, &no) == -1, "TLSRPTv1 without rua is malformed");
		ok(tlsrpt_rua("v=TLSRPTv1; rua=ftp://x", 23, &o, &nm, &no) == -1, "rua of another scheme is malformed");
		buf_free(&o);
	}

	/* days */
	{
		time_t t;
		char d[11];
		ok(tlsrpt_dayscan("2026-11-29", &t) == 0 && t == 1795910400, "day scanned to its first second");
		tlsrpt_day(t + 86399, d);
		ok(!strcmp(d, "2026-11-29"), "the day's last second is the same day");
		ok(tlsrpt_dayscan("2026-02-30", &t) < 0 && tlsrpt_dayscan("2026-1-01", &t) < 0 && tlsrpt_dayscan("../x", &t) < 0,
		   "impossible or malformed days refused");
	}

	/* the JSON */
	{
		const char *counts =
			"v1 sts a.test success mx.a.test 127.0.0.1 -\n"
			"v1 sts a.test success mx.a.test 127.0.0.1 -\n"
			"v1 sts a.test validation-failure evil.test 127.0.0.2 10.0.0.1\n"
			"v1 sts a.test validation-failure evil.test 127.0.0.2 10.0.0.1\n"
			"v1 sts b.test success mx.b.test 127.0.0.1 -\n"
			"v1 no-policy-found a.test sts-policy-fetch-error - - -\n"
			"garbage line\n"
			"v1 sts a.test success";                /* cut: not counted */
		tlsrpt_meta m = { "me.test", "postmaster@me.test", "2026-11-29", good, strlen(good) };
		struct seen sn = { BUF_INIT, 0, 0 };
		const char *mixed = "v1 sts b.test success - - -\nv1 sts A.Test success - - -\nv1 sts ../x success - - -\n"
		                    "v1 sts a.test success - - -\n";
		unsigned long sessions;
		ok(tlsrpt_split(counts, strlen(counts), onsplit, &sn) == 0 && sn.n == 2 && sn.doms.s &&
		   !strcmp(sn.doms.s, "a.test b.test ") && !sn.bad, "split by domain, sorted");
		sn.n = 0;
		sn.doms.len = 0;
		ok(tlsrpt_split(mixed, strlen(mixed), onsplit, &sn) == 0 && sn.n == 2 && !strcmp(sn.doms.s, "a.test b.test ") && !sn.bad,
		   "domains grouped ignoring case; a bad domain name skipped");
		buf_free(&sn.doms);
		ok(tlsrpt_json(counts, strlen(counts), "a.test", &m, &b, &sessions) == 0 && sessions == 5, "JSON for a.test, 5 sessions");
		ok(strstr(b.s, "\"total-successful-session-count\":2,\"total-failure-session-count\":2") != 0, "summary counts");
		ok(strstr(b.s, "{\"result-type\":\"validation-failure\",\"sending-mta-ip\":\"10.0.0.1\",\"receiving-mx-hostname\":\"evil.test\","
		              "\"receiving-ip\":\"127.0.0.2\",\"failed-session-count\":2}") != 0, "failure details grouped");
		ok(strstr(b.s, "\"mx-host\":[\"mail.example.com\",\"*.example.net\"]") != 0, "mx-host from the policy");
		ok(strstr(b.s, "\"policy-string\":[\"version: STSv1\",\"mode: enforce\"") != 0, "policy-string lines without CR");
		ok(strstr(b.s, "\"policy-type\":\"no-policy-found\",\"policy-domain\":\"a.test\"") != 0, "no-policy-found counted apart");
		ok(strstr(b.s, "\"start-datetime\":\"2026-11-29T00:00:00Z\"") != 0, "date-range");
		m.policy = "version: STSv1\n\"quote\\\x01\xff";
		m.policylen = strlen(m.policy);
		ok(tlsrpt_json(counts, strlen(counts), "a.test", &m, &b, &sessions) == 0 &&
		   strstr(b.s, "\"\\\"quote\\\\\\u0001\\u00ff\"") != 0, "odd bytes escaped in JSON");
	}
	ok(concurrent(), "8 processes x 250 counts: 2000 whole lines, 250 sessions per domain");
	mtasts_free(&p);
	buf_free(&b);
	return done_testing();
}
