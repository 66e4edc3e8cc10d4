/* checkpassword: check a login and password, then run a program
 * (checkpassword(8); the interface is Bernstein's checkpassword's).
 *
 *     checkpassword prog [arg ...]
 *
 * It reads "login\0password\0timestamp\0" (at most 512 bytes) from
 * descriptor 3. The login is looked up in the virtual-user file
 * DIR/users/vpasswd (vpasswd(5)) and then, when it is not there and has
 * no '@', among the system's accounts, with the hash from the shadow file.
 * Accounts with uid 0, locked or expired ones never pass.
 *
 * On success it runs prog with USER, HOME and SHELL set. Started by root
 * (qmail-popup), it first becomes the user: the account itself, or the
 * account a virtual login names (one without is refused), in its home.
 * Started by anyone else (qmail-smtpd, as qmaild), it cannot switch users:
 * it drops what its set-gid bit gave it and runs prog as it is.
 *
 * To read the shadow file for the unprivileged qmail-smtpd it is installed
 * set-gid shadow, like Debian's unix_chkpwd, and users/vpasswd is then
 * group shadow, mode 0640. Being set-gid, it ignores NQMAIL_HOME.
 *
 * Exit codes: 0 the program ran and exited 0 (or no program was given),
 * 1 the login or password is wrong, 2 misuse (descriptor 3 unreadable or
 * malformed), 111 temporary trouble (the files could not be read). */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/vpasswd.h"
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DATA_MAX 512

static _Noreturn void bad(void) { _exit(1); }

/* 1 when pass matches the crypt(3) hash. Locked and empty hashes never
 * match. The comparison takes the same time wherever it differs. */
static int verify(const char *pass, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	size_t n, i;
	unsigned char d = 0;
	int ok;

	if (!*hash || hash[0] == '!' || hash[0] == '*') return 0;
	cd = calloc(1, sizeof *cd);
	if (!cd) err_nomem();
	/* crypt_rn, not crypt_r: the sanitizers intercept crypt_r, and a
	 * build that then drops libcrypt calls a null function. */
	h = crypt_rn(pass, hash, cd, (int)sizeof *cd);
	if (!h || h[0] == '*') { free(cd); return 0; }
	n = strlen(hash);
	ok = strlen(h) == n;
	for (i = 0; ok && i < n; i++) d |= (unsigned char)(h[i] ^ hash[i]);
	ok = ok && d == 0;
	memset(cd, 0, sizeof *cd);
	free(cd);
	return ok;
}

static void setenvs(const char *user, const char *home, const char *shell)
{
	if (setenv("USER", user, 1) < 0 || setenv("HOME", home, 1) < 0 ||
	    setenv("SHELL", shell && *shell ? shell : "/bin/sh", 1) < 0)
		err_nomem();
}

static void become(const struct passwd *pw, const char *home)
{
	if (pw->pw_uid == 0) bad();
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		err_dieerr(EXIT_TEMP, "unable to switch to user ", pw->pw_name, (char *)0);
	if (getuid() == 0 || geteuid() == 0) err_die(EXIT_TEMP, "still root after switching users", (char *)0);
	if (chdir(home) < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", home, (char *)0);
}

/* The system account login, or exit 1. */
static struct passwd *systemuser(const char *login, const char *pass)
{
	struct passwd *pw;
	struct spwd *sp;
	const char *hash;

	errno = 0;
	pw = getpwnam(login);
	if (!pw) {
		if (errno && errno != ENOENT && errno != ESRCH) err_dieerr(EXIT_TEMP, "unable to read the password file", (char *)0);
		bad();
	}
	if (pw->pw_uid == 0) bad();
	hash = pw->pw_passwd;
	errno = 0;
	sp = getspnam(login);
	if (sp) {
		long today = (long)(time(0) / 86400);
		hash = sp->sp_pwdp;
		if (sp->sp_expire > 0 && today >= sp->sp_expire) bad();
	} else if (str_eq(hash, "x")) {
		/* The hash is in the shadow file. NSS modules after "files"
		 * (systemd's) hide why it was not found, so ask the file. */
		int fd = open("/etc/shadow", O_RDONLY | O_CLOEXEC);
		if (fd < 0 && (errno == EACCES || errno == EPERM))
			err_die(EXIT_TEMP, "unable to read the shadow file (install me set-gid shadow)", (char *)0);
		if (fd >= 0) close(fd);
		bad();
	}
	if (!verify(pass, hash)) bad();
	return pw;
}

int main(int argc, char **argv)
{
	char data[DATA_MAX + 1];
	size_t n = 0, ll, pl;
	const char *login, *pass, *home;
	struct vpw v = VPW_INIT;
	struct passwd *pw = 0;
	buf vpath = BUF_INIT, vfile = BUF_INIT;
	int root = getuid() == 0, found;

	err_prog = "checkpassword";
	for (;;) {
		ssize_t r = read(3, data + n, DATA_MAX - n);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) err_dieerr(2, "unable to read descriptor 3", (char *)0);
		if (r == 0) break;
		n += (size_t)r;
		if (n == DATA_MAX) break;
	}
	close(3);
	data[n] = 0;
	login = data;
	ll = strlen(login);
	if (ll >= n) _exit(2);
	pass = login + ll + 1;
	pl = strlen(pass);
	if (ll + 1 + pl >= n) _exit(2);
	if (!vpasswd_login_ok(login, ll)) bad();

	/* 1. the virtual users */
	if (read_file(nq_path(&vpath, "users/vpasswd"), &vfile, VPASSWD_MAX) < 0) {
		if (errno != ENOENT) err_dieerr(EXIT_TEMP, "unable to read ", vpath.s, (char *)0);
		vfile.len = 0;
	}
	found = vpasswd_find(&vfile, login, ll, &v);
	if (found < 0) err_nomem();
	if (vfile.s) memset(vfile.s, 0, vfile.len);
	buf_free(&vfile);
	if (found) {
		if (!verify(pass, v.hash)) bad();
		memset(data, 0, sizeof data);
		if (*v.account) {
			errno = 0;
			pw = getpwnam(v.account);
			if (!pw) err_die(EXIT_TEMP, "virtual user ", v.login, " names the unknown account ", v.account, (char *)0);
		} else if (root) {
			err_warn("virtual user ", v.login, " has no account to run as", (char *)0);
			bad();
		}
		home = *v.home ? v.home : pw ? pw->pw_dir : "/";
		if (root) become(pw, home);
		setenvs(v.login, home, pw ? pw->pw_shell : 0);
	} else {
		/* 2. the system's accounts */
		if (memchr(login, '@', ll)) bad();
		pw = systemuser(login, pass);
		memset(data, 0, sizeof data);
		home = pw->pw_dir;
		if (root) become(pw, home);
		setenvs(pw->pw_name, home, pw->pw_shell);
	}
	/* Started set-gid by an unprivileged caller: give the group back
	 * before running anything. */
	if (!root && getegid() != getgid() && setresgid(getgid(), getgid(), getgid()) < 0)
		err_dieerr(EXIT_TEMP, "unable to drop the set-gid group", (char *)0);
	if (argc < 2) _exit(0);
	execvp(argv[1], argv + 1);
	err_dieerr(EXIT_TEMP, "unable to run ", argv[1], (char *)0);
}
