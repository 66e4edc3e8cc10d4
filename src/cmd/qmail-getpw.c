/* qmail-getpw: find the user that controls a local address in the
 * password file (qmail-getpw(8)).
 *
 * qmail-lspawn answers the same question in its own qmailp helper process
 * (and runs this program instead only when QMAILGETPW names it), never as
 * root, when users/cdb has no entry for the address. It prints six NUL-terminated fields on fd 1:
 * user, uid, gid, homedir, dash, ext. The rules are users_passwd() in
 * src/mail/users.c; when no account matches, the alias user controls the
 * address, with homedir DIR/alias, dash "-" and ext the whole address.
 * Exit codes: 0 printed, 100 usage, 111 temporary trouble (nothing is
 * printed then). */
#include "lib/err.h"
#include "lib/io.h"
#include "mail/instance.h"
#include "mail/users.h"
#include <string.h>

int main(int argc, char **argv)
{
	users_ent e = USERS_ENT_INIT;
	nq_ids ids;
	buf aliashome = BUF_INIT;
	const char *local;
	size_t len;
	int r;

	err_prog = "qmail-getpw";
	if (argc < 2) err_die(EXIT_PERM, "usage: qmail-getpw local", (char *)0);
	local = argv[1];
	len = strlen(local);
	if (len > USERS_LOCAL_MAX) err_die(EXIT_PERM, "address too long", (char *)0);
	nq_path(&aliashome, "alias");

	r = users_passwd(&e, aliashome.s, local, len);
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to look up ", local, " in the password file", (char *)0);
	if (r == 0) {
		if (nq_ids_read(&ids) < 0) err_dieerr(EXIT_TEMP, "unable to read users/ids", (char *)0);
		if (users_alias(&e, &ids, aliashome.s, local, len) < 0) err_nomem();
	}
	if (write_all(1, e.rec.s, e.rec.len) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	users_free(&e);
	buf_free(&aliashome);
	return 0;
}
