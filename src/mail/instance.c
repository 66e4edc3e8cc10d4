/* instance: locating the instance directory and reading its role ids. */
#include "mail/instance.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static buf home = BUF_INIT;

static const char *roles[R_NROLES] = {
	"alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails"
};

const char *nq_role_name(enum nq_role r) { return roles[r]; }

static int setid(void)
{
	return getuid() != geteuid() || getgid() != getegid();
}

const char *nq_home(void)
{
	char exe[4096];
	ssize_t n;
	size_t i;
	const char *e;

	if (home.len) return home.s;
	if (!setid() && (e = getenv("NQMAIL_HOME")) && *e == '/') {
		if (buf_copys(&home, e) < 0) err_nomem();
		return home.s;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		/* strip "/NAME" and then "/bin" */
		i = byte_rchr(exe, (size_t)n, '/');
		if (i < (size_t)n) {
			size_t j = byte_rchr(exe, i, '/');
			if (j < i && i - j == 4 && memcmp(exe + j, "/bin", 4) == 0) {
				if (buf_copy(&home, exe, j ? j : 1) < 0) err_nomem();
				return home.s;
			}
		}
	}
	if (buf_copys(&home, "/var/qmail") < 0) err_nomem();
	return home.s;
}

const char *nq_path(buf *b, const char *rel)
{
	if (buf_copys(b, nq_home()) < 0 || buf_putc(b, '/') < 0 || buf_puts(b, rel) < 0)
		err_nomem();
	return b->s;
}

void nq_chdir_home(void)
{
	if (chdir(nq_home()) < 0)
		err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), (char *)0);
}

int nq_ids_read(nq_ids *ids)
{
	buf path = BUF_INIT, f = BUF_INIT;
	char *line, *end;
	int seen = 0, r = -1;

	memset(ids, 0, sizeof *ids);
	if (read_file(nq_path(&path, "users/ids"), &f, 65536) < 0) goto out;
	for (line = f.s; line < f.s + f.len; line = end + 1) {
		char *c1, *c2;
		unsigned long u = 0, g = 0;
		int k;
		end = memchr(line, '\n', (size_t)(f.s + f.len - line));
		if (!end) end = f.s + f.len;
		*end = 0;
		c1 = strchr(line, ':');
		if (!c1) continue;
		*c1++ = 0;
		c2 = strchr(c1, ':');
		if (!c2) continue;
		*c2++ = 0;
		if (*c1 && str_toul(c1, &u) < 0) continue;
		if (str_toul(c2, &g) < 0) continue;
		if (str_eq(line, "qmail")) { ids->qmail = (gid_t)g; seen |= 1 << R_NROLES; continue; }
		if (str_eq(line, "nofiles")) { ids->nofiles = (gid_t)g; continue; }
		for (k = 0; k < R_NROLES; k++)
			if (str_eq(line, roles[k])) {
				ids->uid[k] = (uid_t)u;
				ids->gid[k] = (gid_t)g;
				seen |= 1 << k;
			}
	}
	if (seen != (1 << (R_NROLES + 1)) - 1) { errno = EINVAL; goto out; }
	ids->single = 1;
	for (r = 1; r < R_NROLES; r++)
		if (ids->uid[r] != ids->uid[0]) ids->single = 0;
	r = 0;
out:
	buf_free(&path);
	buf_free(&f);
	return r;
}

void nq_become(const nq_ids *ids, enum nq_role r)
{
	gid_t g = ids->gid[r];
	if (ids->single || getuid() == ids->uid[r]) return;
	if (setgroups(1, &g) < 0 || setgid(g) < 0 || setuid(ids->uid[r]) < 0)
		err_dieerr(EXIT_TEMP, "unable to switch to user ", roles[r], (char *)0);
}
