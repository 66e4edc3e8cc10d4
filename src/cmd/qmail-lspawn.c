/* qmail-lspawn: run local deliveries for qmail-send (qmail-lspawn(8)).
 *
 * qmail-start runs it as root, in DIR, with the defaultdelivery argument.
 * It reads delivery records on fd 0 and writes one report per delivery on
 * fd 1, in any order (the protocol is in src/mail/spawn.h).
 *
 * The parent only multiplexes: it parses records, forks one child per
 * delivery, collects each child's output and exit status, and reports, so
 * a slow delivery (or a slow password lookup) never holds up the others.
 * Everything that may block or needs privilege happens in the child:
 *   1. open the message queue/mess/S/N as fd 0 (before giving up root,
 *      since the queue is closed to users);
 *   2. find the user (src/mail/users.h): users/cdb, else qmail-getpw run
 *      as qmailp, else the alias user with home DIR/alias; a single-user
 *      instance never consults the password file and accepts only users
 *      whose uid is the owner's;
 *   3. become the user (setgroups, setgid, setuid) and refuse uid 0;
 *   4. run the delivery: today by exec of DIR/bin/qmail-local, later by
 *      calling the delivery engine in this same process (deliver()).
 * The child's stdout and stderr are one pipe to the parent; what it
 * writes (at most SPAWN_TEXT_MAX bytes kept) is the report text, and its
 * exit code the status: 0 'K', 100 'D', anything else or a crash 'Z'.
 * Errors found by the child before the delivery are reported the same
 * way: a line of text and exit 100 or 111. */
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/queue.h"
#include "mail/spawn.h"
#include "mail/users.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Longest sender or recipient accepted in a record; the numbers are far
 * shorter. A longer field is not kept: the delivery fails permanently. */
#define FIELD_MAX 16384

static const char *defaultdelivery;
static nq_ids ids;
static buf cdbpath = BUF_INIT, getpwpath = BUF_INIT, localpath = BUF_INIT;
static buf aliashome = BUF_INIT;

struct job {
	pid_t pid;          /* 0: slot free */
	int fd;             /* read end of the child's output pipe, or -1 */
	int status;         /* wait status, valid once exited */
	int exited;
	buf text;           /* output kept, at most SPAWN_TEXT_MAX bytes */
};
static struct job jobs[SPAWN_MAX];
static int running;

static int selfpipe[2] = {-1, -1};

static void sigchld(int sig)
{
	int e = errno;
	(void)!write(selfpipe[1], "", 1);
	errno = e;
}

/* ---- the child: one delivery ------------------------------------------ */

/* Report text and exit: the parent turns the code into the status. */
static _Noreturn void fail(int code, const char *a, const char *b, const char *c)
{
	buf m = BUF_INIT;
	if (buf_puts(&m, a) < 0 || buf_puts(&m, b ? b : "") < 0 ||
	    buf_puts(&m, c ? c : "") < 0 || buf_putc(&m, '\n') < 0)
		_exit(EXIT_TEMP);
	(void)write_all(1, m.s, m.len);
	_exit(code);
}

static int become(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) return -1;
	if (getuid() == 0 || geteuid() == 0) { errno = EPERM; return -1; }
	return 0;
}

/* Rule 2 for a root instance: qmail-getpw, as qmailp, prints the record.
 * Never as root: the password lookup goes through NSS modules that have no
 * business running with privilege. */
static void getpw(users_ent *e, const char *local)
{
	int pi[2], st;
	pid_t pid;
	char *args[3];

	if (ids.uid[R_QMAILP] == 0) fail(EXIT_TEMP, "qmailp has uid 0 in users/ids; refusing to run qmail-getpw as root.", 0, 0);
	if (pipe2(pi, O_CLOEXEC) < 0) fail(EXIT_TEMP, "Unable to create a pipe: ", strerror(errno), 0);
	pid = fork();
	if (pid < 0) fail(EXIT_TEMP, "Unable to fork: ", strerror(errno), 0);
	if (pid == 0) {
		if (fd_move(1, pi[1]) < 0) _exit(EXIT_TEMP);
		if (become(ids.uid[R_QMAILP], ids.gid[R_QMAILP]) < 0) _exit(EXIT_TEMP);
		args[0] = "qmail-getpw";
		args[1] = (char *)local;
		args[2] = 0;
		execv(getpwpath.s, args);
		_exit(EXIT_TEMP);
	}
	close(pi[1]);
	e->rec.len = 0;
	e->rec.max = USERS_REC_MAX;
	for (;;) {
		char tmp[1024];
		ssize_t r = read(pi[0], tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		if (buf_put(&e->rec, tmp, (size_t)r) < 0) { kill(pid, SIGKILL); break; }
	}
	close(pi[0]);
	if (wait_pid(pid, &st, 0) < 0 || wait_code(st) != 0)
		fail(EXIT_TEMP, "Unable to run qmail-getpw.", 0, 0);
	if (users_parse(e) < 0) fail(EXIT_TEMP, "qmail-getpw printed a malformed record.", 0, 0);
}

/* Step 4. The argument list is qmail-local(8)'s. To save the exec, this
 * is the one place to change: fill a struct local_req (src/mail/local.h)
 * from the same values with msgfd 0, ignore SIGPIPE as the engine asks,
 * call local_deliver(), write its text to fd 1 and _exit with its code. */
static _Noreturn void deliver(const users_ent *e, const char *local, const char *domain,
                              const char *sender)
{
	char *args[11];
	args[0] = "qmail-local";
	args[1] = "--";
	args[2] = (char *)e->user;
	args[3] = (char *)e->home;
	args[4] = (char *)local;
	args[5] = (char *)e->dash;
	args[6] = (char *)e->ext;
	args[7] = (char *)domain;
	args[8] = (char *)sender;
	args[9] = (char *)defaultdelivery;
	args[10] = 0;
	execv(localpath.s, args);
	fail(EXIT_TEMP, "Unable to run qmail-local: ", strerror(errno), 0);
}

static _Noreturn void child(int out, const char *msgnum, const char *sender,
                            const char *rcpt, size_t rlen)
{
	users_ent e = USERS_ENT_INIT;
	buf local = BUF_INIT, fn = BUF_INIT;
	const char *domain = "";
	unsigned long num;
	size_t at, k;
	int fd, r;
	char uidnum[24], ownernum[24];

	sig_default(SIGCHLD);
	sig_default(SIGPIPE);
	close(selfpipe[0]);
	close(selfpipe[1]);
	for (k = 0; k < SPAWN_MAX; k++)
		if (jobs[k].fd >= 0) close(jobs[k].fd);
	if (fd_move(1, out) < 0 || dup2(1, 2) < 0) _exit(EXIT_TEMP);

	at = byte_rchr(rcpt, rlen, '@');
	if (at < rlen) domain = rcpt + at + 1;
	if (at == 0) _exit(0);   /* an empty mailbox name is a trash address */
	if (at > USERS_LOCAL_MAX) fail(EXIT_PERM, "Sorry, that address is too long. (#5.1.3)", 0, 0);
	if (buf_copy(&local, rcpt, at) < 0) fail(EXIT_TEMP, "Out of memory in qmail-lspawn.", 0, 0);

	if (str_toul(msgnum, &num) < 0) fail(EXIT_TEMP, "Bad message number from qmail-send.", 0, 0);
	fd = open(queue_fn(&fn, "mess", num), O_RDONLY);
	if (fd < 0) fail(EXIT_TEMP, "Unable to open the message file queue/", fn.s, errno == ENOENT ?
	                 ": it does not exist." : ": permission or system trouble.");
	if (fd_move(0, fd) < 0) fail(EXIT_TEMP, "Unable to move the message to fd 0.", 0, 0);

	r = users_cdb(&e, cdbpath.s, local.s, local.len);
	if (r < 0) fail(EXIT_TEMP, "Trouble reading users/cdb in qmail-lspawn: ", strerror(errno), 0);
	if (r == 0 && !ids.single) { getpw(&e, local.s); r = 1; }
	if (r == 0 && users_alias(&e, &ids, aliashome.s, local.s, local.len) < 0)
		fail(EXIT_TEMP, "Out of memory in qmail-lspawn.", 0, 0);

	if (ids.single) {
		/* No uid switching: the owner runs everything, so only the
		 * owner's addresses can be served. */
		if (e.uid != getuid()) {
			fmt_ulong(uidnum, e.uid);
			fmt_ulong(ownernum, getuid());
			if (buf_copys(&fn, "Sorry, users/assign gives this address to uid ") < 0 ||
			    buf_puts(&fn, uidnum) < 0 ||
			    buf_puts(&fn, ", but in this single-user instance only the owner, uid ") < 0)
				fail(EXIT_TEMP, "Out of memory in qmail-lspawn.", 0, 0);
			fail(EXIT_PERM, fn.s, ownernum, ", receives mail. (#5.1.1)");
		}
		if (getuid() == 0 || geteuid() == 0)
			fail(EXIT_TEMP, "Not allowed to perform deliveries as root.", 0, 0);
	} else {
		if (e.uid == 0) fail(EXIT_TEMP, "Not allowed to perform deliveries as root.", 0, 0);
		if (become(e.uid, e.gid) < 0) {
			const char *why = strerror(errno);
			if (buf_copys(&fn, "Unable to switch to user ") < 0 || buf_puts(&fn, e.user) < 0)
				fail(EXIT_TEMP, "Out of memory in qmail-lspawn.", 0, 0);
			fail(EXIT_TEMP, fn.s, ": ", why);
		}
	}
	deliver(&e, local.s, domain, sender);
}

/* ---- the parent: records in, reports out -------------------------------- */

static void reply(unsigned long slot, char status, const char *text, size_t n)
{
	buf r = BUF_INIT;
	if (buf_putnum(&r, slot) < 0 || buf_put0(&r) < 0 || buf_putc(&r, status) < 0 ||
	    buf_put(&r, text, n) < 0 || buf_put0(&r) < 0)
		err_nomem();
	if (write_all(1, r.s, r.len) < 0) err_dieerr(EXIT_TEMP, "unable to write to qmail-send", (char *)0);
	buf_free(&r);
}

/* The report of a finished job: its output made into one line (a newline
 * becomes '/', as qmail-send's log shows it; the text ends at a NUL). */
static void finish(unsigned long slot)
{
	struct job *j = &jobs[slot];
	buf t = BUF_INIT;
	size_t i;
	char status;

	for (i = 0; i < j->text.len && j->text.s[i]; i++) {
		char c = j->text.s[i];
		if (c == '\n') c = '/';
		if (buf_putc(&t, c) < 0) err_nomem();
	}
	if (!WIFEXITED(j->status)) {
		status = 'Z';
		if (buf_copys(&t, "qmail-local crashed.") < 0) err_nomem();
	} else if (WEXITSTATUS(j->status) == 0) status = 'K';
	else if (WEXITSTATUS(j->status) == 100) status = 'D';
	else status = 'Z';
	if (!t.len && status != 'K') {
		char num[24];
		fmt_ulong(num, (unsigned long)WEXITSTATUS(j->status));
		if (buf_copys(&t, "qmail-local exited ") < 0 || buf_puts(&t, num) < 0 ||
		    buf_putc(&t, '.') < 0)
			err_nomem();
	}
	j->pid = 0;
	j->exited = 0;
	j->text.len = 0;
	running--;
	reply(slot, status, t.s ? t.s : "", t.len);
	buf_free(&t);
}

/* Read what a child wrote; keep the first SPAWN_TEXT_MAX bytes and drop
 * the rest, so a chatty delivery can never block on a full pipe. */
static void collect(struct job *j)
{
	char tmp[4096];
	for (;;) {
		ssize_t r = read(j->fd, tmp, sizeof tmp);
		size_t keep;
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			if (r == 0 || errno != EAGAIN) { close(j->fd); j->fd = -1; }
			return;
		}
		keep = (size_t)r;
		if (keep > SPAWN_TEXT_MAX - j->text.len) keep = SPAWN_TEXT_MAX - j->text.len;
		if (keep && buf_put(&j->text, tmp, keep) < 0) err_nomem();
	}
}

/* Collect exit statuses. A job is done when its child has exited: its
 * output is all in the pipe by then (a background grandchild holding the
 * pipe open must not delay the report). */
static void reap(void)
{
	pid_t pid;
	int st;
	size_t k;

	while ((pid = wait_pid(-1, &st, 1)) > 0)
		for (k = 0; k < SPAWN_MAX; k++)
			if (jobs[k].pid == pid) {
				jobs[k].exited = 1;
				jobs[k].status = st;
				if (jobs[k].fd >= 0) {
					collect(&jobs[k]);
					if (jobs[k].fd >= 0) { close(jobs[k].fd); jobs[k].fd = -1; }
				}
				finish(k);
				break;
			}
}

static void start(const char *slotstr, const char *msgnum, const char *sender,
                  const char *rcpt, size_t rlen, int toolong)
{
	unsigned long slot;
	struct job *j;
	int pi[2];
	pid_t pid;

	if (str_toul(slotstr, &slot) < 0 || slot >= SPAWN_MAX)
		err_die(EXIT_TEMP, "protocol error: bad delivery number from qmail-send", (char *)0);
	j = &jobs[slot];
	if (j->pid) err_die(EXIT_TEMP, "protocol error: delivery ", slotstr, " is already running", (char *)0);
	if (toolong) {
		const char *m = "Sorry, that address is too long. (#5.1.3)";
		reply(slot, 'D', m, strlen(m));
		return;
	}
	if (pipe2(pi, O_CLOEXEC) < 0) {
		const char *m = "Unable to create a pipe in qmail-lspawn.";
		reply(slot, 'Z', m, strlen(m));
		return;
	}
	pid = fork();
	if (pid < 0) {
		const char *m = "Unable to fork in qmail-lspawn.";
		close(pi[0]);
		close(pi[1]);
		reply(slot, 'Z', m, strlen(m));
		return;
	}
	if (pid == 0) {
		close(pi[0]);
		child(pi[1], msgnum, sender, rcpt, rlen);
	}
	close(pi[1]);
	if (fd_nonblock(pi[0], 1) < 0) err_dieerr(EXIT_TEMP, "unable to set up a pipe", (char *)0);
	j->pid = pid;
	j->fd = pi[0];
	j->exited = 0;
	j->text.len = 0;
	running++;
}

/* The record parser: four NUL-terminated fields, arriving in any pieces.
 * A field longer than its limit is cut short and the record marked. */
static buf field[4];
static int nfield, toolong;

static void feed(const char *p, size_t n)
{
	static const size_t max[4] = {20, 20, FIELD_MAX, FIELD_MAX};
	while (n) {
		size_t k = byte_chr(p, n, '\0');
		size_t take = k;
		if (take > max[nfield] - field[nfield].len) {
			take = max[nfield] - field[nfield].len;
			if (nfield < 2) err_die(EXIT_TEMP, "protocol error: number too long from qmail-send", (char *)0);
			toolong = 1;
		}
		if (buf_put(&field[nfield], p, take) < 0) err_nomem();
		if (k == n) return;
		p += k + 1;
		n -= k + 1;
		if (++nfield == 4) {
			start(field[0].s, field[1].s, field[2].s, field[3].s, field[3].len, toolong);
			for (nfield = 0; nfield < 4; nfield++) field[nfield].len = 0;
			nfield = 0;
			toolong = 0;
		}
	}
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2 + SPAWN_MAX];
	size_t who[2 + SPAWN_MAX];   /* the job whose pipe each pfd entry is */
	int eof = 0;
	size_t k;

	err_prog = "qmail-lspawn";
	if (argc < 2 || !*argv[1]) err_die(EXIT_PERM, "usage: qmail-lspawn defaultdelivery", (char *)0);
	defaultdelivery = argv[1];
	if (nq_ids_read(&ids) < 0) err_dieerr(EXIT_TEMP, "unable to read users/ids", (char *)0);
	nq_path(&cdbpath, "users/cdb");
	nq_path(&getpwpath, "bin/qmail-getpw");
	nq_path(&localpath, "bin/qmail-local");
	nq_path(&aliashome, "alias");
	nq_chdir_home();
	if (chdir("queue") < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), "/queue", (char *)0);

	for (k = 0; k < SPAWN_MAX; k++) jobs[k].fd = -1;
	for (k = 0; k < 4; k++) field[k].len = 0;
	if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) < 0) err_dieerr(EXIT_TEMP, "unable to create a pipe", (char *)0);
	sig_ignore(SIGPIPE);
	sig_catch(SIGCHLD, sigchld);

	while (!eof || running) {
		nfds_t n = 0, i;
		pfd[n].fd = selfpipe[0];
		pfd[n++].events = POLLIN;
		if (!eof) {
			pfd[n].fd = 0;
			pfd[n++].events = POLLIN;
		}
		for (k = 0; k < SPAWN_MAX; k++)
			if (jobs[k].fd >= 0) {
				who[n] = k;
				pfd[n].fd = jobs[k].fd;
				pfd[n++].events = POLLIN;
			}
		if (poll(pfd, n, -1) < 0) {
			/* Interrupted (a child ended): revents mean nothing now,
			 * and a stale one must not make the read of fd 0 block. */
			if (errno != EINTR) err_dieerr(EXIT_TEMP, "poll failed", (char *)0);
			reap();
			continue;
		}
		if (pfd[0].revents) {
			char tmp[64];
			while (read(selfpipe[0], tmp, sizeof tmp) > 0) {}
		}
		for (i = eof ? 1 : 2; i < n; i++)
			if (pfd[i].revents && jobs[who[i]].fd >= 0) collect(&jobs[who[i]]);
		reap();
		if (!eof && pfd[1].revents) {
			char tmp[4096];
			ssize_t r = read(0, tmp, sizeof tmp);
			if (r < 0 && errno != EINTR && errno != EAGAIN)
				err_dieerr(EXIT_TEMP, "unable to read from qmail-send", (char *)0);
			if (r == 0) {
				eof = 1;
				if (nfield || field[0].len) err_warn("partial record from qmail-send ignored", (char *)0);
			}
			if (r > 0) feed(tmp, (size_t)r);
		}
	}
	return 0;
}
