/* qmail-lspawn: run local deliveries for qmail-send (qmail-lspawn(8)).
 *
 * qmail-start runs it as root, in DIR, with the defaultdelivery argument.
 * It reads delivery records on fd 0 and writes one report per delivery on
 * fd 1, in any order (the protocol is in src/mail/spawn.h).
 *
 * Its shape comes from what a delivery costs (DESIGN §3): the usual one
 * starts exactly one process, a fork, and no program.
 *   1. The parent finds the user. users/cdb is a root-owned file, so it
 *      reads that itself. The password file is another matter: getpwnam
 *      runs NSS modules, which must never run as root. That lookup goes to
 *      a helper, a child of ours that became qmailp and stays, answering
 *      lookups over a pipe with qmail-getpw(8)'s rules (users_passwd(), the
 *      alias user when nobody matches). A single-user instance skips it.
 *   2. It forks one child per delivery. The child opens queue/mess/S/N as
 *      fd 0 while still root, becomes the user (refusing uid 0) and calls
 *      local_deliver(), the qmail-local engine linked in, after making the
 *      process look like a freshly executed qmail-local: SIGCHLD (the only
 *      signal the parent catches) back to default, SIGPIPE ignored, umask
 *      077, no descriptor but 0, 1 and 2, the environment untouched.
 * The parent never waits for anything but poll: records, children's
 * output, helpers' answers and exits all arrive there, so a slow delivery
 * or a slow lookup never holds up the others. A delivery child's stdout
 * and stderr are one pipe to the parent; what it writes (at most
 * SPAWN_TEXT_MAX bytes kept) is the report text, its exit code the status:
 * 0 'K', 100 'D', anything else or a crash 'Z'.
 *
 * A site that wants its own programs keeps them: with QMAILLOCAL set, the
 * child runs that program with qmail-local's arguments instead of calling
 * the engine; with QMAILGETPW set, the helper runs that program (still as
 * qmailp) for each lookup, as qmail ran qmail-getpw. */
#include "lib/err.h"
#include "lib/fdpipe.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/local.h"
#include "mail/queue.h"
#include "mail/spawn.h"
#include "mail/srs.h"
#include "mail/users.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Longest sender or recipient accepted in a record; the numbers are far
 * shorter. A longer field is not kept: the delivery fails permanently. */
#define FIELD_MAX 16384
/* Lookup helpers: one answers every lookup of a quiet system; more start
 * only while all are busy, so one slow NSS answer does not stall the rest. */
#define HELPER_MAX 4
/* A helper's answer: status, length, ':', then at most this many bytes. */
#define ANSWER_MAX (USERS_REC_MAX + 32)

static const char *defaultdelivery;
static const char *localprog, *getpwprog;   /* QMAILLOCAL, QMAILGETPW */
static nq_ids ids;
static buf cdbpath = BUF_INIT, aliashome = BUF_INIT;
/* SRS settings, read by each delivery child while it is still root:
 * control/srs is closed to the users it becomes (src/mail/srs.h). */
static struct srs_cfg srs = SRS_CFG_INIT;
static int srsread;

enum { J_FREE, J_LOOKUP, J_RUN };

struct job {
	int state;
	pid_t pid;          /* J_RUN: the delivery child */
	int fd;             /* read end of the child's output pipe, or -1 */
	int status;         /* wait status */
	buf text;           /* output kept, at most SPAWN_TEXT_MAX bytes */
	unsigned long msgnum;
	buf sender, rcpt;   /* the record's fields, until the child has them */
	size_t at;          /* rcpt[0..at) is the local part */
	users_ent e;        /* the user, once found */
};
static struct job jobs[SPAWN_MAX];
static int busy;        /* jobs not J_FREE */

struct helper {
	pid_t pid;          /* 0: entry free (a dead helper keeps it until reaped) */
	int to, from;       /* request and answer pipes; -1 once dropped */
	long slot;          /* job being looked up, or -1 */
	buf in;             /* answer bytes so far */
};
static struct helper helpers[HELPER_MAX];

/* Jobs waiting for a helper, oldest first. */
static size_t waitq[SPAWN_MAX], wq_head, wq_len;

static int selfpipe[2] = {-1, -1};

static void sigchld(int sig)
{
	int e = errno;
	(void)!write(selfpipe[1], "", 1);
	errno = e;
}

/* The process name ps shows, so a delivery or a helper says what it is
 * although no program was executed. */
static void name(const char *n)
{
#ifdef __linux__
	(void)prctl(PR_SET_NAME, n, 0, 0, 0);
#else
	(void)n;
#endif
}

static int become(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) return -1;
	if (getuid() == 0 || geteuid() == 0) { errno = EPERM; return -1; }
	return 0;
}

/* ---- a delivery child -------------------------------------------------- */

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

/* A site's own qmail-local, with qmail-local(8)'s arguments. */
static _Noreturn void runlocal(const users_ent *e, const char *local, const char *domain,
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
	execv(localprog, args);
	fail(EXIT_TEMP, "Unable to run qmail-local: ", strerror(errno), 0);
}

/* What qmail-local's main() does, in this process. */
static _Noreturn void deliver(const users_ent *e, const char *local, const char *domain,
                              const char *sender)
{
	struct local_req req;
	struct local_result res = { EXIT_TEMP, BUF_INIT };

	memset(&req, 0, sizeof req);
	req.user = e->user;
	req.home = e->home;
	req.local = local;
	req.dash = e->dash;
	req.ext = e->ext;
	req.host = domain;
	req.sender = sender;
	req.defaultdelivery = defaultdelivery;
	req.msgfd = 0;
	req.doit = 1;
	req.srs = srsread ? &srs : 0;
	umask(077);
	sig_ignore(SIGPIPE);
	name("qmail-local");
	err_prog = "qmail-local";
	local_deliver(&req, &res);
	if (write_all(1, res.text.s, res.text.len) < 0 && res.code == 0) res.code = EXIT_TEMP;
	_exit(res.code);
}

static _Noreturn void child(struct job *j, int out)
{
	const users_ent *e = &j->e;
	const char *local = j->rcpt.s, *domain = "";
	buf fn = BUF_INIT;
	char uidnum[24], ownernum[24];
	int fd;

	sig_default(SIGCHLD);
	sig_default(SIGPIPE);
	if (fd_move(1, out) < 0 || dup2(1, 2) < 0) _exit(EXIT_TEMP);
	fd = open(queue_fn(&fn, "mess", j->msgnum), O_RDONLY);
	if (fd < 0) fail(EXIT_TEMP, "Unable to open the message file queue/", fn.s, errno == ENOENT ?
	                 ": it does not exist." : ": permission or system trouble.");
	if (fd_move(0, fd) < 0) fail(EXIT_TEMP, "Unable to move the message to fd 0.", 0, 0);
	fd_closefrom(3);

	if (j->at < j->rcpt.len) domain = j->rcpt.s + j->at + 1;
	j->rcpt.s[j->at] = 0;

	{
		const char *what;
		srsread = srs_load(&srs, &what) >= 0;
	}
	if (ids.single) {
		/* No uid switching: the owner runs everything, so only the
		 * owner's addresses can be served. */
		if (e->uid != getuid()) {
			fmt_ulong(uidnum, e->uid);
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
		if (e->uid == 0) fail(EXIT_TEMP, "Not allowed to perform deliveries as root.", 0, 0);
		if (become(e->uid, e->gid) < 0) {
			const char *why = strerror(errno);
			if (buf_copys(&fn, "Unable to switch to user ") < 0 || buf_puts(&fn, e->user) < 0)
				fail(EXIT_TEMP, "Out of memory in qmail-lspawn.", 0, 0);
			fail(EXIT_TEMP, fn.s, ": ", why);
		}
	}
	if (localprog) runlocal(e, local, domain, j->sender.s);
	deliver(e, local, domain, j->sender.s);
}

/* ---- a lookup helper (runs as qmailp) ------------------------------------ */

/* QMAILGETPW: run the site's program for one lookup, as qmail-lspawn used
 * to run qmail-getpw. Its stdout is the record; the parent checks it. */
static int getpwrun(buf *rec, const char *local, const char **why)
{
	int pi[2], st, nul;
	pid_t pid;
	char *args[3];

	*why = "Unable to run qmail-getpw.";
	if (pipe_above(pi, 3) < 0) return -1;
	pid = fork();
	if (pid < 0) { close(pi[0]); close(pi[1]); return -1; }
	if (pid == 0) {
		nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || fd_move(0, nul) < 0 || fd_move(1, pi[1]) < 0) _exit(EXIT_TEMP);
		args[0] = "qmail-getpw";
		args[1] = (char *)local;
		args[2] = 0;
		execv(getpwprog, args);
		_exit(EXIT_TEMP);
	}
	close(pi[1]);
	rec->len = 0;
	rec->max = USERS_REC_MAX;
	for (;;) {
		char tmp[1024];
		ssize_t r = read(pi[0], tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		if (buf_put(rec, tmp, (size_t)r) < 0) { kill(pid, SIGKILL); break; }
	}
	close(pi[0]);
	if (wait_pid(pid, &st, 0) < 0 || wait_code(st) != 0) return -1;
	return 0;
}

/* Requests: the local part, NUL-terminated. Answers: 'K' and a user
 * record, or 'Z' and the reason of a temporary failure, framed as
 * status, decimal length, ':', bytes. End of requests: exit 0. */
static _Noreturn void helper(int in, int out)
{
	users_ent e = USERS_ENT_INIT;
	buf local = BUF_INIT, ans = BUF_INIT;
	io_in rd;

	sig_default(SIGCHLD);
	sig_default(SIGPIPE);
	if (fd_move(0, in) < 0 || fd_move(1, out) < 0) _exit(EXIT_TEMP);
	fd_closefrom(3);
	if (become(ids.uid[R_QMAILP], ids.gid[R_QMAILP]) < 0) _exit(EXIT_TEMP);
	name("qmail-getpw");
	err_prog = "qmail-getpw";
	in_init(&rd, 0, 0);
	for (;;) {
		const char *why = 0, *err = "";
		char status = 'K';
		int r;

		local.len = 0;
		r = in_getline(&rd, &local, '\0', USERS_LOCAL_MAX + 1);
		if (r == 0) _exit(0);
		if (r < 0) _exit(EXIT_TEMP);
		local.len--;
		if (getpwprog) {
			if (getpwrun(&e.rec, local.s, &why) < 0) status = 'Z';
		} else {
			r = users_passwd(&e, aliashome.s, local.s, local.len);
			if (r < 0) {
				why = "Unable to look the user up in the password file: ";
				err = strerror(errno);
			}
			else if (r == 0 && users_alias(&e, &ids, aliashome.s, local.s, local.len) < 0)
				why = "Out of memory in qmail-lspawn.";
			if (why) status = 'Z';
		}
		ans.len = 0;
		if (buf_putc(&ans, status) < 0) _exit(EXIT_TEMP);
		if (status == 'K') {
			if (buf_putnum(&ans, e.rec.len) < 0 || buf_putc(&ans, ':') < 0 ||
			    buf_put(&ans, e.rec.s, e.rec.len) < 0) _exit(EXIT_TEMP);
		} else {
			if (buf_putnum(&ans, strlen(why) + strlen(err)) < 0 || buf_putc(&ans, ':') < 0 ||
			    buf_puts(&ans, why) < 0 || buf_puts(&ans, err) < 0) _exit(EXIT_TEMP);
		}
		if (write_all(1, ans.s, ans.len) < 0) _exit(EXIT_TEMP);
	}
}

/* ---- the parent: records in, reports out --------------------------------- */

static void reply(unsigned long slot, char status, const char *text, size_t n)
{
	buf r = BUF_INIT;
	if (buf_putnum(&r, slot) < 0 || buf_put0(&r) < 0 || buf_putc(&r, status) < 0 ||
	    buf_put(&r, text, n) < 0 || buf_put0(&r) < 0)
		err_nomem();
	if (write_all(1, r.s, r.len) < 0) err_dieerr(EXIT_TEMP, "unable to write to qmail-send", (char *)0);
	buf_free(&r);
}

/* Report a job and free its slot. */
static void done(size_t slot, char status, const char *text, size_t n)
{
	struct job *j = &jobs[slot];
	j->state = J_FREE;
	j->pid = 0;
	j->text.len = 0;
	busy--;
	reply(slot, status, text, n);
}

static void dones(size_t slot, char status, const char *a, const char *b)
{
	buf t = BUF_INIT;
	if (buf_puts(&t, a) < 0 || buf_puts(&t, b ? b : "") < 0) err_nomem();
	done(slot, status, t.s, t.len);
	buf_free(&t);
}

/* The report of a finished child: its output made into one line (a
 * newline becomes '/', as qmail-send's log shows it; the text ends at a
 * NUL). */
static void finish(size_t slot)
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
	done(slot, status, t.s ? t.s : "", t.len);
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

/* The user is known: fork the delivery. */
static void launch(size_t slot)
{
	struct job *j = &jobs[slot];
	int pi[2];
	pid_t pid;

	if (pipe2(pi, O_CLOEXEC) < 0) {
		dones(slot, 'Z', "Unable to create a pipe in qmail-lspawn.", 0);
		return;
	}
	pid = fork();
	if (pid < 0) {
		close(pi[0]);
		close(pi[1]);
		dones(slot, 'Z', "Unable to fork in qmail-lspawn.", 0);
		return;
	}
	if (pid == 0) child(j, pi[1]);
	close(pi[1]);
	if (fd_nonblock(pi[0], 1) < 0) err_dieerr(EXIT_TEMP, "unable to set up a pipe", (char *)0);
	j->state = J_RUN;
	j->pid = pid;
	j->fd = pi[0];
	j->text.len = 0;
}

/* A helper is gone or talked nonsense: no more requests to it; the job it
 * had is retried by qmail-send later. */
static void helper_drop(struct helper *h, const char *why)
{
	if (h->to >= 0) close(h->to);
	if (h->from >= 0) close(h->from);
	h->to = h->from = -1;
	if (h->slot >= 0) dones((size_t)h->slot, 'Z', why, 0);
	h->slot = -1;
}

/* An idle helper, a new one, or 0 when all HELPER_MAX are busy (or, with
 * *why set, when none can be started). */
static struct helper *helper_get(const char **why)
{
	struct helper *h, *freeh = 0;
	int req[2], ans[2];
	pid_t pid;

	*why = 0;
	for (h = helpers; h < helpers + HELPER_MAX; h++) {
		if (h->from >= 0 && h->slot < 0) return h;
		if (!h->pid && !freeh) freeh = h;
	}
	if (!freeh) return 0;
	if (ids.uid[R_QMAILP] == 0) {
		*why = "qmailp has uid 0 in users/ids; refusing to look users up as root.";
		return 0;
	}
	if (pipe_above(req, 3) < 0) { *why = "Unable to create a pipe in qmail-lspawn."; return 0; }
	if (pipe_above(ans, 3) < 0) {
		close(req[0]);
		close(req[1]);
		*why = "Unable to create a pipe in qmail-lspawn.";
		return 0;
	}
	pid = fork();
	if (pid < 0) {
		close(req[0]); close(req[1]); close(ans[0]); close(ans[1]);
		*why = "Unable to fork in qmail-lspawn.";
		return 0;
	}
	if (pid == 0) helper(req[0], ans[1]);
	close(req[0]);
	close(ans[1]);
	if (fd_nonblock(ans[0], 1) < 0) err_dieerr(EXIT_TEMP, "unable to set up a pipe", (char *)0);
	freeh->pid = pid;
	freeh->to = req[1];
	freeh->from = ans[0];
	freeh->slot = -1;
	freeh->in.len = 0;
	return freeh;
}

/* Hand waiting jobs to helpers while there are both. */
static void dispatch(void)
{
	while (wq_len) {
		const char *why;
		struct helper *h = helper_get(&why);
		size_t slot;
		struct job *j;

		if (!h && !why) return;
		slot = waitq[wq_head];
		wq_head = (wq_head + 1) % SPAWN_MAX;
		wq_len--;
		if (!h) { dones(slot, 'Z', why, 0); continue; }
		j = &jobs[slot];
		h->slot = (long)slot;
		h->in.len = 0;
		/* the pipe is empty (the helper answered all before) and the
		 * request far below its size: this write does not block */
		if (write_all(h->to, j->rcpt.s, j->at + 1) < 0)
			helper_drop(h, "Unable to talk to the password lookup process in qmail-lspawn.");
	}
}

/* Act on h's answer once it is all there. 0 done or not complete yet,
 * -1 malformed. */
static int answer(struct helper *h)
{
	size_t i, n = h->in.len, hdr, slot;
	unsigned long len;
	struct job *j;

	/* status, digits, ':' */
	for (i = 1; i < n && i < 12 && h->in.s[i] >= '0' && h->in.s[i] <= '9'; i++) {}
	if (i >= n) return 0;                    /* not all there yet */
	if (i == 1 || h->in.s[i] != ':' || (h->in.s[0] != 'K' && h->in.s[0] != 'Z')) return -1;
	hdr = i + 1;
	if (scan_ulong(h->in.s + 1, i - 1, &len) != i - 1 || len > USERS_REC_MAX) return -1;
	if (n - hdr < len) return 0;
	if (n - hdr > len) return -1;            /* one answer per request */
	slot = (size_t)h->slot;
	j = &jobs[slot];
	h->slot = -1;
	h->in.len = 0;
	if (h->in.s[0] == 'Z') done(slot, 'Z', h->in.s + hdr, len);
	else if (buf_copy(&j->e.rec, h->in.s + hdr, len) < 0) dones(slot, 'Z', "Out of memory in qmail-lspawn.", 0);
	else if (users_parse(&j->e) < 0) dones(slot, 'Z', "qmail-getpw printed a malformed record.", 0);
	else launch(slot);
	return 0;
}

/* Read what helper h wrote. An answer followed by the helper's end still
 * counts; the helper is dropped after it. */
static void helper_read(struct helper *h)
{
	char tmp[4096];
	int gone = 0;

	for (;;) {
		ssize_t r = read(h->from, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0 && errno == EAGAIN) break;
		if (r <= 0) { gone = 1; break; }
		if (h->slot < 0 || h->in.len + (size_t)r > ANSWER_MAX) goto bad;
		if (buf_put(&h->in, tmp, (size_t)r) < 0) err_nomem();
	}
	if (h->slot >= 0 && h->in.len && answer(h) < 0) goto bad;
	if (gone) helper_drop(h, "The password lookup process of qmail-lspawn died.");
	return;
bad:
	kill(h->pid, SIGKILL);
	helper_drop(h, "The password lookup process of qmail-lspawn talked nonsense.");
}

/* Collect exit statuses. A job is done when its child has exited: its
 * output is all in the pipe by then (a background grandchild holding the
 * pipe open must not delay the report). */
static void reap(void)
{
	pid_t pid;
	int st;
	size_t k;

	while ((pid = wait_pid(-1, &st, 1)) > 0) {
		for (k = 0; k < SPAWN_MAX; k++)
			if (jobs[k].state == J_RUN && jobs[k].pid == pid) {
				jobs[k].status = st;
				if (jobs[k].fd >= 0) {
					collect(&jobs[k]);
					if (jobs[k].fd >= 0) { close(jobs[k].fd); jobs[k].fd = -1; }
				}
				finish(k);
				break;
			}
		for (k = 0; k < HELPER_MAX; k++)
			if (helpers[k].pid == pid) {
				if (helpers[k].from >= 0) helper_read(&helpers[k]);
				if (helpers[k].from >= 0)
					helper_drop(&helpers[k], "The password lookup process of qmail-lspawn died.");
				helpers[k].pid = 0;
			}
	}
	dispatch();
}

/* A new record: find the user, then deliver. */
static void start(const char *slotstr, const char *msgnum, const char *sender,
                  const char *rcpt, size_t rlen, int toolong)
{
	unsigned long slot;
	struct job *j;
	int r;

	if (str_toul(slotstr, &slot) < 0 || slot >= SPAWN_MAX)
		err_die(EXIT_TEMP, "protocol error: bad delivery number from qmail-send", (char *)0);
	j = &jobs[slot];
	if (j->state != J_FREE) err_die(EXIT_TEMP, "protocol error: delivery ", slotstr, " is already running", (char *)0);
	j->state = J_LOOKUP;
	j->fd = -1;
	busy++;
	if (toolong) { dones(slot, 'D', "Sorry, that address is too long. (#5.1.3)", 0); return; }
	j->at = byte_rchr(rcpt, rlen, '@');
	if (j->at == 0) { done(slot, 'K', "", 0); return; }   /* an empty mailbox name is a trash address */
	if (j->at > USERS_LOCAL_MAX) { dones(slot, 'D', "Sorry, that address is too long. (#5.1.3)", 0); return; }
	if (str_toul(msgnum, &j->msgnum) < 0) { dones(slot, 'Z', "Bad message number from qmail-send.", 0); return; }
	if (buf_copys(&j->sender, sender) < 0 || buf_copy(&j->rcpt, rcpt, rlen) < 0) err_nomem();

	r = users_cdb(&j->e, cdbpath.s, rcpt, j->at);
	if (r < 0) { dones(slot, 'Z', "Trouble reading users/cdb in qmail-lspawn: ", strerror(errno)); return; }
	if (r == 0 && ids.single) {
		/* a single-user instance never consults the password file */
		if (users_alias(&j->e, &ids, aliashome.s, rcpt, j->at) < 0) err_nomem();
		r = 1;
	}
	if (r == 1) { launch(slot); return; }
	/* The request is the local part and its NUL: rcpt[at] is '@' or the
	 * terminator, so cut there. */
	j->rcpt.s[j->at] = 0;
	waitq[(wq_head + wq_len) % SPAWN_MAX] = slot;
	wq_len++;
	dispatch();
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

/* Our programs, or a site's (see the top of this file). */
static const char *progenv(const char *var)
{
	const char *p = getenv(var);
	return p && *p ? p : 0;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2 + SPAWN_MAX + HELPER_MAX];
	long who[2 + SPAWN_MAX + HELPER_MAX];  /* job k, or helper -1-k, per pfd entry */
	int eof = 0;
	size_t k;

	err_prog = "qmail-lspawn";
	if (argc < 2 || !*argv[1]) err_die(EXIT_PERM, "usage: qmail-lspawn defaultdelivery", (char *)0);
	defaultdelivery = argv[1];
	localprog = progenv("QMAILLOCAL");
	getpwprog = progenv("QMAILGETPW");
	if (nq_ids_read(&ids) < 0) err_dieerr(EXIT_TEMP, "unable to read users/ids", (char *)0);
	nq_path(&cdbpath, "users/cdb");
	nq_path(&aliashome, "alias");
	nq_chdir_home();
	if (chdir("queue") < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), "/queue", (char *)0);

	for (k = 0; k < SPAWN_MAX; k++) jobs[k].fd = -1;
	for (k = 0; k < HELPER_MAX; k++) {
		helpers[k].to = helpers[k].from = -1;
		helpers[k].slot = -1;
	}
	if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) < 0) err_dieerr(EXIT_TEMP, "unable to create a pipe", (char *)0);
	sig_ignore(SIGPIPE);
	sig_catch(SIGCHLD, sigchld);

	while (!eof || busy) {
		nfds_t n = 0, i;
		pfd[n].fd = selfpipe[0];
		pfd[n++].events = POLLIN;
		if (!eof) {
			pfd[n].fd = 0;
			pfd[n++].events = POLLIN;
		}
		for (k = 0; k < SPAWN_MAX; k++)
			if (jobs[k].state == J_RUN && jobs[k].fd >= 0) {
				who[n] = (long)k;
				pfd[n].fd = jobs[k].fd;
				pfd[n++].events = POLLIN;
			}
		for (k = 0; k < HELPER_MAX; k++)
			if (helpers[k].from >= 0) {
				who[n] = -1 - (long)k;
				pfd[n].fd = helpers[k].from;
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
		for (i = eof ? 1 : 2; i < n; i++) {
			if (!pfd[i].revents) continue;
			if (who[i] >= 0) {
				struct job *j = &jobs[who[i]];
				if (j->state == J_RUN && j->fd == pfd[i].fd) collect(j);
			} else {
				struct helper *h = &helpers[-1 - who[i]];
				if (h->from == pfd[i].fd) helper_read(h);
			}
		}
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
	/* The helpers are idle now: stop them, so none outlives us. */
	for (k = 0; k < HELPER_MAX; k++) {
		helper_drop(&helpers[k], "");
		if (helpers[k].pid) {
			kill(helpers[k].pid, SIGTERM);
			(void)wait_pid(helpers[k].pid, 0, 0);
		}
	}
	return 0;
}
