/* Unit tests for src/mail/dotqmail.c (.qmail names and lines), the mbox
 * quoting filter of src/mail/mbox.c and the Return-Path quoting of
 * src/mail/local.c. */
#include "tap.h"
#include "mail/dotqmail.h"
#include "mail/local.h"
#include "mail/mbox.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* All candidates for (dash, ext), joined by spaces, with DEFAULT offsets
 * as "name=off". */
static const char *cands(const char *dash, const char *ext)
{
	static buf all = BUF_INIT;
	buf safe = BUF_INIT, name = BUF_INIT;
	size_t iter = 0, defat;

	all.len = 0;
	buf_puts(&all, "");
	dq_safeext(&safe, ext, strlen(ext));
	while (dq_candidate(&name, dash, &safe, &iter, &defat) == 1) {
		if (all.len) buf_putc(&all, ' ');
		buf_put(&all, name.s, name.len);
		if (defat != DQ_NODEFAULT) { buf_putc(&all, '='); buf_putnum(&all, defat); }
	}
	buf_free(&safe);
	buf_free(&name);
	return all.s;
}

#define CAND(dash, ext, want) do { const char *got_ = cands(dash, ext); \
	ok(strcmp(got_, want) == 0, "candidates " #dash " " #ext); \
	if (strcmp(got_, want)) printf("#   got:  %s\n#   want: %s\n", got_, want); } while (0)

/* Parse s and describe every line as "T:text" joined by '|'; an error
 * ends the description with "!why". */
static const char *lines(const char *s)
{
	static buf all = BUF_INIT;
	size_t pos = 0, n = strlen(s);
	const char *why = "";
	dq_line l;
	int r;
	static const char tc[] = "c_pfmMl";

	all.len = 0;
	buf_puts(&all, "");
	l.lineno = 0;
	while ((r = dq_parse(s, n, &pos, &l, &why)) == 1) {
		if (all.len) buf_putc(&all, '|');
		buf_putc(&all, tc[l.type]);
		buf_putc(&all, ':');
		buf_put(&all, l.text, l.len);
	}
	if (r < 0) { buf_putc(&all, '!'); buf_puts(&all, why); }
	return all.s;
}

#define LINES(in, want) do { const char *got_ = lines(in); \
	ok(strcmp(got_, want) == 0, "parse " #in); \
	if (strcmp(got_, want)) printf("#   got:  %s\n#   want: %s\n", got_, want); } while (0)

static const char *quoted(const char *in, size_t chunk)
{
	static buf all = BUF_INIT;
	mbox_quote q;
	io_out out;
	int p[2];
	size_t i, n = strlen(in);
	char b[4096];
	ssize_t r;

	if (pipe(p) < 0) return "pipe";
	out_init(&out, p[1], 0);
	mbox_quote_init(&q);
	for (i = 0; i < n; i += chunk)
		mbox_quote_put(&q, &out, in + i, n - i < chunk ? n - i : chunk);
	mbox_quote_end(&q, &out);
	out_flush(&out);
	close(p[1]);
	all.len = 0;
	buf_puts(&all, "");
	while ((r = read(p[0], b, sizeof b)) > 0) buf_put(&all, b, (size_t)r);
	close(p[0]);
	return all.s;
}

#define QUOTE(in, want) do { size_t ch_; int good_ = 1; \
	for (ch_ = 1; ch_ <= 8; ch_++) if (strcmp(quoted(in, ch_), want)) good_ = 0; \
	ok(good_, "mbox quoting " #in); \
	if (!good_) printf("#   got:  %s\n", quoted(in, 1)); } while (0)

int main(void)
{
	buf b = BUF_INIT;

	/* safe extensions */
	dq_safeext(&b, "Foo.Bar/../x", 12);
	ok(strcmp(b.s, "foo:bar::::x") == 0, "safeext lowercases, maps . and / to :");

	/* the search order of dot-qmail(5) */
	CAND("", "", ".qmail");
	CAND("-", "", ".qmail-");
	CAND("-", "a", ".qmail-a .qmail-default=0");
	CAND("-", "a-b-c", ".qmail-a-b-c .qmail-a-b-default=4 .qmail-a-default=2 .qmail-default=0");
	CAND("-", "a-", ".qmail-a- .qmail-a-default=2 .qmail-default=0");
	CAND("-", "a--b", ".qmail-a--b .qmail-a--default=3 .qmail-a-default=2 .qmail-default=0");
	CAND("-", "x-default", ".qmail-x-default=2 .qmail-x-default=2 .qmail-default=0");
	CAND("-", "Big.List", ".qmail-big:list .qmail-default=0");
	CAND("-", "../../etc/passwd", ".qmail-::::::etc:passwd .qmail-default=0");
	CAND("-", ";id;", ".qmail-;id; .qmail-default=0");

	/* lines */
	LINES("./Maildir/\n", "M:./Maildir/");
	LINES("./Mailbox", "m:./Mailbox");
	LINES("/var/mail/x  \t\n", "m:/var/mail/x");
	LINES("/home/u/Maildir/ \r\n", "M:/home/u/Maildir/");
	LINES("# hi\n|prog arg\n&a@b.c\nd@e.f\n\n+list\n+other\n",
	      "c:# hi|p:prog arg|f:a@b.c|f:d@e.f|_:|l:+list|c:+other");
	LINES("\n./Maildir/\n", "!first line of .qmail file is blank");
	LINES("  \n", "!first line of .qmail file is blank");
	LINES("a@b.c\n&\n", "f:a@b.c!empty forward address");
	LINES("|\n", "p:");
	LINES("", "");
	{
		/* a NUL byte inside a line is refused */
		size_t pos = 0;
		const char *why = 0;
		dq_line l;
		l.lineno = 0;
		ok(dq_parse("./a\0b\n", 6, &pos, &l, &why) == -1 && why && strstr(why, "NUL"), "NUL refused");
	}
	{
		/* line numbers count lines */
		size_t pos = 0;
		const char *why = 0;
		dq_line l;
		l.lineno = 0;
		dq_parse("#1\n#2\n./x\n", 10, &pos, &l, &why);
		dq_parse("#1\n#2\n./x\n", 10, &pos, &l, &why);
		dq_parse("#1\n#2\n./x\n", 10, &pos, &l, &why);
		ok(l.lineno == 3 && l.type == DQ_MBOX, "line numbers");
	}
	{
		/* an over-long line is refused */
		char *big = malloc(DQ_LINE_MAX + 10);
		size_t pos = 0;
		const char *why = 0;
		dq_line l;
		memset(big, 'a', DQ_LINE_MAX + 10);
		l.lineno = 0;
		ok(dq_parse(big, DQ_LINE_MAX + 10, &pos, &l, &why) == -1, "long line refused");
		free(big);
	}

	/* mbox ">From " quoting, in every chunking */
	QUOTE("From me\nbody\n", ">From me\nbody\n");
	QUOTE(">From me\n>>From x\n", ">>From me\n>>>From x\n");
	QUOTE("From\nFrom:x\nFro\n>\n", "From\nFrom:x\nFro\n>\n");
	QUOTE("a From b\n", "a From b\n");
	QUOTE("no newline", "no newline\n");
	QUOTE("ends in >>", "ends in >>\n");
	QUOTE(">>", ">>\n");
	QUOTE("Fr", "Fr\n");
	QUOTE("", "");
	QUOTE("\n\nFrom \n", "\n\n>From \n");

	/* Return-Path quoting (qmail's quote2) */
	local_quote_addr(&b, "a.b@c.d");
	ok(strcmp(b.s, "a.b@c.d") == 0, "plain address unquoted");
	local_quote_addr(&b, "a b@c.d");
	ok(strcmp(b.s, "\"a b\"@c.d") == 0, "space quoted");
	local_quote_addr(&b, "a..b@c.d");
	ok(strcmp(b.s, "\"a..b\"@c.d") == 0, "double dot quoted");
	local_quote_addr(&b, "x\"y@c.d");
	ok(strcmp(b.s, "\"x\\\"y\"@c.d") == 0, "quote escaped");
	local_quote_addr(&b, "");
	ok(b.len == 0, "empty sender stays empty");
	local_quote_addr(&b, "#@[]");
	ok(strcmp(b.s, "#@[]") == 0, "#@[] unquoted");
	buf_free(&b);
	return done_testing();
}
