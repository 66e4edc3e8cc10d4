/* fastforward: forward a message as a forwarding database says.
 *
 *   in .qmail-default:  | fastforward [ -nNpPdD ] data.cdb
 *
 * The database comes from setforward or newaliases (fwdb.h). The incoming
 * address user@host.dom is looked up as user@host.dom, then @host.dom,
 * then user@; the first target found is obeyed. Its commands are followed
 * recursively: an address that is itself a target (exactly, or as user@
 * when it is at $HOST) is replaced by that target's commands,
 * and a binary mailing list by the commands in it. Each address or list
 * is used once per envelope sender, so duplicates and internal loops
 * vanish. A target with an owner address ("?owner") sends everything
 * below it with that owner as envelope sender, so bounces go to the owner.
 *
 * Programs and file deliveries are carried out first, in order; then one
 * qmail-queue run per envelope sender forwards the message, with
 * $DTLINE on top. Exit codes (qmail-command(8)): 0 forwarded, or -p: 99
 * forwarded / 0 not found; 100 not found (without -p) or a permanent
 * failure; 111 a temporary failure. */
#include "mail/fwdb.h"
#include "mail/fwdrun.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "lib/strset.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "usage: fastforward [ -nNpPdD ] data.cdb"
#define DEPTH_MAX 1000          /* nested targets and lists followed */

static int flagdeliver = 1, flagpass = 0, flagdefault = 0;
static const char *cdbpath;
static const char *host;        /* $HOST: where the incoming address is */
static fwdb db;
static strset seen;             /* sender NUL command, for each command used */
static buf progs;               /* programs and files, each NUL-terminated, in order */

struct group {
	buf sender;
	buf rcpts;                  /* NUL-terminated addresses */
	size_t n;
};
static struct group *groups;
static size_t ngroups;

static _Noreturn void nomem(void) { err_die(EXIT_TEMP, "out of memory", (char *)0); }

static _Noreturn void dbfail(void)
{
	err_dieerr(EXIT_TEMP, "unable to read ", cdbpath, (char *)0);
}

/* The group for envelope sender s (created when new). There are as many
 * groups as distinct owners met: a handful. */
static size_t group(const char *s, size_t n)
{
	size_t i;
	struct group *g;

	for (i = 0; i < ngroups; i++)
		if (groups[i].sender.len == n && memcmp(groups[i].sender.s, s, n) == 0) return i;
	g = realloc(groups, (ngroups + 1) * sizeof *g);
	if (!g) nomem();
	groups = g;
	memset(&g[ngroups], 0, sizeof *g);
	if (buf_copy(&g[ngroups].sender, s, n) < 0) nomem();
	return ngroups++;
}

/* 1 the first time sender g uses command c, else 0. */
static int firstuse(size_t g, const char *c)
{
	buf k = BUF_INIT;
	int r;
	if (buf_put(&k, groups[g].sender.s, groups[g].sender.len) < 0 || buf_put0(&k) < 0 ||
	    buf_puts(&k, c) < 0) nomem();
	r = strset_add(&seen, k.s, k.len);
	buf_free(&k);
	if (r < 0) nomem();
	return r;
}

static void expand(const char *v, size_t n, size_t g, unsigned depth);

/* Obey target t, whose commands are in val. */
static void obey(const char *t, size_t tl, const char *v, size_t n, size_t g, unsigned depth)
{
	buf owner = BUF_INIT;
	const char *s = groups[g].sender.s;
	int r = fwdb_get(&db, '?', t, tl, &owner);

	if (r < 0) dbfail();
	/* bounces keep their empty sender: a bounce must not make bounces */
	if (r > 0 && *s && strcmp(s, "#@[]") != 0) g = group(owner.s, owner.len);
	buf_free(&owner);
	expand(v, n, g, depth);
}

static void list(const char *path, size_t g, unsigned depth)
{
	buf b = BUF_INIT;
	if (read_file(path, &b, FWDB_LIST_MAX) < 0) {
		if (errno == ERANGE) err_die(EXIT_TEMP, "mailing list ", path, " is too big", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to read mailing list ", path, (char *)0);
	}
	expand(b.s ? b.s : "", b.len, g, depth);
	buf_free(&b);
}

/* Is address a, met inside the instructions, a target itself? Exactly,
 * or (nqmail's addition, as sendmail's aliases are recursive) as "user@"
 * when its host is the one this delivery is for: the wildcards of
 * /etc/aliases then apply to "root: postmaster" too, and a list that
 * names a member twice through two aliases sends one copy. 1 found with
 * the target's length in *tl (a prefix of a), 0 not, dies on errors. */
static int inner(const char *a, buf *val, size_t *tl)
{
	size_t n = strlen(a), at = byte_rchr(a, n, '@');
	int r = fwdb_get(&db, ':', a, n, val);

	*tl = n;
	if (r == 0 && at < n && host && case_eq(a + at + 1, host)) {
		r = fwdb_get(&db, ':', a, at + 1, val);
		*tl = at + 1;
	}
	if (r < 0) dbfail();
	return r;
}

static void expand(const char *v, size_t n, size_t g, unsigned depth)
{
	size_t tl;
	size_t pos = 0;
	const char *c;
	int r;

	if (depth > DEPTH_MAX) err_die(EXIT_TEMP, "forwarding instructions nested too deep", (char *)0);
	while ((r = fwdb_next(v, n, &pos, &c)) > 0) {
		buf val = BUF_INIT;
		switch (fwdb_cmdtype(c)) {
		case '&':
			if (!firstuse(g, c)) break;
			r = inner(c + 1, &val, &tl);
			if (r > 0) { obey(c + 1, tl, val.s, val.len, g, depth + 1); break; }
			if (buf_puts(&groups[g].rcpts, c + 1) < 0 || buf_put0(&groups[g].rcpts) < 0) nomem();
			groups[g].n++;
			break;
		case '/':
			if (firstuse(g, c)) list(c, g, depth + 1);
			break;
		case '|': case '!': case '>':
			if (buf_puts(&progs, c) < 0 || buf_put0(&progs) < 0) nomem();
			break;
		default:
			err_die(EXIT_TEMP, "unrecognized command in forwarding instructions: ", c, (char *)0);
		}
		buf_free(&val);
	}
	if (r < 0) err_die(EXIT_TEMP, "truncated forwarding instructions", (char *)0);
}

/* The incoming address: $RECIPIENT, or with -d $DEFAULT@$HOST. */
static void recipient(buf *b)
{
	const char *x;
	if (!flagdefault) {
		x = getenv("RECIPIENT");
		if (!x) err_die(EXIT_PERM, "RECIPIENT not set", (char *)0);
		if (buf_copys(b, x) < 0) nomem();
		return;
	}
	x = getenv("DEFAULT");
	if (!x) x = getenv("EXT");
	if (!x) err_die(EXIT_PERM, "DEFAULT and EXT not set", (char *)0);
	if (buf_copys(b, x) < 0 || buf_putc(b, '@') < 0) nomem();
	x = getenv("HOST");
	if (!x) err_die(EXIT_PERM, "HOST not set", (char *)0);
	if (buf_puts(b, x) < 0) nomem();
}

/* Find the target for address a: a, @host, user@. 1 found (its key in
 * key, its commands in val), 0 not. */
static int find(const buf *a, buf *key, buf *val)
{
	size_t at = byte_rchr(a->s, a->len, '@');
	int r;

	if (buf_copy(key, a->s, a->len) < 0) nomem();
	r = fwdb_get(&db, ':', key->s, key->len, val);
	if (r == 0 && at < a->len) {
		if (buf_copy(key, a->s + at, a->len - at) < 0) nomem();
		r = fwdb_get(&db, ':', key->s, key->len, val);
		if (r == 0) {
			if (buf_copy(key, a->s, at + 1) < 0) nomem();
			r = fwdb_get(&db, ':', key->s, key->len, val);
		}
	}
	if (r < 0) dbfail();
	return r;
}

static void describe(void)
{
	io_out out;
	size_t i, pos;
	const char *c;

	out_init(&out, 1, 0);
	for (pos = 0; fwdb_next(progs.s, progs.len, &pos, &c) > 0; ) {
		out_puts(&out, c[0] == '>' ? "file " : "program ");
		out_puts(&out, c + 1);
		out_puts(&out, c[0] == '!' ? " (with From, Return-Path, Delivered-To lines)\n" : "\n");
	}
	for (i = 0; i < ngroups; i++) {
		if (!groups[i].n) continue;
		out_puts(&out, "sender <");
		out_put(&out, groups[i].sender.s, groups[i].sender.len);
		out_puts(&out, ">\n");
		for (pos = 0; fwdb_next(groups[i].rcpts.s, groups[i].rcpts.len, &pos, &c) > 0; ) {
			out_puts(&out, "forward ");
			out_puts(&out, c);
			out_puts(&out, "\n");
		}
	}
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}

static _Noreturn void failed(int code, const buf *why)
{
	err_die(code, why->s ? why->s : "failed", (char *)0);
}

int main(int argc, char **argv)
{
	static const char *const lines[] = {"UFLINE", "RPLINE", "DTLINE", 0};
	buf addr = BUF_INIT, key = BUF_INIT, val = BUF_INIT, why = BUF_INIT, pre = BUF_INIT;
	const char *sender, *c;
	size_t i, pos;
	int opt, code;

	err_prog = "fastforward";
	while ((opt = getopt(argc, argv, "+nNpPdD")) != -1) {
		switch (opt) {
		case 'n': flagdeliver = 0; break;
		case 'N': flagdeliver = 1; break;
		case 'p': flagpass = 1; break;
		case 'P': flagpass = 0; break;
		case 'd': flagdefault = 1; break;
		case 'D': flagdefault = 0; break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	}
	if (optind + 1 != argc) err_die(EXIT_PERM, USAGE, (char *)0);
	cdbpath = argv[optind];
	sig_ignore(SIGPIPE);

	recipient(&addr);
	host = getenv("HOST");
	sender = getenv("NEWSENDER");
	if (!sender) sender = getenv("SENDER");
	if (!sender) {
		if (flagdeliver) err_die(EXIT_PERM, "NEWSENDER not set", (char *)0);
		sender = "$NEWSENDER";     /* -n only: a stand-in the owners replace */
	}
	if (fwdb_open(&db, cdbpath) < 0) dbfail();

	if (!find(&addr, &key, &val)) {
		if (flagpass) return 0;
		err_die(EXIT_PERM, "Sorry, no mailbox here by that name. (#5.1.1)", (char *)0);
	}
	group(sender, strlen(sender));
	if (buf_putc(&addr, 0) < 0) nomem();
	{
		/* the incoming address itself counts as used: a loop back to it ends */
		buf self = BUF_INIT;
		if (buf_copys(&self, "&") < 0 || buf_puts(&self, addr.s) < 0) nomem();
		firstuse(0, self.s);
		buf_free(&self);
	}
	obey(key.s, key.len, val.s, val.len, 0, 0);

	if (!flagdeliver) {
		describe();
		return 0;
	}
	if (fr_rewindable(&why)) failed(111, &why);
	if (fr_lines(&pre, lines) < 0) nomem();
	for (pos = 0; fwdb_next(progs.s, progs.len, &pos, &c) > 0; ) {
		if (c[0] == '>') code = fr_file(c + 1, &why);
		else code = fr_program(c + 1, c[0] == '!' ? pre.s : "", c[0] == '!' ? pre.len : 0, &why);
		if (code) failed(code, &why);
	}
	for (i = 0; i < ngroups; i++) {
		if (!groups[i].n) continue;
		code = fr_queue(groups[i].sender.s, groups[i].rcpts.s, groups[i].rcpts.len, &why);
		if (code) failed(code, &why);
	}
	return flagpass ? 99 : 0;
}
