/* dot-forward: obey a sendmail-style .forward file under qmail.
 *
 *   in ~/.qmail:  |dot-forward [ -nN ] .forward [ file ... ]
 *
 * The first of the files that exists (and is not empty) is read, as
 * sendmail would read it (aliases.h): addresses, any number a line, with
 * comments and <brackets>; "|command" (quoted when it has blanks) runs a
 * command with the From, Return-Path and Delivered-To lines in front of
 * the message; "/path" appends to a file (a Maildir when it ends in /);
 * "\user" is the same as "user"; lines beginning with # are comments and
 * lines beginning with blanks continue the line before.
 *
 * An address that names the user himself ($USER without a domain, or
 * $USER@$HOST) means "deliver to me as well": dot-forward then exits 0 so
 * that qmail-local goes on with the next line of .qmail. Otherwise, after
 * forwarding, it exits 99 so that qmail-local stops. No file, or only an
 * empty one: exit 0, nothing done. -n prints the instructions instead.
 *
 * Forwards go out in one qmail-queue run with $NEWSENDER as sender and
 * $DTLINE on top (a loop is caught by qmail-local's Delivered-To check).
 * Exit codes (qmail-command(8)): 0, 99, 100 permanent failure, 111
 * temporary failure -- a file that cannot be read now, or that does not
 * parse (the user can mend it and nothing is lost meanwhile). */
#include "mail/aliases.h"
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

#define USAGE "usage: dot-forward [ -nN ] file ..."

static _Noreturn void nomem(void) { err_die(EXIT_TEMP, "out of memory", (char *)0); }

/* The first file that exists and is not empty, into text. 1 found, 0 none. */
static int readfirst(char **files, buf *text, const char **name)
{
	for (; *files; files++) {
		if (read_file(*files, text, AL_FILE_MAX) < 0) {
			if (errno == ENOENT || errno == ENOTDIR) continue;
			if (errno == ERANGE) err_die(EXIT_TEMP, *files, " is too big", (char *)0);
			err_dieerr(EXIT_TEMP, "unable to read ", *files, (char *)0);
		}
		if (text->len == 0) continue;     /* empty: as if it did not exist */
		*name = *files;
		return 1;
	}
	return 0;
}

static void describe(const buf *cmds)
{
	io_out out;
	size_t pos = 0;

	out_init(&out, 1, 0);
	while (pos < cmds->len) {
		const char *c = cmds->s + pos;
		pos += strlen(c) + 1;
		switch (c[0]) {
		case '&': out_puts(&out, "forward "); out_puts(&out, c + 1); break;
		case '!': out_puts(&out, "program "); out_puts(&out, c + 1); break;
		case '>': out_puts(&out, "file "); out_puts(&out, c + 1); break;
		case '=': out_puts(&out, "deliver to you (the next lines of .qmail)"); break;
		}
		out_puts(&out, "\n");
	}
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}

int main(int argc, char **argv)
{
	static const char *const lines[] = {"UFLINE", "RPLINE", "DTLINE", 0};
	buf text = BUF_INIT, cmds = BUF_INIT, rcpts = BUF_INIT, why = BUF_INIT, pre = BUF_INIT;
	strset seen = STRSET_INIT;
	addr_cfg cfg;
	al_opts o;
	size_t pos = 0, line = 1, eline, elen, count = 0;
	const char *e, *msg, *name = 0, *sender;
	int opt, r, flagdeliver = 1, direct = 0, code;
	char num[24];

	err_prog = "dot-forward";
	while ((opt = getopt(argc, argv, "+nN")) != -1) {
		switch (opt) {
		case 'n': flagdeliver = 0; break;
		case 'N': flagdeliver = 1; break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	}
	if (optind >= argc) err_die(EXIT_PERM, USAGE, (char *)0);
	sig_ignore(SIGPIPE);

	if (!readfirst(argv + optind, &text, &name)) return 0;
	r = al_cfg_load(&cfg);
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the control files", (char *)0);
	if (r == 0) err_die(EXIT_TEMP, "defaulthost, defaultdomain or plusdomain is not a host name", (char *)0);
	o.cfg = &cfg;
	o.flags = AL_PROGRAM | AL_FILE;
	o.user = getenv("USER");
	o.host = getenv("HOST");
	while (al_entry(text.s, text.len, &pos, &line, &e, &elen, &eline)) {
		if (elen > AL_ENTRY_MAX) { msg = "entry too long"; r = 0; }
		else r = al_list(&o, e, elen, &cmds, &count, &msg);
		if (r < 0) nomem();
		if (r == 0) {
			fmt_ulong(num, eline);
			err_die(EXIT_TEMP, name, " line ", num, ": ", msg, (char *)0);
		}
	}
	if (!count) return 0;                 /* comments only: nothing to obey */
	if (!flagdeliver) { describe(&cmds); return 0; }

	sender = getenv("NEWSENDER");
	if (!sender) sender = getenv("SENDER");
	if (!sender) err_die(EXIT_PERM, "NEWSENDER not set", (char *)0);
	if (fr_rewindable(&why)) err_die(111, why.s, (char *)0);
	if (fr_lines(&pre, lines) < 0) nomem();
	for (pos = 0; pos < cmds.len; ) {
		const char *c = cmds.s + pos;
		pos += strlen(c) + 1;
		code = 0;
		switch (c[0]) {
		case '=':
			direct = 1;
			break;
		case '!':
			code = fr_program(c + 1, pre.s ? pre.s : "", pre.len, &why);
			break;
		case '>':
			code = fr_file(c + 1, &why);
			break;
		case '&':
			r = strset_add(&seen, c + 1, strlen(c + 1));
			if (r < 0) nomem();
			if (r && (buf_puts(&rcpts, c + 1) < 0 || buf_put0(&rcpts) < 0)) nomem();
			break;
		}
		if (code) err_die(code, why.s, (char *)0);
	}
	if (rcpts.len) {
		code = fr_queue(sender, rcpts.s, rcpts.len, &why);
		if (code) err_die(code, why.s, (char *)0);
	}
	return direct ? 0 : 99;
}
