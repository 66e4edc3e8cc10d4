/* newinclude: turn a sendmail :include: file into a binary mailing list.
 *
 *   newinclude list
 *
 * Reads list (addresses in /etc/aliases notation, any number a line, #
 * comment lines, continuation lines, further :include: files) and writes
 * list.bin for fastforward, through list.tmp, fsynced and renamed, so
 * fastforward never sees half a list. Programs and file deliveries are
 * refused in include files: dot-qmail(5) has safer ways. Addresses are
 * completed as qmail-inject completes them. Exit 0, 100 for a syntax error
 * (with its line), 111 for trouble. */
#include "mail/aliases.h"
#include "mail/fwdb.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>

static _Noreturn void nomem(void) { err_die(EXIT_TEMP, "out of memory", (char *)0); }

int main(int argc, char **argv)
{
	buf text = BUF_INIT, bin = BUF_INIT, tmp = BUF_INIT, out = BUF_INIT;
	addr_cfg cfg;
	al_opts o;
	size_t pos = 0, line = 1, eline, elen, count = 0;
	const char *e, *why;
	char num[24];
	int r;

	err_prog = "newinclude";
	if (argc != 2 || !argv[1][0]) err_die(EXIT_PERM, "usage: newinclude list", (char *)0);
	if (buf_copys(&bin, argv[1]) < 0 || buf_puts(&bin, ".bin") < 0 ||
	    buf_copys(&tmp, argv[1]) < 0 || buf_puts(&tmp, ".tmp") < 0) nomem();
	r = al_cfg_load(&cfg);
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the control files", (char *)0);
	if (r == 0) err_die(EXIT_TEMP, "defaulthost, defaultdomain or plusdomain is not a host name", (char *)0);
	o.cfg = &cfg;
	o.flags = AL_INCLUDE;
	o.user = o.host = 0;
	if (read_file(argv[1], &text, AL_FILE_MAX) < 0) {
		if (errno == ERANGE) err_die(EXIT_PERM, argv[1], " is too big", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to read ", argv[1], (char *)0);
	}
	while (al_entry(text.s, text.len, &pos, &line, &e, &elen, &eline)) {
		if (elen > AL_ENTRY_MAX) { why = "entry too long"; r = 0; }
		else r = al_list(&o, e, elen, &out, &count, &why);
		if (r < 0) nomem();
		if (r == 0) {
			fmt_ulong(num, eline);
			err_die(EXIT_PERM, argv[1], " line ", num, ": ", why, (char *)0);
		}
	}
	if (fwdb_replace(bin.s, tmp.s, out.s ? out.s : "", out.len, 0644) < 0)
		err_dieerr(EXIT_TEMP, "unable to create ", bin.s, " through ", tmp.s, (char *)0);
	return 0;
}
