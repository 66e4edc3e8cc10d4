/* setforward: create a forwarding database for fastforward.
 *
 *   setforward data.cdb data.tmp
 *
 * Reads forwarding instructions ("target: command, command;", with #
 * comments, blanks ignored and backslash quoting; fwdb.h) from its
 * standard input, writes the database to data.tmp, fsyncs it and moves
 * it to data.cdb. On any problem data.cdb is left alone. Exit 0, 100 for
 * a syntax error (with its line), 111 for trouble. */
#include "mail/fwdb.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>

static _Noreturn void readfail(void)
{
	if (errno == ERANGE) err_die(EXIT_PERM, "input is too big", (char *)0);
	err_dieerr(EXIT_TEMP, "unable to read input", (char *)0);
}

int main(int argc, char **argv)
{
	buf text = BUF_INIT;
	fwdb_instr in = FWDB_INSTR_INIT;
	fwdb_make m;
	size_t pos = 0, line = 1;
	const char *why;
	char num[24];
	int r;

	err_prog = "setforward";
	if (argc != 3 || !argv[1][0] || !argv[2][0]) err_die(EXIT_PERM, "usage: setforward data.cdb data.tmp", (char *)0);
	if (fwdb_slurp(0, &text, FWDB_TEXT_MAX) < 0) readfail();
	if (fwdb_start(&m, argv[1], argv[2]) < 0) err_dieerr(EXIT_TEMP, "unable to create ", argv[2], (char *)0);
	while ((r = fwdb_parse(text.s, text.len, &pos, &line, &in, &why)) == 1)
		if (fwdb_add(&m, &in) < 0) {
			fwdb_abort(&m);
			err_dieerr(EXIT_TEMP, "unable to write ", argv[2], (char *)0);
		}
	if (r < 0) {
		fwdb_abort(&m);
		if (errno == ENOMEM && why && why[0] == 'o') err_die(EXIT_TEMP, "out of memory", (char *)0);
		fmt_ulong(num, line);
		err_die(EXIT_PERM, "line ", num, ": ", why, (char *)0);
	}
	if (fwdb_finish(&m) < 0) err_dieerr(EXIT_TEMP, "unable to install ", argv[1], (char *)0);
	return 0;
}
