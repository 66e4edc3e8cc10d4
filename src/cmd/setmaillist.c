/* setmaillist: create a binary mailing list for fastforward.
 *
 *   setmaillist list.bin list.tmp
 *
 * Reads a mailing list from its standard input, one entry a line: an
 * address (the whole line when it begins with a letter or digit, the rest
 * of it after '&'), or the name of another binary list (a line beginning
 * with '.' or '/'). Blank lines and lines beginning with '#' are ignored,
 * and so are spaces and tabs at the ends of lines. The list is written
 * world-readable to list.tmp, fsynced and moved to list.bin; on any
 * problem list.bin is left alone. Exit 0, 100 for a bad line (with its
 * number), 111 for trouble. */
#include "mail/fwdb.h"
#include "lib/err.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

int main(int argc, char **argv)
{
	buf text = BUF_INIT, bin = BUF_INIT;
	size_t pos = 0, line = 0;
	const char *why;
	char num[24];

	err_prog = "setmaillist";
	if (argc != 3 || !argv[1][0] || !argv[2][0]) err_die(EXIT_PERM, "usage: setmaillist list.bin list.tmp", (char *)0);
	if (fwdb_slurp(0, &text, FWDB_LIST_MAX) < 0) {
		if (errno == ERANGE) err_die(EXIT_PERM, "input is too big", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to read input", (char *)0);
	}
	while (pos < text.len) {
		const char *nl = memchr(text.s + pos, '\n', text.len - pos);
		size_t end = nl ? (size_t)(nl - text.s) : text.len;
		line++;
		if (fwdb_listline(text.s + pos, end - pos, &bin, &why) < 0) {
			fmt_ulong(num, line);
			err_die(EXIT_PERM, "line ", num, ": ", why, (char *)0);
		}
		pos = end + 1;
	}
	if (fwdb_replace(argv[1], argv[2], bin.s ? bin.s : "", bin.len, 0644) < 0)
		err_dieerr(EXIT_TEMP, "unable to create ", argv[1], " through ", argv[2], (char *)0);
	return 0;
}
