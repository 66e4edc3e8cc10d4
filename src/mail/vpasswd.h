/* vpasswd: the virtual-user file DIR/users/vpasswd, for logins that are
 * not accounts of this machine (vpasswd(5)).
 *
 * One user a line:  login:hash[:account[:home]]
 *   login    what the user types, usually an address ("joe@example.org");
 *            compared without regard to ASCII case; no ':' in it
 *   hash     a crypt(3) hash ("$y$...", "$6$..."); "!" or "*" at its start
 *            locks the login
 *   account  optional: the system account a login program runs as after
 *            checkpassword accepted the user (POP3); without it, the login
 *            is good for SMTP AUTH only
 *   home     optional: the directory it starts in (default: the
 *            account's home)
 * Blank lines and lines starting with '#' are ignored. The file is
 * replaced atomically by qmail-vuser(8). */
#ifndef NQ_VPASSWD_H
#define NQ_VPASSWD_H
#include <stddef.h>
#include "lib/buf.h"

#define VPASSWD_MAX (16 * 1024 * 1024)  /* bytes in the whole file */
#define VPASSWD_LOGIN_MAX 255

struct vpw {
	buf line;                 /* the entry, fields NUL-separated */
	const char *login, *hash, *account, *home;   /* "" when absent */
};

#define VPW_INIT {BUF_INIT, 0, 0, 0, 0}

/* 1 the login is usable in the file: 1..VPASSWD_LOGIN_MAX bytes, no ':',
 * no control characters or blanks. */
int vpasswd_login_ok(const char *s, size_t n);
/* Look login up in the file contents f. 1 found (v filled), 0 not,
 * -1 out of memory. */
int vpasswd_find(const buf *f, const char *login, size_t ll, struct vpw *v);
/* A copy of f without login's line (*found says whether it was there),
 * with line (if non-null, without newline) appended. -1 out of memory. */
int vpasswd_edit(const buf *f, const char *login, size_t ll, const char *line, buf *out, int *found);
void vpw_free(struct vpw *v);

#endif
