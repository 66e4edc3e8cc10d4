/* printmaillist: print the contents of a binary mailing list.
 *
 *   printmaillist < list.bin
 *
 * Reads a binary mailing list (setmaillist's or newinclude's output) from
 * its standard input and prints its entries one a line, as setmaillist
 * reads them back: an address by itself when it begins with a letter or
 * digit, else after '&'; list file names as they are. Exit 0, or 111 for a
 * read error or a truncated list. */
#include "mail/fwdb.h"
#include "lib/err.h"
#include "lib/io.h"
#include <errno.h>
#include <string.h>

static int alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int main(void)
{
	buf bin = BUF_INIT;
	io_out out;
	size_t pos = 0;
	const char *c;
	int r;

	err_prog = "printmaillist";
	if (fwdb_slurp(0, &bin, FWDB_LIST_MAX) < 0) {
		if (errno == ERANGE) err_die(EXIT_TEMP, "input is too big", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to read input", (char *)0);
	}
	out_init(&out, 1, 0);
	while ((r = fwdb_next(bin.s, bin.len, &pos, &c)) > 0) {
		if (c[0] == '&' && alnum((unsigned char)c[1])) c++;
		if (out_puts(&out, c) < 0 || out_puts(&out, "\n") < 0) break;
	}
	if (r < 0) err_die(EXIT_TEMP, "truncated mailing list", (char *)0);
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	return 0;
}
