/* Unit tests for the pieces of qmail-remote that read and write SMTP:
 * src/mail/smtpreply.c (replies, EHLO extensions), src/mail/smtpdata.c
 * (dot-stuffing and line ends) and src/mail/remoterep.c (one recipient's
 * result from qmail-remote's reports). */
#include "tap.h"
#include "mail/remotediag.h"
#include "mail/remoterep.h"
#include "mail/smtpdata.h"
#include "mail/smtpreply.h"
#include <string.h>
#include <sys/wait.h>

static int feed(smtpreply *r, const char *s)
{
	int x = 0;
	smtpreply_reset(r);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
		x = smtpreply_line(r, s, n);
		if (x != 0) return x;
		s += n;
	}
	return x;
}

static int enc(const char *in, size_t n, const char *want)
{
	smtpdata d;
	buf o = BUF_INIT;
	int r;
	smtpdata_init(&d);
	smtpdata_put(&d, in, n, &o);
	smtpdata_end(&d, &o);
	r = o.len == strlen(want) && !memcmp(o.s, want, o.len) && d.out == o.len;
	if (!r) printf("# got [%.*s]\n", (int)o.len, o.s);
	buf_free(&o);
	return r;
}

static int rep(const char *s, size_t n, size_t i, int wstat, char want, const char *text)
{
	buf t = BUF_INIT;
	char st = 0;
	int r = remoterep_for(s, n, i, wstat, &st, &t) == 0 && st == want &&
	        t.len == strlen(text) && !memcmp(t.s, text, t.len);
	if (!r) printf("# got %c [%.*s]\n", st, (int)t.len, t.s);
	buf_free(&t);
	return r;
}

int main(void)
{
	smtpreply r = SMTPREPLY_INIT;
	smtpext e;
	smtpdata d;
	buf o = BUF_INIT;

	ok(feed(&r, "220 mx.test ESMTP\r\n") == 1 && r.code == 220 && !strcmp(r.text.s, "220 mx.test ESMTP\n"), "one-line reply");
	ok(feed(&r, "550-5.1.1 no\r\n550-such\r\n550 user\r\n") == 1 && r.code == 550 &&
	   !strcmp(r.text.s, "550-5.1.1 no\n550-such\n550 user\n"), "multi-line reply, text kept whole");
	ok(feed(&r, "250\r\n") == 1 && r.code == 250, "bare code");
	ok(feed(&r, "25 short\r\n") == -1, "two digits: malformed");
	ok(feed(&r, "250x\r\n") == -1, "no separator: malformed");
	ok(feed(&r, "199 what\r\n") == -1 && feed(&r, "600 what\r\n") == -1, "codes outside 200-599: malformed");
	smtpreply_reset(&r);
	ok(smtpreply_line(&r, "250 a\0b\r\n", 8) == 1 && !memcmp(r.text.s, "250 a?b\n", 8), "NUL shown as ?");

	ok(feed(&r, "250-mx.test hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-auth login plain\r\n"
	            "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n") == 1, "EHLO reply");
	smtpreply_ehlo(&r, &e);
	ok(e.flags == (EHLO_PIPELINING | EHLO_SIZE | EHLO_8BITMIME | EHLO_AUTH_LOGIN | EHLO_AUTH_PLAIN | EHLO_STARTTLS |
	               EHLO_ENHANCED | EHLO_SMTPUTF8) && e.size == 1000, "every extension found");
	feed(&r, "250-PIPELINING is the host name\r\n250 SIZE\r\n");
	smtpreply_ehlo(&r, &e);
	ok(e.flags == EHLO_SIZE && e.size == 0, "the first line is the greeting, not a keyword; SIZE without a number");
	feed(&r, "250-x\r\n250-AUTH=LOGIN\r\n250 PIPELININGX\r\n");
	smtpreply_ehlo(&r, &e);
	ok(e.flags == EHLO_AUTH_LOGIN, "AUTH= old form; keywords match whole words only");
	{
		size_t i;
		int x = 0;
		smtpreply_reset(&r);
		for (i = 0; i < 20000 && x == 0; i++) x = smtpreply_line(&r, "250-xxxxxxxxxx\r\n", 16);
		ok(x == -1 && r.text.len <= SMTPREPLY_TEXT_MAX, "an endless reply is malformed; kept text bounded");
	}
	smtpreply_free(&r);

	ok(enc("a\nb\n", 4, "a\r\nb\r\n.\r\n"), "LF becomes CRLF");
	ok(enc("a\r\nb\r\n", 6, "a\r\nb\r\n.\r\n"), "CRLF stays");
	ok(enc("a\rb", 3, "a\r\nb\r\n.\r\n"), "bare CR ends a line; last line ended");
	ok(enc(".\n..\n.a\r.\r\n", 11, "..\r\n...\r\n..a\r\n..\r\n.\r\n"), "dots stuffed after conversion");
	ok(enc("x\r\n.\r\nMAIL\r\n", 12, "x\r\n..\r\nMAIL\r\n.\r\n"), "an embedded terminator is stuffed");
	ok(enc("", 0, ".\r\n"), "empty message");
	ok(enc("a\r", 2, "a\r\n.\r\n"), "CR at the very end");
	smtpdata_init(&d);
	smtpdata_put(&d, "Subject: caf\xc3\xa9\n\nx\n", 18, &o);
	ok(d.hdr8 && d.body8 && !d.hdrbad, "8-bit header, UTF-8");
	smtpdata_init(&d);
	smtpdata_put(&d, "Subject: caf\xe9\n\nx\n", 17, &o);
	ok(d.hdr8 && d.hdrbad, "8-bit header, Latin-1: not UTF-8");
	smtpdata_init(&d);
	smtpdata_put(&d, "Subject: \xe2\x82", 11, &o);
	smtpdata_put(&d, "\xac and \xf0\x9f\x98\x80\n\n", 12, &o);
	ok(d.hdr8 && !d.hdrbad, "UTF-8 sequences split across calls");
	smtpdata_init(&d);
	smtpdata_put(&d, "Subject: \xc3\n\xa9\n\n", 14, &o);
	ok(d.hdrbad, "a sequence cut by a line end is not UTF-8");
	smtpdata_init(&d);
	smtpdata_put(&d, "Subject: \xc0\xaf\n\n", 13, &o);
	ok(d.hdrbad, "an overlong lead byte is not UTF-8");
	smtpdata_init(&d);
	smtpdata_put(&d, "Subject: x\n", 11, &o);
	smtpdata_put(&d, "\nna\xefve\n", 8, &o);
	ok(!d.hdr8 && d.body8, "8-bit body only, header split across calls");
	buf_free(&o);

	{
		static const char out[] = "r\0h1.2.3.4 does not like recipient.\nRemote host said: 550 no\n\0"
		                          "s1.2.3.4 does not like recipient.\nRemote host said: 451 later\n\0"
		                          "K1.2.3.4 accepted message.\nRemote host said: 250 ok\n";
		size_t n = sizeof out;   /* includes the final NUL */
		ok(rep(out, n, 0, 0, 'K', "1.2.3.4 accepted message.\nRemote host said: 250 ok\n"), "r + K: success, message text");
		ok(rep(out, n, 1, 0, 'D', "1.2.3.4 does not like recipient.\nRemote host said: 550 no\n"), "h + K: failure, recipient text");
		ok(rep(out, n, 2, 0, 'Z', "1.2.3.4 does not like recipient.\nRemote host said: 451 later\n"), "s + K: deferral");
		ok(rep(out, n, 3, 0, 'K', "1.2.3.4 accepted message.\nRemote host said: 250 ok\n"), "no recipient report: the message's");
	}
	{
		static const char out[] = "h1.2.3.4 x\n\0s1.2.3.4 y\n\0DGiving up on 1.2.3.4.\n";
		ok(rep(out, sizeof out, 0, 0, 'D', "1.2.3.4 x\nGiving up on 1.2.3.4.\n"), "h + D: both texts");
		ok(rep(out, sizeof out, 1, 0, 'Z', "1.2.3.4 y\nGiving up on 1.2.3.4.\n"), "s + D: deferral, both texts");
	}
	{
		static const char out[] = "r\0ZConnected to 1.2.3.4 but connection died. (#4.4.2)\n";
		ok(rep(out, sizeof out, 0, 0, 'Z', "Connected to 1.2.3.4 but connection died. (#4.4.2)\n"), "r + Z");
		ok(rep(out, sizeof out, 1, 0, 'Z', "Connected to 1.2.3.4 but connection died. (#4.4.2)\n"), "missing report + Z");
	}
	ok(rep("r\0", 2, 0, 0, 'Z', "qmail-remote produced no output.\n"), "no message report: temporary");
	ok(rep("K", 1, 0, 0, 'Z', "qmail-remote produced no output.\n"), "a report without its NUL is none");
	ok(rep("", 0, 0, SIGSEGV, 'Z', "qmail-remote crashed.\n"), "crash");
	ok(rep("", 0, 0, 111 << 8, 'Z', "Unable to run qmail-remote.\n"), "exit 111");
	ok(rep("", 0, 0, 100 << 8, 'D', "Unable to run qmail-remote.\n"), "exit 100");
	{
		remotediag d = REMOTEDIAG_INIT;
		static const char t1[] = "192.0.2.7 does not like recipient.\nRemote host said: 550-5.1.1 no such user\n"
		                         "550 5.1.1 here\nGiving up on 192.0.2.7.\n";
		static const char t2[] = "Connected to 2001:db8::5 but sender was rejected.\nRemote host said: 553 sender refused\n";
		static const char t3[] = "Sorry, no mailbox here by that name. (#5.1.1)\n";
		static const char t4[] = "192.0.2.7 failed after I sent the message.\nRemote host said: 452 4.3.1 full\nTLS: TLSv1.3 X, certificate verified.\n";
		ok(remotediag_parse(t1, sizeof t1 - 1, &d) == 1 && !strcmp(d.mta, "192.0.2.7") && !strcmp(d.status, "5.1.1") &&
		   !strcmp(d.smtp.s, "550 5.1.1 no such user here"), "remote diagnostic: MTA, status, reply joined");
		ok(remotediag_parse(t2, sizeof t2 - 1, &d) == 1 && !strcmp(d.mta, "2001:db8::5") && !strcmp(d.status, "5.0.0") &&
		   !strcmp(d.smtp.s, "553 sender refused"), "no enhanced code: class from the reply");
		ok(remotediag_parse(t3, sizeof t3 - 1, &d) == 0, "a local failure is not remote");
		ok(remotediag_parse(t4, sizeof t4 - 1, &d) == 1 && !strcmp(d.status, "4.3.1") && !strcmp(d.smtp.s, "452 4.3.1 full"),
		   "the TLS line is not part of the reply");
		remotediag_free(&d);
	}
	return done_testing();
}
