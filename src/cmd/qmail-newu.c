/* qmail-newu: compile DIR/users/assign into DIR/users/cdb (qmail-newu(8)).
 *
 * Every line is checked against qmail-users(5) (src/mail/users.c); the
 * file must end with a line ".". The cdb is written as users/cdb.tmp,
 * fsynced and renamed over users/cdb, so qmail-lspawn sees either the old
 * or the new one, never a half-written file. On any problem the old cdb is
 * left alone and qmail-newu exits 111, naming the line that is wrong. */
#include "lib/cdbx.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/users.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static cdbx_make cm;
static buf cdbpath = BUF_INIT;

static _Noreturn void bad(unsigned long lineno, const char *why)
{
	char num[24];
	fmt_ulong(num, lineno);
	cdbx_abort(&cm);
	err_die(EXIT_TEMP, "users/assign line ", num, ": ", why,
	        "; users/cdb left unchanged", (char *)0);
}

int main(void)
{
	buf path = BUF_INIT, line = BUF_INIT, key = BUF_INIT, val = BUF_INIT;
	char wild[256];
	unsigned char seen[256] = {0};
	size_t nwild = 0;
	unsigned long lineno = 0;
	io_in in;
	int fd;

	err_prog = "qmail-newu";
	fd = open(nq_path(&path, "users/assign"), O_RDONLY | O_CLOEXEC);
	if (fd < 0) err_dieerr(EXIT_TEMP, "unable to open ", path.s, (char *)0);
	in_init(&in, fd, 0);
	nq_path(&cdbpath, "users/cdb");
	if (cdbx_start(&cm, cdbpath.s, 0644) < 0)
		err_dieerr(EXIT_TEMP, "unable to create ", cdbpath.s, ".tmp", (char *)0);

	for (;;) {
		const char *why;
		char wc;
		int r, nl;

		line.len = 0;
		lineno++;
		r = in_getline(&in, &line, '\n', USERS_LINE_MAX + 1);
		if (r < 0 && errno == ERANGE) bad(lineno, "line longer than 8192 bytes");
		if (r < 0) {
			cdbx_abort(&cm);
			err_dieerr(EXIT_TEMP, "unable to read ", path.s, (char *)0);
		}
		if (r == 0 && line.len == 0) bad(lineno, "end of file before the final line \".\"");
		nl = line.len && line.s[line.len - 1] == '\n';
		r = users_assign_line(line.s, line.len - (size_t)nl, &key, &val, &wc, &why);
		if (r < 0) bad(lineno, why);
		if (r == 0) break;
		if (!nl) bad(lineno, "end of file before the final line \".\"");
		if (wc && !seen[(unsigned char)wc]) {
			seen[(unsigned char)wc] = 1;
			wild[nwild++] = wc;
		}
		if (cdbx_add(&cm, key.s, key.len, val.s, val.len) < 0) {
			cdbx_abort(&cm);
			err_dieerr(EXIT_TEMP, "unable to write ", cdbpath.s, ".tmp", (char *)0);
		}
	}
	close(fd);
	if (cdbx_add(&cm, "", 0, wild, nwild) < 0) {
		cdbx_abort(&cm);
		err_dieerr(EXIT_TEMP, "unable to write ", cdbpath.s, ".tmp", (char *)0);
	}
	if (cdbx_finish(&cm) < 0) err_dieerr(EXIT_TEMP, "unable to replace ", cdbpath.s, (char *)0);
	buf_free(&path);
	buf_free(&line);
	buf_free(&key);
	buf_free(&val);
	buf_free(&cdbpath);
	return 0;
}
