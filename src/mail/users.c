/* users: the address-to-user rules of qmail-users(5) and qmail-getpw(8),
 * shared by qmail-newu (which compiles users/assign), qmail-lspawn and
 * qmail-getpw (which look users up) and, later, qmail-smtpd's recipient
 * check. The cdb is read with tinycdb directly rather than through
 * lib/cdbx because one lookup probes several keys of one open file. */
#include "mail/users.h"
#include "lib/str.h"
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* uid_t and gid_t are 32 bits here; (uid_t)-1 means "no change" to
 * setuid and so is never a valid owner. */
static int idok(unsigned long u)
{
	return u < (unsigned long)(uid_t)-1;
}

int users_parse(users_ent *e)
{
	const char *f[6];
	const char *s = e->rec.s;
	size_t n = e->rec.len, i = 0, k;
	unsigned long u, g;

	for (k = 0; k < 6; k++) {
		size_t j;
		if (i >= n) goto bad;
		j = byte_chr(s + i, n - i, '\0');
		if (j == n - i) goto bad;
		f[k] = s + i;
		i += j + 1;
	}
	if (i != n) goto bad;
	if (!*f[0] || *f[3] != '/') goto bad;
	if (str_toul(f[1], &u) < 0 || str_toul(f[2], &g) < 0) goto bad;
	if (!idok(u) || !idok(g)) goto bad;
	e->user = f[0];
	e->uid = (uid_t)u;
	e->gid = (gid_t)g;
	e->home = f[3];
	e->dash = f[4];
	e->ext = f[5];
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int users_set(users_ent *e, const char *user, unsigned long uid, unsigned long gid,
              const char *home, const char *dash, const char *ext, size_t extlen)
{
	buf *b = &e->rec;
	b->len = 0;
	if (buf_puts(b, user) < 0 || buf_put0(b) < 0 ||
	    buf_putnum(b, uid) < 0 || buf_put0(b) < 0 ||
	    buf_putnum(b, gid) < 0 || buf_put0(b) < 0 ||
	    buf_puts(b, home) < 0 || buf_put0(b) < 0 ||
	    buf_puts(b, dash) < 0 || buf_put0(b) < 0 ||
	    buf_put(b, ext, extlen) < 0 || buf_put0(b) < 0)
		return -1;
	return users_parse(e);
}

void users_free(users_ent *e)
{
	buf_free(&e->rec);
	e->user = e->home = e->dash = e->ext = 0;
}

/* Read the value of the last successful cdb_find into b (replacing it). */
static int cdbval(struct cdb *c, buf *b, size_t max)
{
	unsigned n = cdb_datalen(c);
	if (n > max) { errno = ERANGE; return -1; }
	b->len = 0;
	if (buf_ready(b, n) < 0) return -1;
	if (cdb_read(c, b->s, n, cdb_datapos(c)) < 0) return -1;
	b->len = n;
	b->s[n] = 0;
	return 0;
}

int users_cdb(users_ent *e, const char *path, const char *local, size_t len)
{
	struct cdb c;
	buf key = BUF_INIT, wild = BUF_INIT;
	size_t i;
	int fd, r = -1, found = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	if (cdb_init(&c, fd) < 0) { close(fd); errno = EINVAL; return -1; }

	/* Without the wildcard record this is not a users/cdb. */
	if (cdb_find(&c, "", 0) <= 0) { errno = EINVAL; goto out; }
	if (cdbval(&c, &wild, 256) < 0) goto out;

	if (buf_putc(&key, '!') < 0 || buf_put(&key, local, len) < 0 || buf_put0(&key) < 0)
		goto out;
	case_lower(key.s, key.len);

	/* The exact entry first: key with its NUL. */
	if (key.len > 0xffffffffu) { errno = ERANGE; goto out; }
	if (cdb_find(&c, key.s, (unsigned)key.len) > 0) {
		if (cdbval(&c, &e->rec, USERS_REC_MAX) < 0 || buf_put0(&e->rec) < 0) goto out;
		found = 1;
	}
	/* Then every prefix "!" + local[0..i-1), longest first; only those
	 * ending in a wildcard character can be keys, and "!" alone is the
	 * catch-all "+:" entry. */
	for (i = key.len - 1; !found && i >= 1; i--) {
		if (i > 1 && !memchr(wild.s, key.s[i - 1], wild.len)) continue;
		if (cdb_find(&c, key.s, (unsigned)i) <= 0) continue;
		if (cdbval(&c, &e->rec, USERS_REC_MAX) < 0) goto out;
		if (buf_put(&e->rec, local + i - 1, len - (i - 1)) < 0 || buf_put0(&e->rec) < 0)
			goto out;
		found = 1;
	}
	r = 0;
	if (found) r = users_parse(e) < 0 ? -1 : 1;
out:
	cdb_free(&c);
	close(fd);
	buf_free(&key);
	buf_free(&wild);
	return r;
}

/* getpwnam says "no such user" with errno 0 or one of these; anything
 * else (EIO, EMFILE, ENOMEM, ...) is trouble worth a retry. */
static int notfound(int e)
{
	return e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM;
}

/* stat errors meaning "this account has no usable home"; others are
 * temporary (an NFS server away, a full table). */
static int nohome(int e)
{
	return e == ENOENT || e == ENOTDIR || e == EACCES || e == ELOOP || e == ENAMETOOLONG;
}

int users_passwd(users_ent *e, const char *aliashome, const char *local, size_t len)
{
	char name[USERS_NAME_MAX];
	size_t p;

	/* The longest candidate first: the whole address, then each prefix
	 * ending just before a '-'. */
	for (p = len; p > 0; p--) {
		struct passwd *pw;
		struct stat st;
		const char *home;

		if (p < len && local[p] != '-') continue;
		if (p >= sizeof name) continue;
		memcpy(name, local, p);
		name[p] = 0;
		if (memchr(name, 0, p)) continue;
		case_lower(name, p);
		errno = 0;
		pw = getpwnam(name);
		if (!pw) {
			if (!notfound(errno)) return -1;
			continue;
		}
		if (pw->pw_uid == 0) continue;
		home = str_eq(pw->pw_name, "alias") ? aliashome : pw->pw_dir;
		if (!home || *home != '/') continue;
		if (stat(home, &st) < 0) {
			if (!nohome(errno)) return -1;
			continue;
		}
		if (st.st_uid != pw->pw_uid) continue;
		if (p == len)
			return users_set(e, pw->pw_name, pw->pw_uid, pw->pw_gid, home, "", "", 0) < 0 ? -1 : 1;
		return users_set(e, pw->pw_name, pw->pw_uid, pw->pw_gid, home, "-",
		                 local + p + 1, len - p - 1) < 0 ? -1 : 1;
	}
	return 0;
}

int users_alias(users_ent *e, const nq_ids *ids, const char *aliashome,
                const char *local, size_t len)
{
	return users_set(e, "alias", ids->uid[R_ALIAS], ids->gid[R_ALIAS], aliashome,
	                 "-", local, len);
}

int users_assign_line(const char *line, size_t len, buf *key, buf *val,
                      char *wildc, const char **why)
{
	size_t col[7], i, k = 0;
	unsigned long u;
	char num[24];

	*wildc = 0;
	if (memchr(line, 0, len)) { *why = "line contains a NUL byte"; return -1; }
	if (len == 0) { *why = "empty line (the file must end with a line \".\")"; return -1; }
	if (line[0] == '.') {
		/* Trailing blanks (or the CR of a CRLF file) after the dot are
		 * harmless; anything else is probably a mistyped entry. */
		for (i = 1; i < len; i++)
			if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
				*why = "the final line must be just \".\"";
				return -1;
			}
		return 0;
	}
	if (line[0] != '=' && line[0] != '+') {
		*why = "line must start with = (simple) or + (wildcard)";
		return -1;
	}
	for (i = 1; i < len && k < 7; i++)
		if (line[i] == ':') col[k++] = i;
	if (k < 7) {
		*why = "expected 7 fields ending in colons: local:user:uid:gid:homedir:dash:ext:";
		return -1;
	}
	/* Fields: local [1,col0) user (col0,col1) uid gid home dash ext;
	 * whatever follows the last colon is ignored, as qmail does. */
	if (col[1] == col[0] + 1) { *why = "empty user name"; return -1; }
	for (k = 1; k <= 2; k++) {
		size_t n = col[k + 1] - col[k] - 1;
		if (n == 0 || n >= sizeof num) {
			*why = k == 1 ? "uid is not a number" : "gid is not a number";
			return -1;
		}
		memcpy(num, line + col[k] + 1, n);
		num[n] = 0;
		if (str_toul(num, &u) < 0 || !idok(u)) {
			*why = k == 1 ? "uid is not a number" : "gid is not a number";
			return -1;
		}
	}
	if (col[4] == col[3] + 1 || line[col[3] + 1] != '/') {
		*why = "homedir must be an absolute path";
		return -1;
	}

	key->len = 0;
	if (buf_putc(key, '!') < 0 || buf_put(key, line + 1, col[0] - 1) < 0) goto nomem;
	if (line[0] == '=') {
		if (buf_put0(key) < 0) goto nomem;
	} else if (col[0] > 1)
		*wildc = line[col[0] - 1];
	case_lower(key->s, key->len);

	val->len = 0;
	if (buf_put(val, line + col[0] + 1, col[6] - col[0] - 1) < 0) goto nomem;
	for (i = 0; i < val->len; i++)
		if (val->s[i] == ':') val->s[i] = 0;
	return 1;
nomem:
	*why = "out of memory";
	return -1;
}
