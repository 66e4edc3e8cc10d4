/* Unit tests for aliases.h (sendmail syntax) and fwdb.h (setforward's
 * notation, binary list lines) and strset.h. */
#include "mail/aliases.h"
#include "mail/fwdb.h"
#include "lib/strset.h"
#include "tap.h"
#include <string.h>

static addr_cfg cfg;

/* The commands of list s as one string, separated by '|'-free " ; ". */
static const char *cmds(unsigned flags, const char *user, const char *s, int *r)
{
	static buf out;
	buf c = BUF_INIT;
	al_opts o = {&cfg, flags, user, "host.example"};
	size_t count = 0, pos = 0;
	const char *why, *x;

	*r = al_list(&o, s, strlen(s), &c, &count, &why);
	out.len = 0;
	buf_copys(&out, "");
	while (fwdb_next(c.s, c.len, &pos, &x) > 0) {
		if (out.len) buf_puts(&out, " ; ");
		buf_puts(&out, x);
	}
	buf_free(&c);
	return out.s;
}

static int target(const char *s, const char *want, const char *rest)
{
	buf t = BUF_INIT;
	size_t r;
	const char *why;
	int ok = al_target(s, strlen(s), &t, &r, &why) == 1 && strcmp(t.s, want) == 0 && strcmp(s + r, rest) == 0;
	buf_free(&t);
	return ok;
}

static size_t entries(const char *s, const char *joined)
{
	size_t pos = 0, line = 1, eline, elen, n = 0;
	const char *e;
	buf all = BUF_INIT;
	while (al_entry(s, strlen(s), &pos, &line, &e, &elen, &eline)) {
		buf_put(&all, e, elen);
		buf_puts(&all, "|");
		n++;
	}
	n = strcmp(all.s ? all.s : "", joined) == 0 ? n : (size_t)-1;
	buf_free(&all);
	return n;
}

static int parse(const char *s, const char *tgt, const char *want, const char *owner)
{
	fwdb_instr in = FWDB_INSTR_INIT;
	size_t pos = 0, line = 1, cp = 0;
	const char *why, *c;
	buf got = BUF_INIT;
	int ok;

	if (fwdb_parse(s, strlen(s), &pos, &line, &in, &why) != 1) { fwdb_instr_free(&in); return 0; }
	buf_copys(&got, "");
	while (fwdb_next(in.cmds.s, in.cmds.len, &cp, &c) > 0) {
		if (got.len) buf_puts(&got, " ; ");
		buf_puts(&got, c);
	}
	ok = strcmp(in.target.s, tgt) == 0 && strcmp(got.s, want) == 0 &&
	     (owner ? in.hasowner && strcmp(in.owner.s, owner) == 0 : !in.hasowner);
	fwdb_instr_free(&in);
	buf_free(&got);
	return ok;
}

static int parsefails(const char *s, size_t n, const char *why_has)
{
	fwdb_instr in = FWDB_INSTR_INIT;
	size_t pos = 0, line = 1;
	const char *why = 0;
	int r = fwdb_parse(s, n, &pos, &line, &in, &why);
	fwdb_instr_free(&in);
	return r == -1 && why && strstr(why, why_has);
}

int main(void)
{
	int r;
	const char *why;
	buf b = BUF_INIT;
	strset set = STRSET_INIT;
	size_t i;

	addr_cfg_init(&cfg, "host.example", "example", "plus.example");

	/* entries: continuation lines, blank lines inside, comments with their continuations */
	ok(entries("a: b\n  c\n\n\td\ne: f\n", "a: b\n  c\n\n\td|e: f|") == 2, "continuations and blank lines join");
	ok(entries("# x\n  y\nz: w\n", "z: w|") == 1, "a comment's continuation is comment too");
	ok(entries("\n\n  \n", "") == 0, "blank lines only: nothing");
	ok(entries("a: b\r\n  c\r\n", "a: b\r\n  c\r|") == 1, "CR LF line ends");

	/* targets */
	ok(target("Root: bob", "root@", " bob"), "bare alias is a wildcard user@, lowercase");
	ok(target("root@Host.Example: x", "root@host.example", " x"), "per-host alias");
	ok(target("@host.example: x", "@host.example", " x"), "whole-host alias");
	ok(target("\"first.last\": x", "first.last@", " x"), "quoted alias");
	ok(target("nocolon bob, carl", "nocolon@", "bob, carl"), "without a colon the first address is the alias");
	ok(al_target(": x", 3, &b, &i, &why) == 0, "missing alias name refused");

	/* recipients */
	ok(!strcmp(cmds(0, 0, "bob, carl@x.example", &r), "&bob@host.example ; &carl@x.example") && r == 1,
	   "bare names completed with defaulthost");
	ok(!strcmp(cmds(0, 0, "a@b", &r), "&a@b.example"), "defaultdomain for a dotless host");
	ok(!strcmp(cmds(0, 0, "a@b+", &r), "&a@b.plus.example"), "plusdomain");
	ok(!strcmp(cmds(0, 0, "Alice Smith <alice@x.example>, bob (Bob)", &r),
	           "&alice@x.example ; &bob@host.example"), "phrase <address> and comments");
	ok(!strcmp(cmds(0, 0, "bob fred", &r), "&bob@host.example ; &fred@host.example"), "two words: two addresses");
	ok(!strcmp(cmds(0, 0, "\"spaced out\"@x.example", &r), "&spaced out@x.example"), "quoted local part");
	ok(!strcmp(cmds(0, 0, "\\bob", &r), "&bob@host.example"), "\\user is user");
	ok(!strcmp(cmds(0, 0, "<@relay.example:z@w.example>", &r), "&z@w.example"), "source route dropped");
	ok(!strcmp(cmds(0, 0, "<>, a@b.c", &r), "&a@b.c"), "<> is nobody");
	ok(!strcmp(cmds(AL_PROGRAM, 0, "\"|prog a b\", |simple", &r), "!prog a b ; !simple"), "programs");
	ok(!strcmp(cmds(AL_PROGRAM, 0, "\"|prog\"@x.example", &r), "&|prog@x.example"), "an unquoted @ makes an address");
	cmds(0, 0, "\"|prog\"", &r);
	ok(r == 0, "programs refused without AL_PROGRAM");
	ok(!strcmp(cmds(AL_FILE, 0, "/var/mail/x.box, /home/u/Maildir/", &r), ">/var/mail/x.box ; >/home/u/Maildir/"), "files");
	ok(!strcmp(cmds(AL_INCLUDE, 0, ":include:/etc/l, : Include : \"my list\"", &r), "/etc/l.bin ; ./my list.bin"),
	   ":include: files, absolute and relative");
	cmds(AL_INCLUDE | AL_PROGRAM | AL_FILE, 0, "a, group: b, c;", &r);
	ok(r == 0, "groups refused");
	cmds(0, 0, "\"unterminated", &r);
	ok(r == 0, "unbalanced quote refused");
	cmds(0, 0, "a >b", &r);
	ok(r == 0, "stray > refused");
	ok(!strcmp(cmds(0, "me", "\\me, Me, me@host.example, ME@Host.Example, me@other.example", &r),
	           "= ; = ; = ; = ; &me@other.example"), "direct delivery spotted for $USER and $USER@$HOST");

	/* setforward notation */
	ok(parse("# c\n Root@YP.to : god@heaven.af.mil,\n &staff@af.mil ; ", "root@yp.to",
	         "&god@heaven.af.mil ; &staff@af.mil", 0), "instruction over lines, blanks ignored");
	ok(parse("x@: ?o@x, |a\\ b, !c, /l.bin, ./m.bin, >/f;", "x@", "|a b ; !c ; /l.bin ; ./m.bin ; >/f", "o@x"),
	   "every kind of command");
	ok(parse("x@: \\#\\,\\:\\;\\\\;", "x@", "", 0) == 0, "an escaped # starts no known command");
	ok(parse("x@: a\\#b;", "x@", "&a#b", 0), "escaped # kept");
	ok(parse("x@:;", "x@", "", 0), "an empty instruction");
	ok(parsefails("a: b", 4, "semicolon"), "missing semicolon");
	ok(parsefails("a,b: c;", 7, "commas"), "comma before colon");
	ok(parsefails("a: b: c;", 8, "double colons"), "double colon");
	ok(parsefails("a: b\0;", 6, "NUL"), "NUL byte");
	ok(parsefails("a: >rel;", 8, "absolute"), "relative file delivery");
	ok(parsefails("a: -x;", 6, "unrecognized"), "unknown command");

	b.len = 0;
	ok(fwdb_put_escaped(&b, "a b,c:d;e#f\\g", 13) == 0 && !strcmp(b.s, "a\\ b\\,c\\:d\\;e\\#f\\\\g"), "escaping");

	/* setmaillist lines */
	b.len = 0;
	ok(fwdb_listline("  ", 2, &b, &why) == 0 && fwdb_listline("# x", 3, &b, &why) == 0, "blank and comment lines");
	ok(fwdb_listline("joe@x \t", 7, &b, &why) == 1 && fwdb_listline("&_j@x", 5, &b, &why) == 1 &&
	   fwdb_listline("/l.bin", 6, &b, &why) == 1 && b.len == 20 && !memcmp(b.s, "&joe@x\0&_j@x\0/l.bin\0", 20),
	   "addresses and list names");
	ok(fwdb_listline("-x", 2, &b, &why) == -1, "a line of no known kind");

	/* strset */
	ok(strset_add(&set, "a\0b", 3) == 1 && strset_add(&set, "a\0c", 3) == 1 && strset_add(&set, "a\0b", 3) == 0,
	   "strset keeps NUL-containing keys apart");
	for (i = 0, r = 1; i < 10000; i++) {
		char k[24];
		int n = snprintf(k, sizeof k, "k%zu", i);
		if (strset_add(&set, k, (size_t)n) != 1) r = 0;
	}
	ok(r && set.n == 10002 && strset_has(&set, "k9999", 5) && !strset_has(&set, "k10000", 6), "strset grows");
	strset_free(&set);
	buf_free(&b);
	addr_cfg_free(&cfg);
	return done_testing();
}
