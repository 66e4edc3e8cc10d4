/* users: which user receives mail for a local address.
 *
 * The rules, in the order qmail-lspawn applies them (and qmail-smtpd's
 * recipient check will, later):
 *   1. DIR/users/cdb, compiled by qmail-newu from DIR/users/assign
 *      (qmail-users(5)): an exact "=local" entry, else the longest
 *      wildcard "+prefix" entry, the rest of the address appended to its
 *      extension;
 *   2. the password file (qmail-getpw(8)): the longest "user" or
 *      "user-ext" prefix naming an account with a nonzero uid that owns
 *      its existing home directory;
 *   3. the alias user, whose home is DIR/alias whatever the password file
 *      says (so several instances can share the qmail users), with dash
 *      "-" and the whole address as extension.
 * A single-user instance skips rule 2.
 *
 * users/cdb keeps qmail's layout, so a cdb built by qmail's own qmail-newu
 * works and vice versa: key "!" + lowercase local + NUL for "=" entries,
 * "!" + lowercase prefix for "+" entries, value "user\0uid\0gid\0home\0
 * dash\0ext" (no final NUL); the empty key holds every character that ends
 * a nonempty wildcard prefix, so a lookup probes only prefixes that can
 * exist.
 *
 * A found user is a record of six NUL-terminated fields, the format
 * qmail-getpw prints: user, uid, gid, homedir, dash, ext. */
#ifndef NQ_USERS_H
#define NQ_USERS_H
#include <sys/types.h>
#include "lib/buf.h"
#include "mail/instance.h"

#define USERS_LINE_MAX 8192   /* bytes in one users/assign line */
#define USERS_REC_MAX 16384   /* bytes in one user record (cdb value, getpw output) */
#define USERS_LOCAL_MAX 4096  /* bytes of a local part we look up */
#define USERS_NAME_MAX 32     /* account names are shorter than this (qmail-getpw) */

typedef struct users_ent {
	buf rec;             /* the six NUL-terminated fields */
	const char *user, *home, *dash, *ext;   /* point into rec */
	uid_t uid;
	gid_t gid;
} users_ent;

#define USERS_ENT_INIT {BUF_INIT, 0, 0, 0, 0, 0, 0}

/* Check e->rec and set the field pointers: exactly six NUL-terminated
 * fields, user nonempty, uid and gid decimal, homedir
 * absolute. 0 ok, -1 malformed (errno EINVAL). */
int users_parse(users_ent *e);
/* Fill e from separate fields (copied). 0 ok, -1 out of memory. */
int users_set(users_ent *e, const char *user, unsigned long uid, unsigned long gid,
              const char *home, const char *dash, const char *ext, size_t extlen);
void users_free(users_ent *e);

/* Rule 1: look local[0..len) up in the cdb file path.
 * 1 found, 0 no entry (also when the cdb does not exist), -1 trouble
 * reading the cdb or a malformed entry (errno). */
int users_cdb(users_ent *e, const char *path, const char *local, size_t len);

/* Rule 2, qmail-getpw's password-file rules. The account named "alias"
 * gets aliashome (DIR/alias) instead of its password-file home.
 * 1 found, 0 no such user, -1 temporary trouble (errno). */
int users_passwd(users_ent *e, const char *aliashome, const char *local, size_t len);

/* Rule 3: the alias user of the instance (uid and gid from ids). */
int users_alias(users_ent *e, const nq_ids *ids, const char *aliashome,
                const char *local, size_t len);

/* One line of users/assign (without its newline) to a cdb key and value.
 * Returns 1 for an entry (key, val set; *wildc is the last character of a
 * nonempty "+" prefix, else 0), 0 for the final ".", -1 for a syntax error
 * with *why saying what is wrong. */
int users_assign_line(const char *line, size_t len, buf *key, buf *val,
                      char *wildc, const char **why);

#endif
