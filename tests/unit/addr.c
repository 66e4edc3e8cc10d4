/* Unit tests for src/mail/addr.c: tokens, address lists, completion with
 * defaulthost/defaultdomain/plusdomain, command-line addresses, quoting. */
#include "tap.h"
#include "mail/addr.h"
#include <string.h>

static addr_cfg cfg;

/* Rewrite s; compare the header form and the envelope forms (joined by
 * '|' here for brevity). */
static int list_is(const char *s, size_t col, const char *want, const char *wantaddrs)
{
	buf out = BUF_INIT, addrs = BUF_INIT, joined = BUF_INIT;
	size_t i;
	int r = addr_list(&cfg, s, strlen(s), col, &out, &addrs), good;

	for (i = 0; i < addrs.len; i += strlen(addrs.s + i) + 1) {
		if (i) buf_putc(&joined, '|');
		buf_puts(&joined, addrs.s + i);
	}
	if (!joined.s) buf_copys(&joined, "");
	good = r == 1 && out.s && strcmp(out.s, want) == 0 && strcmp(joined.s, wantaddrs) == 0;
	if (!good) printf("# r=%d out=[%s] addrs=[%s]\n", r, out.s ? out.s : "", joined.s);
	buf_free(&out); buf_free(&addrs); buf_free(&joined);
	return good;
}

static int list_bad(const char *s, size_t n)
{
	buf out = BUF_INIT, addrs = BUF_INIT;
	int r;
	buf_copys(&out, "keep");
	r = addr_list(&cfg, s, n, 0, &out, &addrs);
	r = r == 0 && strcmp(out.s, "keep") == 0 && addrs.len == 0;
	buf_free(&out); buf_free(&addrs);
	return r;
}

static int arg_is(const char *s, const char *want)
{
	buf out = BUF_INIT;
	int r = addr_arg(&cfg, s, strlen(s), &out);
	int good = want ? r == 1 && strcmp(out.s, want) == 0 : r == 0;
	if (!good) printf("# r=%d out=[%s]\n", r, out.s ? out.s : "");
	buf_free(&out);
	return good;
}

static int local_is(const char *s, const char *want)
{
	buf b = BUF_INIT;
	int good;
	buf_copys(&b, "");
	addr_put_local(&b, s, strlen(s));
	good = strcmp(b.s, want) == 0;
	if (!good) printf("# [%s]\n", b.s);
	buf_free(&b);
	return good;
}

int main(void)
{
	addr_cfg bad;
	addr_toks v = {0, 0, 0};
	buf b = BUF_INIT;
	char longlist[2048];
	int i;

	ok(addr_cfg_init(&cfg, "mammoth", "berkeley.edu", "berkeley.edu") == 1, "settings");
	ok(addr_cfg_init(&bad, "a,b", "x", "y") == 0, "a host with a comma is refused");
	addr_cfg_free(&bad);
	ok(addr_cfg_init(&bad, "ok", "", "y") == 0, "an empty name is refused");
	addr_cfg_free(&bad);

	/* tokens */
	{
		const char *t = "a.b@[1.2] (c (nested) \\) d) \"q \\\" s\" <>,;:";
		ok(addr_tokenize(&v, t, strlen(t)) == 1 && v.len == 12, "tokenize");
	}
	ok(v.len == 12 && v.t[5].type == A_COMMENT && v.t[5].n == 15 && v.t[6].type == A_QUOTE
	   && v.t[6].sp && v.t[7].type == A_LEFT, "token types, nested comment, space flag");
	addr_toks_free(&v);
	ok(addr_tokenize(&v, "a\0b", 3) == 0, "NUL refused");
	addr_toks_free(&v);

	/* completion, qmail-header(5)'s examples */
	ok(list_is("djb", 0, "djb@mammoth.berkeley.edu", "djb@mammoth.berkeley.edu"), "bare name gets defaulthost.defaultdomain");
	ok(list_is("djb@silverton", 0, "djb@silverton.berkeley.edu", "djb@silverton.berkeley.edu"), "host without dot");
	ok(list_is("eric@mammoth.cs+", 0, "eric@mammoth.cs.berkeley.edu", "eric@mammoth.cs.berkeley.edu"), "plus");
	ok(list_is("djb@[128.32.183.163]", 0, "djb@[128.32.183.163]", "djb@[128.32.183.163]"), "literal untouched");
	ok(list_is("a@b.c.", 0, "a@b.c", "a@b.c"), "trailing dot dropped");
	ok(list_is("joe@", 0, "joe@mammoth.berkeley.edu", "joe@mammoth.berkeley.edu"), "trailing @ dropped");
	ok(list_is("joe@+", 0, "joe@berkeley.edu", "joe@berkeley.edu"), "host of only +");
	ok(list_is("<>", 0, "<>", ""), "<> stays, empty envelope address");
	ok(list_is("joe-@x.y-@[]", 0, "joe-@x.y-@[]", "joe-@x.y-@[]"), "VERP marker left alone");
	ok(list_is("<@a.b,@c.d:u@e.f>", 0, "<u@e.f>", "u@e.f"), "source route dropped");
	ok(list_is("<@a.b>", 0, "<>", ""), "route without address becomes <>");

	/* lists */
	ok(list_is("a@b, c@d (Somebody), A Person <e@f>,\n random group: g@h, i@j;, k@l", 4,
	           "a@b.berkeley.edu, c@d.berkeley.edu (Somebody),\n"
	           "  A Person <e@f.berkeley.edu>, random group: g@h.berkeley.edu,\n"
	           "  i@j.berkeley.edu;, k@l.berkeley.edu",
	           "a@b.berkeley.edu|c@d.berkeley.edu|e@f.berkeley.edu|g@h.berkeley.edu|i@j.berkeley.edu|k@l.berkeley.edu"),
	   "qmail-header(5)'s address list");
	ok(list_is("djb fred", 0, "djb@mammoth.berkeley.edu, fred@mammoth.berkeley.edu",
	           "djb@mammoth.berkeley.edu|fred@mammoth.berkeley.edu"), "illegal space is a comma");
	ok(list_is("Joe Q. Public <jqp@x.y>", 0, "Joe Q. Public <jqp@x.y>", "jqp@x.y"), "phrase kept");
	ok(list_is("(c) x@y.z (d)", 0, "(c) x@y.z (d)", "x@y.z"), "comments kept");
	ok(list_is("x@y.z(in)", 0, "x@y.z (in)", "x@y.z"), "comment after an address");
	ok(list_is("\"a b\"@c.d, \"x\\\"y\"@e.f", 0, "\"a b\"@c.d, \"x\\\"y\"@e.f", "a b@c.d|x\"y@e.f"),
	   "quoted local parts: kept in header, unquoted in envelope");
	ok(list_is("undisclosed-recipients:;", 0, "undisclosed-recipients:;", ""), "empty group");
	ok(list_is("g: a@b.c", 0, "g: a@b.c;", "a@b.c"), "group closed at the end");
	ok(list_is("<a@b.c> <d@e.f>", 0, "<a@b.c>, <d@e.f>", "a@b.c|d@e.f"), "two angle addresses");
	ok(list_is(" ,, a@b.c ,", 0, "a@b.c", "a@b.c"), "empty items dropped");
	ok(list_is("", 0, "", ""), "empty list");
	ok(list_is("(only a comment)", 0, "(only a comment)", ""), "comment alone: no address");
	ok(list_is("a . b @ c . d", 0, "a.b@c.d", "a.b@c.d"), "spaces inside an address dropped");
	ok(list_is("\"Ann\" <ann@x.y> (work)", 0, "\"Ann\" <ann@x.y> (work)", "ann@x.y"), "quoted phrase and comment");

	ok(list_bad("<a@b.c", 6), "unclosed <");
	ok(list_bad("a@b.c>", 6), "stray >");
	ok(list_bad("(open", 5), "unclosed comment");
	ok(list_bad("\"open", 5), "unclosed quote");
	ok(list_bad("a@[1.2", 6), "unclosed literal");
	ok(list_bad("a)", 2), "stray )");
	ok(list_bad("<a<b>>", 6), "nested <");
	ok(list_bad("g: h: a;", 8), "nested group");
	ok(list_bad("a\\", 2) == 0, "a trailing backslash in an atom is text");
	ok(list_bad("\"a\\", 3), "backslash at the end of a quote");
	ok(list_bad("x@y, z\0@w", 9), "NUL in a list");

	/* folding keeps lines short */
	b.len = 0;
	for (i = 0; i < 40; i++) { buf_puts(&b, "user"); buf_putnum(&b, (unsigned)i); buf_puts(&b, "@example.org, "); }
	memcpy(longlist, b.s, b.len + 1);
	{
		buf out = BUF_INIT, addrs = BUF_INIT;
		size_t col = 4, maxcol = 0, n = 0;
		const char *s;
		int r = addr_list(&cfg, longlist, strlen(longlist), 4, &out, &addrs);
		for (s = out.s; r == 1 && *s; s++) {
			if (*s == '\n') { if (col > maxcol) maxcol = col; col = 0; n++; } else col++;
		}
		ok(r == 1 && n > 5 && maxcol <= 78, "folded before column 78");
		buf_free(&out); buf_free(&addrs);
	}
	{
		buf out = BUF_INIT, addrs = BUF_INIT;
		out.max = 100;
		ok(addr_list(&cfg, longlist, strlen(longlist), 4, &out, &addrs) < 0, "output limit honoured");
		buf_free(&out); buf_free(&addrs);
	}

	/* command-line addresses */
	ok(arg_is("joe", "joe@mammoth.berkeley.edu"), "arg: bare name");
	ok(arg_is("joe@h+", "joe@h.berkeley.edu"), "arg: plus");
	ok(arg_is("joe smith@x.y", "joe smith@x.y"), "arg: local part as it is");
	ok(arg_is("\"q\"@x.y", "\"q\"@x.y"), "arg: quotes in the local part are kept");
	ok(arg_is("<a@b.c>", "a@b.c"), "arg: <addr>");
	ok(arg_is("<>", ""), "arg: <>");
	ok(arg_is("", ""), "arg: empty");
	ok(arg_is("x@[1.2.3.4]", "x@[1.2.3.4]"), "arg: literal");
	ok(arg_is("a@b.c.", "a@b.c"), "arg: trailing dot");
	ok(arg_is("a@b,c", 0), "arg: comma in host refused");
	ok(arg_is("a@b c", 0), "arg: space in host refused");
	ok(arg_is("a\nb@c.d", 0), "arg: control character refused");
	ok(arg_is("a@(c)", 0), "arg: comment refused");

	ok(local_is("a.b", "a.b"), "local: dot-atom");
	ok(local_is("a b", "\"a b\""), "local: space quoted");
	ok(local_is(".a", "\".a\""), "local: leading dot quoted");
	ok(local_is("a..b", "\"a..b\""), "local: double dot quoted");
	ok(local_is("a\"b\\", "\"a\\\"b\\\\\""), "local: quote and backslash escaped");
	ok(local_is("", "\"\""), "local: empty");
	b.len = 0;
	addr_put_quoted(&b, "x\ny\"", 4);
	ok(strcmp(b.s, "\"x y\\\"\"") == 0, "quoted: line break made a space");
	b.len = 0;
	addr_put_comment(&b, "a(b)\r", 5);
	ok(strcmp(b.s, "(a\\(b\\) )") == 0, "comment: parens escaped");
	buf_free(&b);
	addr_cfg_free(&cfg);
	return done_testing();
}
