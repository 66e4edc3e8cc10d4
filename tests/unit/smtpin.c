/* Unit tests for src/mail/smtpin.c: verbs, paths in every form qmail and
 * RFC 5321 allow, parameters, and the DATA reader (unstuffing, the one
 * true end, smuggling flags, limits, hops, chunking). */
#include "tap.h"
#include "mail/smtpin.h"
#include <string.h>

static struct smtp_path p = {BUF_INIT, 0, 0};

static int path(const char *s, const char *prefix, int want, const char *addr)
{
	int r = smtp_path(s, strlen(s), prefix, &p);
	if (r != want || (addr && strcmp(p.addr.s, addr) != 0)) {
		printf("# %s -> %d '%s' (want %d '%s')\n", s, r, p.addr.s, want, addr ? addr : "");
		return 0;
	}
	return 1;
}

static buf out = BUF_INIT;
static struct smtp_data d;

/* Feed s in chunks of step bytes; returns bytes used. */
static size_t feed(const char *s, size_t n, size_t step, unsigned long long max)
{
	size_t used = 0;
	out.len = 0;
	smtp_data_init(&d, max);
	while (used < n && d.st != SD_END) {
		size_t k = n - used < step ? n - used : step;
		long long r = smtp_data_feed(&d, s + used, k, &out);
		if (r < 0) return (size_t)-1;
		used += (size_t)r;
	}
	return used;
}

#define FEED(s, step) feed(s, sizeof s - 1, step, 0)

int main(void)
{
	size_t a, pos, kl, vl;
	const char *k, *v;
	const char *s;

	ok(smtp_verb("EHLO x.test", 11, &a) == SV_EHLO && a == 5, "EHLO and its argument");
	ok(smtp_verb("mail  FROM:<>", 13, &a) == SV_MAIL && a == 6, "lowercase verb, blanks skipped");
	ok(smtp_verb("QUIT", 4, &a) == SV_QUIT && a == 4, "verb alone");
	ok(smtp_verb("MAILX", 5, &a) == SV_UNKNOWN, "a longer word is not MAIL");
	ok(smtp_verb("", 0, &a) == SV_UNKNOWN, "empty line");
	ok(smtp_verb("starttls", 8, &a) == SV_STARTTLS && smtp_verb("AUTH PLAIN", 10, &a) == SV_AUTH, "STARTTLS, AUTH");

	ok(path("FROM:<a@b.test>", "FROM:", SP_OK, "a@b.test"), "plain path");
	ok(path("from:<a@b.test>", "FROM:", SP_OK, "a@b.test"), "prefix case");
	ok(path("FROM: <a@b.test>", "FROM:", SP_OK, "a@b.test"), "blank after colon");
	ok(path("FROM:a@b.test", "FROM:", SP_OK, "a@b.test"), "without brackets");
	ok(path("FROM:<>", "FROM:", SP_OK, ""), "null path");
	ok(path("FROM:", "FROM:", SP_SYNTAX, 0), "nothing at all");
	ok(path("TO:<@x.test,@y.test:a@b.test>", "TO:", SP_OK, "a@b.test"), "source route dropped");
	ok(path("TO:<@[IPv6:::1]:a@b.test>", "TO:", SP_OK, "a@b.test"), "route through an IPv6 literal");
	ok(path("TO:<@x.test>", "TO:", SP_SYNTAX, 0), "route without a mailbox");
	ok(path("TO:<\"a b\"@c.test>", "TO:", SP_OK, "a b@c.test"), "quoted local part unquoted");
	ok(path("TO:<\"a\\\"b\"@c.test>", "TO:", SP_OK, "a\"b@c.test"), "escaped quote");
	ok(path("TO:<\"x@y\"@c.test>", "TO:", SP_OK, "x@y@c.test"), "quoted @ kept, last @ is the domain");
	ok(path("TO:<a@[192.0.2.1]>", "TO:", SP_OK, "a@[192.0.2.1]"), "address literal");
	ok(path("TO:<a@[1.2]x>", "TO:", SP_SYNTAX, 0), "junk after a literal");
	ok(path("TO:<a@b.test", "TO:", SP_SYNTAX, 0), "missing >");
	ok(path("TO:<a@b.test>x", "TO:", SP_SYNTAX, 0), "no blank before parameters");
	ok(path("TO:<a b@c>", "TO:", SP_SYNTAX, 0), "blank inside brackets");
	ok(path("TO:<a@>", "TO:", SP_NODOMAIN, 0), "empty domain");
	ok(path("TO:<a@b\x01.c>", "TO:", SP_BADCHAR, 0), "control character");
	ok(path("TO:<a@b!c.test>", "TO:", SP_SYNTAX, 0), "'!' in the domain");
	ok(path("TO:<b!a@c.test>", "TO:", SP_OK, "b!a@c.test"), "'!' in the local part");
	ok(path("TO:<postmaster>", "TO:", SP_OK, "postmaster"), "no domain at all");
	ok(path("FROM:<a@b>", "TO:", SP_PREFIX, 0), "wrong prefix");
	ok(path("TO:<j\xc3\xb6rg@b.test>", "TO:", SP_OK, "j\xc3\xb6rg@b.test") && p.utf8, "UTF-8 marks the path");
	ok(path("TO:<a@b.test>", "TO:", SP_OK, 0) && !p.utf8, "ASCII does not");
	{
		char big[1100];
		memcpy(big, "TO:<", 4);
		memset(big + 4, 'a', 1000);
		memcpy(big + 1004, "@b>", 4);
		ok(path(big, "TO:", SP_TOOLONG, 0), "1003-byte address too long");
	}
	s = "FROM:<a@b> SIZE=100  BODY=8BITMIME SMTPUTF8";
	ok(path(s, "FROM:", SP_OK, "a@b"), "path with parameters");
	pos = p.params;
	ok(smtp_param(s, strlen(s), &pos, &k, &kl, &v, &vl) == 1 && kl == 4 && !memcmp(k, "SIZE", 4) &&
	   vl == 3 && !memcmp(v, "100", 3), "SIZE=100");
	ok(smtp_param(s, strlen(s), &pos, &k, &kl, &v, &vl) == 1 && kl == 4 && vl == 8, "BODY=8BITMIME");
	ok(smtp_param(s, strlen(s), &pos, &k, &kl, &v, &vl) == 1 && kl == 8 && vl == 0, "SMTPUTF8 without value");
	ok(smtp_param(s, strlen(s), &pos, &k, &kl, &v, &vl) == 0, "end of parameters");
	pos = 0;
	ok(smtp_param("=x", 2, &pos, &k, &kl, &v, &vl) < 0, "no key: malformed");
	pos = 0;
	ok(smtp_param("A=", 2, &pos, &k, &kl, &v, &vl) < 0, "empty value: malformed");
	pos = 0;
	ok(smtp_param("A=b=c", 5, &pos, &k, &kl, &v, &vl) < 0, "'=' in the value: malformed");

	/* DATA */
	ok(FEED("a\r\n..b\r\n.c\r\n.\r\nNEXT", 1000) == 15 && d.st == SD_END && !d.bad &&
	   out.len == 7 && !memcmp(out.s, "a\n.b\nc\n", 7), "unstuffing, CR LF to LF, end found, rest left");
	ok(FEED(".\r\n", 1000) == 3 && d.st == SD_END && out.len == 0, "empty message");
	ok(FEED("a\r\n.\r\n", 1) == 6 && d.st == SD_END && out.len == 2, "one byte at a time");
	ok(FEED("a\n.\nb\r\n.\r\n", 1000) == 10 && d.st == SD_END && (d.bad & SD_BARELF), "\\n.\\n: bare LF, not an end");
	ok(FEED("a\r\n.\nb\r\n.\r\n", 3) == 11 && d.st == SD_END && (d.bad & SD_BARELF), "\\r\\n.\\n: bare LF");
	ok(FEED("a\n.\r\nb\r\n.\r\n", 1000) == 11 && d.st == SD_END && (d.bad & SD_BARELF), "\\n.\\r\\n: not an end");
	ok(FEED("a\r.\rb\r\n.\r\n", 2) == 10 && d.st == SD_END && (d.bad & SD_BARECR), "\\r.\\r: bare CR");
	ok(FEED("a\r\n.\rX\r\n.\r\n", 1000) == 11 && (d.bad & SD_BARECR), "\\r\\n.\\r then text: bare CR");
	ok(FEED("a\r\n.\r", 1000) == 5 && d.st == SD_DOTCR, "end not yet complete");
	ok(FEED("a\0b\r\n.\r\n", 1000) == 8 && (d.bad & SD_NUL) && out.len == 1, "NUL flagged, nothing output after it");
	ok(feed("0123456789\r\n.\r\n", 15, 4, 5) == 15 && (d.bad & SD_TOOBIG), "over the limit");
	ok(feed("0123\r\n.\r\n", 9, 4, 5) == 9 && !d.bad && out.len == 5, "exactly at the limit");
	{
		static char h[4000];
		size_t n = 0;
		int i;
		for (i = 0; i < 99; i++) n += (size_t)sprintf(h + n, "%s: x\r\n", i % 2 ? "Received" : "DELIVERED-TO");
		n += (size_t)sprintf(h + n, "\r\nReceived: body\r\n.\r\n");
		ok(feed(h, n, 7, 0) == n && !d.bad && d.hops == 99, "99 hops pass, body lines do not count");
		n = (size_t)sprintf(h, "received: a\r\n");
		for (i = 0; i < 99; i++) n += (size_t)sprintf(h + n, "Received: x\r\n");
		n += (size_t)sprintf(h + n, ".\r\n");
		ok(feed(h, n, 1000, 0) == n && (d.bad & SD_HOPS), "100 hops: looping");
		n = (size_t)sprintf(h, " Received: x\r\nReceivedX: y\r\nX-Received: z\r\n.\r\n");
		ok(feed(h, n, 1000, 0) == n && d.hops == 0, "only real Received fields count");
	}
	buf_free(&out);
	buf_free(&p.addr);
	return done_testing();
}
