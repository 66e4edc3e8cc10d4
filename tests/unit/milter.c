/* Unit tests for the milter client: control/milters lines, REPLYCODE
 * checking, header and envelope changes (src/mail/milteredit.c), and the
 * protocol itself (src/mail/milter.c) against the scripted milter
 * tests/system/lib/miltersrv.py, started here once per script. */
#include "tap.h"
#include "lib/io.h"
#include "mail/milter.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int parses(const char *line, int want)
{
	milter m;
	buf why = BUF_INIT;
	int r;
	memset(&m, 0, sizeof m);
	r = milter_parse(&m, line, strlen(line), &why);
	if (r != want) printf("# %s: %d (%s)\n", line, r, why.s ? why.s : "");
	buf_free(&m.name);
	buf_free(&m.path);
	buf_free(&why);
	return r == want;
}

static int reply(const char *in, int cls, const char *want)
{
	buf o = BUF_INIT;
	int r = milter_replycode(in, strlen(in) + 1, &o);
	int good = r == cls && (r < 0 || (o.len == strlen(want) && !memcmp(o.s, want, o.len)));
	if (!good) printf("# [%s] -> %d [%s]\n", in, r, o.s ? o.s : "");
	buf_free(&o);
	return good;
}

/* Apply one change (cmd, idx for i/m, name, value) to hdr; compare. */
static int edit(const char *hdr, char cmd, unsigned idx, const char *name, const char *value, int leadspc, const char *want)
{
	milter_hdrs h = MILTER_HDRS_INIT;
	buf d = BUF_INIT;
	int r, good;
	unsigned char ix[4] = {(unsigned char)(idx >> 24), (unsigned char)(idx >> 16), (unsigned char)(idx >> 8), (unsigned char)idx};

	milter_hdrs_parse(&h, hdr, strlen(hdr));
	h.leadspc = leadspc;
	if (cmd != SMFIR_ADDHEADER) buf_put(&d, ix, 4);
	buf_puts(&d, name); buf_put0(&d); buf_puts(&d, value); buf_put0(&d);
	r = milter_hdrs_apply(&h, cmd, d.s, d.len);
	good = want ? r == 0 && h.text.len == strlen(want) && !memcmp(h.text.s, want, h.text.len) : r < 0;
	if (!good) printf("# %c %s: %d [%.*s]\n", cmd, name, r, (int)h.text.len, h.text.s);
	milter_hdrs_free(&h);
	buf_free(&d);
	return good;
}

static void pure(void)
{
	buf a = BUF_INIT;
	milter_hdrs h = MILTER_HDRS_INIT;
	long long end;

	ok(parses("inet:127.0.0.1:11332", 0), "inet:ADDR:PORT");
	ok(parses("inet:8891@127.0.0.1 onfail=accept timeout=5", 0), "inet:PORT@ADDR with options");
	ok(parses("inet6:[::1]:8891", 0), "inet6:[ADDR]:PORT");
	ok(parses("inet:8891@localhost", 0), "localhost is allowed");
	ok(parses("unix:/run/x.sock onfail=tempfail", 0), "unix:/PATH");
	ok(parses("inet:mail.example.com:8891", -1), "a host name is refused (no resolver)");
	ok(parses("inet:127.0.0.1:0", -1), "port 0 refused");
	ok(parses("inet:127.0.0.1:70000", -1), "port out of range refused");
	ok(parses("unix:relative/path", -1), "relative unix path refused");
	ok(parses("tcp:127.0.0.1:1", -1), "unknown socket type refused");
	ok(parses("inet:127.0.0.1:1 onfail=maybe", -1), "unknown onfail refused");
	ok(parses("inet:127.0.0.1:1 timeout=0", -1), "timeout=0 refused");
	ok(parses("inet6:127.0.0.1:1", -1), "inet6 with an IPv4 address refused");

	ok(reply("550 5.7.1 go away", 5, "550 5.7.1 go away"), "REPLYCODE 5xx kept");
	ok(reply("451 try later", 4, "451 4.7.1 try later"), "REPLYCODE: enhanced code added");
	ok(reply("554 4.7.1 mixed", 5, "554 5.7.1 4.7.1 mixed"), "REPLYCODE: enhanced code of the wrong class not taken");
	ok(reply("550 5.7.1 a\r\n250 ok", 5, "550 5.7.1 refused by a mail filter"), "REPLYCODE: CR LF injection replaced");
	ok(reply("550-5.7.1 first", 5, "550 5.7.1 refused by a mail filter"), "REPLYCODE: multi-line form replaced");
	ok(reply("250 2.0.0 ok", -1, 0), "REPLYCODE 2xx refused");
	ok(reply("354 go", -1, 0), "REPLYCODE 3xx refused");
	ok(reply("5x0 bad", -1, 0), "REPLYCODE not a code refused");
	ok(reply("", -1, 0), "REPLYCODE empty refused");
	ok(reply("421", 4, "421 4.7.1 try again later"), "REPLYCODE: bare code gets text");

	end = milter_hdrs_parse(&h, "A: 1\nB: 2\n  cont\nC: 3\n\nbody\n", 27);
	ok(end == 22 && h.nf == 3, "header split at the empty line, continuation kept");
	milter_hdrs_free(&h);
	end = milter_hdrs_parse(&h, "A: 1", 4);
	ok(end == 4 && h.nf == 1 && h.text.len == 5, "a last field without LF gets one");
	milter_hdrs_free(&h);

	ok(edit("A: 1\nB: 2\n", SMFIR_ADDHEADER, 0, "X-Spam", "yes", 0, "A: 1\nB: 2\nX-Spam: yes\n"), "ADDHEADER appends");
	ok(edit("A: 1\nB: 2\n", SMFIR_INSHEADER, 0, "DKIM-Signature", "v=1", 0, "DKIM-Signature: v=1\nA: 1\nB: 2\n"), "INSHEADER 0 at the top");
	ok(edit("A: 1\nB: 2\n", SMFIR_INSHEADER, 1, "X", "y", 0, "A: 1\nX: y\nB: 2\n"), "INSHEADER 1 after the first");
	ok(edit("A: 1\nB: 2\n", SMFIR_INSHEADER, 99, "X", "y", 0, "A: 1\nB: 2\nX: y\n"), "INSHEADER past the end appends");
	ok(edit("S: a\nT: b\nS: c\n", SMFIR_CHGHEADER, 2, "s", "new", 0, "S: a\nT: b\ns: new\n"), "CHGHEADER the second of a name");
	ok(edit("S: a\nT: b\n  more\nU: c\n", SMFIR_CHGHEADER, 1, "T", "", 0, "S: a\nU: c\n"), "CHGHEADER empty deletes, continuation too");
	ok(edit("S: a\n", SMFIR_CHGHEADER, 3, "T", "x", 0, "S: a\nT: x\n"), "CHGHEADER of a missing field adds it");
	ok(edit("S: a\n", SMFIR_CHGHEADER, 1, "T", "", 0, "S: a\n"), "CHGHEADER delete of a missing field: nothing");
	ok(edit("S: a\n", SMFIR_ADDHEADER, 0, "X", "line1\r\nline2\n\tline3", 0, "S: a\nX: line1\n\tline2\n\tline3\n"),
	   "folded value: CR LF to LF, a continuation without blank gets a tab");
	ok(edit("S: a\n", SMFIR_ADDHEADER, 0, "X", "a\n\nBcc: evil", 0, "S: a\nX: a\n\tBcc: evil\n"), "no empty line or new field smuggled in");
	ok(edit("S: a\n", SMFIR_ADDHEADER, 0, "X", " lead", 1, "S: a\nX: lead\n"), "HDR_LEADSPC: the value as given");
	ok(edit("S: a\n", SMFIR_ADDHEADER, 0, "Bad Name", "x", 0, 0), "a field name with a blank refused");
	ok(edit("S: a\n", SMFIR_ADDHEADER, 0, "", "x", 0, 0), "an empty field name refused");
	ok(edit("S: a\n", SMFIR_ADDHEADER, 0, "A:B", "x", 0, 0), "a field name with a colon refused");

	ok(milter_addr("<a@b>", 6, &a) == 0 && a.len == 3 && !memcmp(a.s, "a@b", 3), "address: brackets removed");
	ok(milter_addr("<>", 3, &a) == 0 && a.len == 0, "address: <> is the null sender");
	ok(milter_addr("<a\r\nb@c>", 9, &a) < 0, "address: control characters refused");
	buf_free(&a);
}

/* ---- against miltersrv.py ---------------------------------------------------------- */

static pid_t srvpid = -1;
static char logpath[64], scriptpath[64];

static void logfn(const char *line) { printf("# log: %s\n", line); }

/* Start the scripted milter with script; its port, or 0. */
static unsigned startsrv(const char *script)
{
	const char *top = getenv("NQ_TOP");
	char prog[1024], portline[32];
	int p[2];
	FILE *f;
	ssize_t k;
	size_t got = 0;

	snprintf(scriptpath, sizeof scriptpath, "/tmp/miltertest-%d.json", (int)getpid());
	snprintf(logpath, sizeof logpath, "/tmp/miltertest-%d.log", (int)getpid());
	unlink(logpath);
	f = fopen(scriptpath, "w");
	if (!f) return 0;
	fputs(script, f);
	fclose(f);
	snprintf(prog, sizeof prog, "%s/tests/system/lib/miltersrv.py", top ? top : ".");
	if (pipe(p) < 0) return 0;
	srvpid = fork();
	if (srvpid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execlp("python3", "python3", prog, scriptpath, logpath, (char *)0);
		_exit(127);
	}
	close(p[1]);
	while (got < sizeof portline - 1 && (k = read(p[0], portline + got, 1)) == 1 && portline[got] != '\n') got++;
	close(p[0]);
	portline[got] = 0;
	return (unsigned)atoi(portline);
}

static void stopsrv(void)
{
	if (srvpid > 0) {
		kill(srvpid, SIGTERM);
		waitpid(srvpid, 0, 0);
	}
	srvpid = -1;
	unlink(scriptpath);
}

/* The milter's log holds s. */
static int saw(const char *s)
{
	buf b = BUF_INIT;
	int r = 0, i;
	for (i = 0; i < 40 && !r; i++) {
		if (read_file(logpath, &b, 1 << 20) == 0) r = memmem(b.s, b.len, s, strlen(s)) != 0;
		if (!r) usleep(50000);
	}
	if (!r) printf("# not in the milter's log: %s\n", s);
	buf_free(&b);
	return r;
}

static void setup(milters *ms, unsigned port, const char *opts)
{
	char line[128];
	buf why = BUF_INIT;
	milters_init(ms, logfn);
	snprintf(line, sizeof line, "inet:127.0.0.1:%u %s", port, opts);
	if (milter_parse(&ms->m[0], line, strlen(line), &why) == 0) ms->n = 1;
	buf_free(&why);
}

/* A body reader giving at most 5 bytes at a time, as a short read would. */
static ssize_t rd(void *arg, unsigned long long off, char *p, size_t n)
{
	const char *b = arg;
	size_t len = strlen(b);
	if (off >= len) return 0;
	if (n > 5) n = 5;
	if (n > len - off) n = len - (size_t)off;
	memcpy(p, b + off, n);
	return (ssize_t)n;
}

static const char HDR[] = "Received: from x\nFrom: a@example.test\nSubject: hi\n\tthere\n\n";
static const char BODY[] = "line one\nline two\n";

static void session(void)
{
	milters ms;
	milter_result r = {0, BUF_INIT};
	milter_edit e;
	struct milter_client c = {0, "127.0.0.9", 4242};
	struct milter_msg msg;
	buf mac = BUF_INIT, from = BUF_INIT, rcpts = BUF_INIT;
	unsigned port;

	memset(&e, 0, sizeof e);
	port = startsrv("{\"rcpt\": {\"bad@example.test\": \"reply:550 5.1.1 no such user\"},"
	                " \"eom_actions\": [[\"addheader\", \"X-Milter\", \"seen\"], [\"insheader\", 0, \"X-Top\", \"first\"],"
	                " [\"chgheader\", 1, \"Subject\", \"changed\"], [\"addrcpt\", \"<new@example.test>\"],"
	                " [\"delrcpt\", \"<old@example.test>\"], [\"quarantine\", \"looks odd\"]],"
	                " \"eom\": \"accept\"}");
	ok(port > 0, "scripted milter started");
	setup(&ms, port, "");
	milter_macro(&mac, "j", "mx.example.test");
	milter_macro(&mac, "daemon_name", "qmail-smtpd");
	ok(milter_open(&ms, &c, &mac, &r) == 0 && r.verdict == MILTER_CONTINUE, "connect: continue");
	ok(saw("\"cmd\": \"O\", \"version\": 6"), "negotiated version 6");
	ok(saw("\"host\": \"[127.0.0.9]\", \"family\": \"4\", \"port\": 4242, \"addr\": \"127.0.0.9\""), "CONNECT carries host, family, port, address");
	ok(saw("\"{daemon_name}\": \"qmail-smtpd\"") && saw("\"j\": \"mx.example.test\""), "macros sent, long names in braces");
	ok(milter_helo(&ms, "client.example", 0, &r) == 0 && r.verdict == MILTER_CONTINUE, "HELO: continue");
	ok(milter_mail(&ms, "a@example.test", 0, &r) == 0 && r.verdict == MILTER_CONTINUE, "MAIL: continue");
	ok(saw("\"args\": [\"<a@example.test>\"]"), "MAIL sent in angle brackets");
	ok(milter_rcpt(&ms, "bad@example.test", 0, &r) == 0 && r.verdict == MILTER_REJECT &&
	   r.reply.s && !strcmp(r.reply.s, "550 5.1.1 no such user"), "RCPT: the milter's own 550");
	ok(milter_rcpt(&ms, "old@example.test", 0, &r) == 0 && r.verdict == MILTER_CONTINUE, "another RCPT: continue");
	buf_puts(&from, "a@example.test");
	buf_puts(&rcpts, "old@example.test"); buf_put0(&rcpts);
	buf_puts(&rcpts, "keep@example.test"); buf_put0(&rcpts);
	memset(&msg, 0, sizeof msg);
	msg.hdr = HDR;
	msg.hdrlen = sizeof HDR - 1;
	msg.body = BODY;
	msg.bodylen = sizeof BODY - 1;
	ok(milter_eom(&ms, &msg, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_CONTINUE, "end of message: accepted");
	ok(saw("\"name\": \"Subject\", \"value\": \"hi\\n\\tthere\""), "a folded field sent without its leading blank, LF kept");
	ok(saw("\"data\": \"line one\\r\\nline two\\r\\n\""), "body sent with CR LF");
	ok(e.hdrchanged && e.hdr.s && !strcmp(e.hdr.s, "X-Top: first\nReceived: from x\nFrom: a@example.test\nSubject: changed\nX-Milter: seen\n"),
	   "header changes applied in order");
	ok(e.hdrend == sizeof HDR - 2, "the fields end before the empty line");
	ok(rcpts.len == 35 && !memcmp(rcpts.s, "keep@example.test\0new@example.test\0", 35), "recipient removed and added");
	ok(e.quarantine && e.reason.s && !strcmp(e.reason.s, "looks odd"), "quarantine noted with its reason");
	milter_close(&ms);
	ok(saw("\"cmd\": \"Q\""), "QUIT sent");
	milters_free(&ms);
	stopsrv();

	/* the body through a reader, from an offset */
	port = startsrv("{}");
	setup(&ms, port, "");
	milter_open(&ms, &c, 0, &r);
	milter_mail(&ms, "a@b", 0, &r);
	{
		struct milter_msg m2 = msg;
		m2.body = 0;
		m2.read = rd;
		m2.arg = (void *)"XXline one\n.two\n";
		m2.bodyoff = 2;
		m2.bodylen = 14;
		ok(milter_eom(&ms, &m2, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_CONTINUE && !e.hdrchanged, "body through a reader");
		ok(saw("\"data\": \"line one\\r\\n.two\\r\\n\""), "read from its offset, in short reads, CR LF added");
		m2.bodylen = 100;
		ok(milter_eom(&ms, &m2, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_TEMPFAIL, "a body shorter than said: tempfail");
	}
	milters_free(&ms);
	stopsrv();

	/* a milter that is down, with either failure mode */
	port = startsrv("{}");
	stopsrv();
	setup(&ms, port, "");
	ok(milter_open(&ms, &c, 0, &r) == 0 && r.verdict == MILTER_CONTINUE, "down milter: the connection goes on");
	ok(milter_mail(&ms, "a@b", 0, &r) == 0 && r.verdict == MILTER_TEMPFAIL && r.reply.s && r.reply.s[0] == '4', "down milter, onfail=tempfail: MAIL gets 4xx");
	milters_free(&ms);
	setup(&ms, port, "onfail=accept");
	ok(milter_open(&ms, &c, 0, &r) == 0 && milter_mail(&ms, "a@b", 0, &r) == 0 && r.verdict == MILTER_CONTINUE,
	   "down milter, onfail=accept: left out");
	milters_free(&ms);

	/* garbage, a huge length, a hang-up */
	{
		static const char *bad[] = {"garbage", "huge", "close", "unknown"};
		size_t i;
		for (i = 0; i < sizeof bad / sizeof *bad; i++) {
			char s[64], name[80];
			snprintf(s, sizeof s, "{\"mail\": \"%s\"}", bad[i]);
			port = startsrv(s);
			setup(&ms, port, "timeout=3");
			milter_open(&ms, &c, 0, &r);
			snprintf(name, sizeof name, "milter answering MAIL with %s: tempfail", bad[i]);
			ok(milter_mail(&ms, "a@b", 0, &r) == 0 && r.verdict == MILTER_TEMPFAIL, name);
			milters_free(&ms);
			stopsrv();
		}
	}
	/* a milter that says nothing: the timeout */
	port = startsrv("{\"helo\": \"hang\"}");
	setup(&ms, port, "timeout=1 onfail=accept");
	milter_open(&ms, &c, 0, &r);
	ok(milter_helo(&ms, "x", 0, &r) == 0 && r.verdict == MILTER_CONTINUE && ms.m[0].fd < 0, "timeout: the milter is dropped (onfail=accept)");
	milters_free(&ms);
	stopsrv();

	/* discard at end of message; changes it did not negotiate */
	port = startsrv("{\"eom\": \"discard\"}");
	setup(&ms, port, "");
	milter_open(&ms, &c, 0, &r);
	milter_mail(&ms, "a@b", 0, &r);
	milter_rcpt(&ms, "c@d", 0, &r);
	ok(milter_eom(&ms, &msg, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_DISCARD, "DISCARD at end of message");
	milters_free(&ms);
	stopsrv();
	port = startsrv("{\"actions\": 1, \"eom_actions\": [[\"addrcpt\", \"x@y\"]]}");
	setup(&ms, port, "");
	milter_open(&ms, &c, 0, &r);
	milter_mail(&ms, "a@b", 0, &r);
	ok(milter_eom(&ms, &msg, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_TEMPFAIL, "a change not negotiated breaks the protocol");
	milters_free(&ms);
	stopsrv();
	port = startsrv("{\"eom_actions\": [[\"replbody\", \"new body\"]]}");
	setup(&ms, port, "");
	milter_open(&ms, &c, 0, &r);
	milter_mail(&ms, "a@b", 0, &r);
	ok(milter_eom(&ms, &msg, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_TEMPFAIL, "REPLBODY not negotiated breaks the protocol");
	ok(saw("\"actions\": 511"), "every action offered (0x1ff)");
	milters_free(&ms);
	stopsrv();

	/* REPLBODY: the new body, CR LF made LF, across packets */
	{
		spool sp;
		char got[64];
		ssize_t k;
		spool_init(&sp, 0);
		port = startsrv("{\"actions\": 127, \"eom_actions\": [[\"replbody\", \"new\\r\"], [\"replbody\", \"\\nbody\\rend\\r\"]]}");
		setup(&ms, port, "");
		milter_open(&ms, &c, 0, &r);
		milter_mail(&ms, "a@b", 0, &r);
		e.body = &sp;
		ok(milter_eom(&ms, &msg, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_CONTINUE && e.bodychanged, "REPLBODY taken");
		k = spool_read(&sp, 0, got, sizeof got - 1);
		got[k > 0 ? k : 0] = 0;
		if (k != 13) printf("# got %d [%s]\n", (int)k, got);
		ok(k == 13 && !strcmp(got, "new\nbody\nend\n"), "the new body: CR LF and lone CR made LF, also across packets");
		milters_free(&ms);
		stopsrv();
		e.body = 0;
		spool_free(&sp);
	}

	/* no-reply steps: the milter asks for no answers to HELO and headers */
	port = startsrv("{\"steps\": 8320, \"eom\": \"reply:451 4.3.2 busy\"}");
	setup(&ms, port, "");
	milter_open(&ms, &c, 0, &r);
	ok(milter_helo(&ms, "x", 0, &r) == 0 && r.verdict == MILTER_CONTINUE, "NR_HELO: no answer awaited");
	milter_mail(&ms, "a@b", 0, &r);
	ok(milter_eom(&ms, &msg, 0, &from, &rcpts, &r, &e) == 0 && r.verdict == MILTER_TEMPFAIL &&
	   r.reply.s && !strcmp(r.reply.s, "451 4.3.2 busy"), "NR_HDR, then a 4xx REPLYCODE at the end");
	milters_free(&ms);
	stopsrv();
	milter_edit_free(&e);
	milter_result_free(&r);
	buf_free(&mac);
	buf_free(&from);
	buf_free(&rcpts);
	unlink(logpath);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	pure();
	session();
	return done_testing();
}
