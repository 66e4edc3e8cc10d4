/* instance: where this nqmail instance lives and which uids it uses.
 *
 * An instance is one directory (default /var/qmail). A program finds it
 * from its own location: the directory above the bin/ holding the running
 * executable (/proc/self/exe). A program that is not set-id may be pointed
 * elsewhere with the environment variable NQMAIL_HOME; a set-id program
 * ignores every environment override, so an unprivileged user can never
 * point it at another instance.
 *
 * The uids and gids of the qmail roles are recorded at setup time in
 * DIR/users/ids, one "role:uid:gid" line per role (alias qmaild qmaill
 * qmailp qmailq qmailr qmails) plus the groups "qmail::gid" and
 * "nofiles::gid". In a single-user instance every role is the owner. */
#ifndef NQ_INSTANCE_H
#define NQ_INSTANCE_H
#include <sys/types.h>
#include "lib/buf.h"

const char *nq_home(void);                 /* never fails; falls back to /var/qmail */
/* home + "/" + rel, NUL-terminated, in b. Dies (111) when out of memory. */
const char *nq_path(buf *b, const char *rel);
void nq_chdir_home(void);                  /* chdir(home) or die 111 */

enum nq_role { R_ALIAS, R_QMAILD, R_QMAILL, R_QMAILP, R_QMAILQ, R_QMAILR, R_QMAILS, R_NROLES };
typedef struct nq_ids {
	uid_t uid[R_NROLES];
	gid_t gid[R_NROLES];
	gid_t qmail;      /* group qmail */
	gid_t nofiles;    /* group nofiles */
	int single;       /* 1: single-user instance (all roles one uid) */
} nq_ids;

/* Read DIR/users/ids. 0 ok, -1 error (errno; ENOENT if missing). */
int nq_ids_read(nq_ids *ids);
const char *nq_role_name(enum nq_role r);
/* Drop to role r (setgroups, setgid, setuid) unless already that uid.
 * Dies 111 on failure. In a single-user instance this is a no-op. */
void nq_become(const nq_ids *ids, enum nq_role r);

#endif
