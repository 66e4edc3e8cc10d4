/* qmail-rcptcheck: answer qmail-smtpd's one question, "would local
 * delivery bounce this recipient?" (qmail-rcptcheck(8)).
 *
 * qmail-smtpd (as qmaild) starts it once per session. It reads envelope
 * recipients, each ending in a NUL, on fd 0 and writes one byte per
 * question on fd 1: Y (a mailbox exists), N (local delivery would bounce
 * it), ? (cannot tell now), R (not a local address). The rule is
 * rcptcheck() in src/mail/rcptcheck.c; nothing that was read is ever
 * written back, only the byte.
 *
 * In a root instance it is installed set-uid root (mode 4711) because
 * users' homes are 0700: it is the only part of the SMTP service with
 * privilege, and it uses it in forked children only: the password file
 * is read as qmailp (as qmail-lspawn does), a user's .qmail files are
 * looked for as that user, so a symbolic link in a home can never make it
 * look at a file its owner could not see. Only root and qmaild may run
 * it; being set-uid, it ignores the environment (src/mail/instance.h).
 * In a single-user instance it runs as the owner and forks nothing. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/rcptcheck.h"
#include "mail/route.h"
#include "mail/users.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static nq_ids ids;
static int privileged;      /* we can and must switch uids */
static buf aliashome = BUF_INIT;

static int become(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) return -1;
	if (getuid() == 0 || geteuid() == 0) { errno = EPERM; return -1; }
	return 0;
}

/* The password file, read by a child that became qmailp; the record
 * comes back through a pipe in users.h's six-field format. */
static int passwd(users_ent *e, const char *local, size_t len, void *arg)
{
	int pi[2], st;
	pid_t pid;
	char tmp[1024];
	ssize_t r;

	if (!privileged) return users_passwd(e, aliashome.s, local, len);
	if (ids.uid[R_QMAILP] == 0) return -1;
	if (pipe2(pi, O_CLOEXEC) < 0) return -1;
	pid = fork();
	if (pid < 0) { close(pi[0]); close(pi[1]); return -1; }
	if (pid == 0) {
		users_ent f = USERS_ENT_INIT;
		int k;
		close(pi[0]);
		if (become(ids.uid[R_QMAILP], ids.gid[R_QMAILP]) < 0) _exit(111);
		k = users_passwd(&f, aliashome.s, local, len);
		if (k < 0) _exit(111);
		if (k == 0) _exit(1);
		if (write_all(pi[1], f.rec.s, f.rec.len) < 0) _exit(111);
		_exit(0);
	}
	close(pi[1]);
	e->rec.len = 0;
	e->rec.max = USERS_REC_MAX;
	for (;;) {
		r = read(pi[0], tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		if (buf_put(&e->rec, tmp, (size_t)r) < 0) { kill(pid, SIGKILL); break; }
	}
	close(pi[0]);
	if (wait_pid(pid, &st, 0) < 0) return -1;
	switch (wait_code(st)) {
	case 0: return users_parse(e) < 0 ? -1 : 1;
	case 1: return 0;
	default: return -1;
	}
}

/* The .qmail files, looked for by a child that became the user. */
static int dotqmail(const users_ent *e, void *arg)
{
	pid_t pid;
	int st, code;

	if (!privileged) return rcptcheck_dotqmail(e->home, e->dash, e->ext);
	if (e->uid == 0) return RC_UNKNOWN;   /* qmail-lspawn refuses root too */
	pid = fork();
	if (pid < 0) return RC_UNKNOWN;
	if (pid == 0) {
		if (become(e->uid, e->gid) < 0) _exit(0);
		_exit(rcptcheck_dotqmail(e->home, e->dash, e->ext));
	}
	if (wait_pid(pid, &st, 0) < 0) return RC_UNKNOWN;
	code = wait_code(st);
	return code == RC_YES || code == RC_NO ? code : RC_UNKNOWN;
}

int main(void)
{
	route r = ROUTE_INIT;
	buf cdbpath = BUF_INIT, q = BUF_INIT;
	struct rc_cfg cfg;
	const char *what;
	io_in in;

	err_prog = "qmail-rcptcheck";
	umask(077);
	sig_default(SIGCHLD);
	if (nq_ids_read(&ids) < 0) err_dieerr(EXIT_TEMP, "unable to read users/ids", (char *)0);
	if (geteuid() == 0 && !ids.single) {
		/* Set-uid root: only the SMTP service may ask. */
		if (getuid() != 0 && getuid() != ids.uid[R_QMAILD])
			err_die(EXIT_PERM, "only root and qmaild may run me", (char *)0);
		/* The real uid stays qmaild's, so that qmail-smtpd can still
		 * signal us; the children switch all their uids. */
		privileged = 1;
	}
	nq_chdir_home();
	if (route_load(&r, &what) < 0)
		err_dieerr(EXIT_TEMP, "unable to read control/", what, (char *)0);
	nq_path(&cdbpath, "users/cdb");
	nq_path(&aliashome, "alias");

	memset(&cfg, 0, sizeof cfg);
	cfg.route = &r;
	cfg.cdbpath = cdbpath.s;
	cfg.aliashome = aliashome.s;
	cfg.ids = &ids;
	cfg.owner = getuid();
	cfg.passwd = passwd;
	cfg.dotqmail = dotqmail;

	in_init(&in, 0, 0);
	for (;;) {
		char ans;
		int k;
		q.len = 0;
		k = in_getline(&in, &q, 0, RC_REQUEST_MAX);
		if (k == 0) break;          /* qmail-smtpd is done */
		if (k < 0) {
			if (errno != ERANGE) err_dieerr(EXIT_TEMP, "unable to read question", (char *)0);
			ans = RC_UNKNOWN;
		} else ans = (char)rcptcheck(&cfg, q.s, q.len - 1);
		if (write_all(1, &ans, 1) < 0) err_dieerr(EXIT_TEMP, "unable to answer", (char *)0);
	}
	return 0;
}
