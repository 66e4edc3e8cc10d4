/* newaliases: compile sendmail's /etc/aliases into a forwarding database
 * for fastforward.
 *
 *   newaliases
 *
 * The aliases file is /etc/aliases, or the file named in the first line
 * of control/aliases (nqmail's addition, so that an instance, or a test,
 * can keep its own). The database is that name plus ".cdb"; it is built
 * as that name plus ".tmp", fsynced and renamed, so deliveries go on using
 * the old database until the new one is complete, and a problem anywhere
 * leaves the old one alone.
 *
 * Each entry "alias: recipients" (aliases.h has the syntax) becomes one
 * setforward instruction: "user" is a wildcard (user@ at every host),
 * addresses are completed as qmail-inject would, "|program" runs a program
 * with the From, Return-Path and Delivered-To lines in front, "/file" is a
 * file delivery, ":include:file" names file.bin (made by newinclude). When
 * an alias is defined twice, the first definition counts. An alias
 * "owner-list" makes its own address (completed) the envelope sender of
 * everything forwarded through "list", as sendmail does.
 *
 * Exit 0, 100 for a syntax error (with its line), 111 for trouble. */
#include "mail/aliases.h"
#include "mail/control.h"
#include "mail/fwdb.h"
#include "mail/instance.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "lib/strset.h"
#include <errno.h>
#include <string.h>

#define DEFAULT_ALIASES "/etc/aliases"

static _Noreturn void nomem(void) { err_die(EXIT_TEMP, "out of memory", (char *)0); }

int main(int argc, char **argv)
{
	buf file = BUF_INIT, text = BUF_INIT, cdb = BUF_INIT, tmp = BUF_INIT, owners = BUF_INIT, a = BUF_INIT;
	fwdb_instr in = FWDB_INSTR_INIT;
	fwdb_make m;
	strset targets = STRSET_INIT;
	addr_cfg cfg;
	al_opts o;
	size_t pos = 0, line = 1, eline, elen, rest;
	const char *e, *why;
	char num[24];
	int r;

	err_prog = "newaliases";
	if (argc > 1) err_die(EXIT_PERM, "usage: newaliases", (char *)0);
	(void)argv;
	if (control_readline(&file, "aliases", DEFAULT_ALIASES) < 0)
		err_dieerr(EXIT_TEMP, "unable to read control/aliases", (char *)0);
	if (!file.len && buf_copys(&file, DEFAULT_ALIASES) < 0) nomem();
	if (buf_copy(&cdb, file.s, file.len) < 0 || buf_puts(&cdb, ".cdb") < 0 ||
	    buf_copy(&tmp, file.s, file.len) < 0 || buf_puts(&tmp, ".tmp") < 0) nomem();

	r = al_cfg_load(&cfg);
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the control files", (char *)0);
	if (r == 0) err_die(EXIT_TEMP, "defaulthost, defaultdomain or plusdomain is not a host name", (char *)0);
	o.cfg = &cfg;
	o.flags = AL_INCLUDE | AL_PROGRAM | AL_FILE;
	o.user = o.host = 0;

	if (read_file(file.s, &text, AL_FILE_MAX) < 0) {
		if (errno == ERANGE) err_die(EXIT_PERM, file.s, " is too big", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to read ", file.s, (char *)0);
	}
	if (fwdb_start(&m, cdb.s, tmp.s) < 0) err_dieerr(EXIT_TEMP, "unable to create ", tmp.s, (char *)0);

	while (al_entry(text.s, text.len, &pos, &line, &e, &elen, &eline)) {
		fmt_ulong(num, eline);
		if (elen > AL_ENTRY_MAX) { why = "entry too long"; goto syntax; }
		r = al_target(e, elen, &in.target, &rest, &why);
		if (r < 0) nomem();
		if (r == 0) goto syntax;
		in.cmds.len = 0;
		in.ncmds = 0;
		in.hasowner = 0;
		r = al_list(&o, e + rest, elen - rest, &in.cmds, &in.ncmds, &why);
		if (r < 0) nomem();
		if (r == 0) goto syntax;
		r = strset_add(&targets, in.target.s, in.target.len);
		if (r < 0) nomem();
		if (r == 0) continue;               /* defined before: the first one counts */
		if (fwdb_add(&m, &in) < 0) goto writefail;
		/* owner-list: the owner of list (completed like any address) */
		if (in.target.len > 7 && case_eqn(in.target.s, "owner-", 6) && in.target.s[6] != '@') {
			size_t n = in.target.len;
			if (in.target.s[n - 1] == '@') n--;     /* a wildcard: complete the name */
			r = addr_arg(&cfg, in.target.s, n, &a);
			if (r < 0) nomem();
			if (r > 0 && a.len <= FWDB_ADDR_MAX) {
				if (buf_puts(&owners, in.target.s + 6) < 0 || buf_put0(&owners) < 0 ||
				    buf_put(&owners, a.s, a.len) < 0 || buf_put0(&owners) < 0) nomem();
			}
		}
		continue;
	syntax:
		fwdb_abort(&m);
		err_die(EXIT_PERM, file.s, " line ", num, ": ", why, (char *)0);
	}
	for (pos = 0; pos < owners.len; ) {
		const char *t = owners.s + pos, *ow = t + strlen(t) + 1;
		pos = (size_t)(ow - owners.s) + strlen(ow) + 1;
		if (buf_copys(&in.target, t) < 0 || buf_copys(&in.owner, ow) < 0) nomem();
		in.cmds.len = 0;
		in.ncmds = 0;
		in.hasowner = 1;
		if (fwdb_add(&m, &in) < 0) goto writefail;
	}
	if (fwdb_finish(&m) < 0) err_dieerr(EXIT_TEMP, "unable to install ", cdb.s, (char *)0);
	return 0;
writefail:
	fwdb_abort(&m);
	err_dieerr(EXIT_TEMP, "unable to write ", tmp.s, (char *)0);
}
