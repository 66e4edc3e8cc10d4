/* printforward: print the instructions in a forwarding database.
 *
 *   printforward < data.cdb
 *
 * Reads the database from its standard input, from start to end without
 * seeking (a pipe will do), and prints every instruction in the notation
 * setforward reads, so that "printforward < a.cdb | setforward b.cdb
 * b.tmp" makes the same database again. Owner addresses come out as
 * instructions of their own ("target: ?owner;"). Exit 0, or 111 for a
 * read error or a file that is not a forwarding database. */
#include "mail/fwdb.h"
#include "lib/cdbseq.h"
#include "lib/err.h"
#include "lib/io.h"
#include <errno.h>
#include <string.h>

static io_in in;
static io_out out;

static void put(const buf *b)
{
	if (out_put(&out, b->s, b->len) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}

int main(void)
{
	buf key = BUF_INIT, val = BUF_INIT, line = BUF_INIT;
	cdbseq c;
	int r;

	err_prog = "printforward";
	in_init(&in, 0, 0);
	out_init(&out, 1, 0);
	if (cdbseq_start(&c, &in, FWDB_VALUE_MAX) < 0) goto readfail;
	while ((r = cdbseq_next(&c, &key, &val)) == 1) {
		size_t pos = 0;
		const char *cmd;
		int first = 1;

		if (key.len < 2 || (key.s[0] != ':' && key.s[0] != '?')) continue;
		line.len = 0;
		if (fwdb_put_escaped(&line, key.s + 1, key.len - 1) < 0 || buf_puts(&line, ":") < 0) goto nomem;
		if (key.s[0] == '?') {
			if (buf_puts(&line, " ?") < 0 || fwdb_put_escaped(&line, val.s, val.len) < 0) goto nomem;
		} else {
			while ((r = fwdb_next(val.s, val.len, &pos, &cmd)) > 0) {
				if (buf_puts(&line, first ? " " : ",\n  ") < 0 || fwdb_put_cmd(&line, cmd, strlen(cmd)) < 0)
					goto nomem;
				first = 0;
			}
			if (r < 0) { errno = EPROTO; goto readfail; }
		}
		if (buf_puts(&line, ";\n") < 0) goto nomem;
		put(&line);
	}
	if (r < 0) goto readfail;
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	return 0;
nomem:
	err_die(EXIT_TEMP, "out of memory", (char *)0);
readfail:
	if (errno == EPROTO) err_die(EXIT_TEMP, "input is not a forwarding database, or is truncated", (char *)0);
	err_dieerr(EXIT_TEMP, "unable to read input", (char *)0);
}
