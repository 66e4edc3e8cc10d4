/* qmail-vuser: add, change, remove and list the virtual users of
 * DIR/users/vpasswd (qmail-vuser(8), vpasswd(5)).
 *
 *     qmail-vuser add LOGIN [ACCOUNT [HOME]]   password: first line of stdin
 *     qmail-vuser del LOGIN
 *     qmail-vuser list
 *
 * add replaces an existing entry for LOGIN. The password is hashed with
 * crypt(3)'s strongest default method (yescrypt on Debian) and a fresh
 * salt; it is never written anywhere in clear. Edits are serialised by a
 * lock on users/vpasswd.lock and the file is replaced atomically (written
 * to a temporary file, fsynced, renamed, directory fsynced). Run by root,
 * the file is made root:shadow 0640 so that checkpassword, set-gid shadow,
 * can read it and nobody else can; run by the owner of a single-user
 * instance, it is 0600. */
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/vpasswd.h"
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>   /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "usage: qmail-vuser add LOGIN [ACCOUNT [HOME]] | del LOGIN | list"
#define PASS_MAX 255

static buf path = BUF_INIT;

static void load(buf *f)
{
	if (read_file(path.s, f, VPASSWD_MAX) < 0) {
		if (errno != ENOENT) err_dieerr(EXIT_TEMP, "unable to read ", path.s, (char *)0);
		f->len = 0;
	}
}

/* Write data as the new users/vpasswd, atomically and durably. */
static void store(const buf *data)
{
	buf tmp = BUF_INIT;
	struct group *g;
	gid_t gid = (gid_t)-1;
	mode_t mode = 0600;
	int fd;

	if (getuid() == 0 && (g = getgrnam("shadow"))) { gid = g->gr_gid; mode = 0640; }
	if (buf_copy(&tmp, path.s, path.len) < 0 || buf_puts(&tmp, ".tmp") < 0) err_nomem();
	fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) err_dieerr(EXIT_TEMP, "unable to create ", tmp.s, (char *)0);
	if ((gid != (gid_t)-1 && fchown(fd, 0, gid) < 0) || fchmod(fd, mode) < 0 ||
	    write_all(fd, data->s, data->len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		unlink(tmp.s);
		err_dieerr(EXIT_TEMP, "unable to write ", tmp.s, (char *)0);
	}
	if (rename(tmp.s, path.s) < 0) {
		unlink(tmp.s);
		err_dieerr(EXIT_TEMP, "unable to replace ", path.s, (char *)0);
	}
	if (fsync_parent(path.s) < 0) err_dieerr(EXIT_TEMP, "unable to sync the users directory", (char *)0);
	buf_free(&tmp);
}

static void field(const char *s, const char *what)
{
	if (!vpasswd_login_ok(s, strlen(s))) err_die(EXIT_PERM, "bad ", what, ": ", s, (char *)0);
}

static void add(const char *login, const char *account, const char *home)
{
	buf pass = BUF_INIT, f = BUF_INIT, out = BUF_INIT, line = BUF_INIT;
	struct crypt_data *cd;
	const char *salt, *hash;
	io_in in;
	int found, r;

	field(login, "login");
	if (account) field(account, "account");
	if (home && (*home != '/' || !vpasswd_login_ok(home, strlen(home))))
		err_die(EXIT_PERM, "bad home (an absolute path without ':' or blanks): ", home, (char *)0);
	in_init(&in, 0, 0);
	r = in_getline(&in, &pass, '\n', PASS_MAX + 2);
	if (r < 0) err_die(EXIT_PERM, "unable to read the password (at most 255 bytes) from stdin", (char *)0);
	if (pass.len && pass.s[pass.len - 1] == '\n') buf_trunc(&pass, pass.len - 1);
	if (pass.len && pass.s[pass.len - 1] == '\r') buf_trunc(&pass, pass.len - 1);
	if (!pass.len || memchr(pass.s, 0, pass.len))
		err_die(EXIT_PERM, "the password (first line of stdin) is empty or holds a NUL", (char *)0);

	salt = crypt_gensalt_ra(0, 0, 0, 0);
	if (!salt) err_dieerr(EXIT_TEMP, "unable to make a salt", (char *)0);
	cd = calloc(1, sizeof *cd);
	if (!cd) err_nomem();
	hash = crypt_rn(pass.s, salt, cd, (int)sizeof *cd);
	if (!hash || hash[0] == '*') err_dieerr(EXIT_TEMP, "unable to hash the password", (char *)0);
	memset(pass.s, 0, pass.len);
	if (buf_copys(&line, login) < 0 || buf_putc(&line, ':') < 0 || buf_puts(&line, hash) < 0) err_nomem();
	if (account && (buf_putc(&line, ':') < 0 || buf_puts(&line, account) < 0)) err_nomem();
	if (home && (buf_putc(&line, ':') < 0 || buf_puts(&line, home) < 0)) err_nomem();
	load(&f);
	if (vpasswd_edit(&f, login, strlen(login), line.s, &out, &found) < 0) err_nomem();
	store(&out);
	memset(cd, 0, sizeof *cd);
	free(cd);
	free((void *)salt);
}

static void del(const char *login)
{
	buf f = BUF_INIT, out = BUF_INIT;
	int found;

	load(&f);
	if (vpasswd_edit(&f, login, strlen(login), 0, &out, &found) < 0) err_nomem();
	if (!found) err_die(EXIT_PERM, "no virtual user ", login, (char *)0);
	store(&out);
}

static void list(void)
{
	buf f = BUF_INIT, o = BUF_INIT;
	size_t i = 0;

	load(&f);
	while (i < f.len) {
		size_t n = byte_chr(f.s + i, f.len - i, '\n');
		size_t c = byte_chr(f.s + i, n, ':');
		if (n && f.s[i] != '#' && c < n && (buf_put(&o, f.s + i, c) < 0 || buf_putc(&o, '\n') < 0))
			err_nomem();
		i += n + 1;
	}
	if (write_all(1, o.s ? o.s : "", o.len) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}

int main(int argc, char **argv)
{
	buf lockpath = BUF_INIT;
	int lfd;

	err_prog = "qmail-vuser";
	umask(077);
	if (argc < 2) err_die(EXIT_PERM, USAGE, (char *)0);
	nq_path(&path, "users/vpasswd");
	if (str_eq(argv[1], "list") && argc == 2) { list(); return 0; }
	lfd = open(nq_path(&lockpath, "users/vpasswd.lock"), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || lock_ex(lfd) < 0) err_dieerr(EXIT_TEMP, "unable to lock ", lockpath.s, (char *)0);
	if (str_eq(argv[1], "add") && argc >= 3 && argc <= 5) add(argv[2], argc > 3 ? argv[3] : 0, argc > 4 ? argv[4] : 0);
	else if (str_eq(argv[1], "del") && argc == 3) del(argv[2]);
	else err_die(EXIT_PERM, USAGE, (char *)0);
	return 0;
}
