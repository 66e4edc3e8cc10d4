/* qmail-rspawn: run remote deliveries for qmail-send (qmail-rspawn(8)).
 *
 * qmail-start runs it as qmailr, in DIR. It reads delivery records on
 * fd 0 ("slot\0msgnum\0sender\0recipient\0", src/mail/spawn.h) and
 * writes one report per record on fd 1 ("slot\0" status text "\0"), in
 * any order, as qmail-lspawn does for local deliveries.
 *
 * A delivery is qmail-remote's work for one message, one sender and the
 * recipients at one domain: the domain is the host argument. Records that
 * arrive together for the same message, sender and domain (qmail-send
 * starts all of a message's recipients in one pass) become one delivery
 * with up to BATCH_MAX recipients: one connection, one transaction, and
 * still one report per record, made from that recipient's own result
 * (src/mail/remoterep.h). So qmail-send logs and retries each recipient
 * as before, and a message to many people at one site costs one SMTP
 * session instead of one per recipient.
 *
 * Each delivery is a child: fork, the message file queue/mess/S/N as fd 0,
 * a pipe as fd 1 and 2, then the engine of src/mail/smtpout.c, linked in,
 * so no program is executed. A site that wraps or replaces qmail-remote
 * sets QMAILREMOTE to its program, which is then run with qmail-remote's
 * command line (host sender recip...).
 *
 * Records wait here until a delivery can start: at most
 * control/concurrencyremote deliveries (connections) run at once, reread
 * when the file changes. qmail-send hands over more recipients than that
 * (spawn.h), so that those of one message and domain can go together and
 * a finished connection finds more work for its domain.
 *
 * Kept connections: a child that delivered a message with the session in
 * good order writes "I" after its reports (src/mail/smtpout.h) and waits
 * on a pipe for another job; a record for the same domain then goes to
 * it, and the message travels on the same SMTP session (the child checks
 * that the route, credentials and TLS policy are the same, else it
 * connects anew). An idle child is let go (its pipe closed: it says QUIT
 * and exits) after IDLE_MAX seconds, when its slot is wanted for another
 * domain, or at the end. With QMAILREMOTE set, or control/reuseconnections
 * holding 0, every delivery is a process of its own, as in qmail.
 *
 * qmail's restart rule is kept: the table of hosts that timed out
 * (queue/lock/tcpto) starts empty. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fdlimit.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/control.h"
#include "mail/instance.h"
#include "mail/queue.h"
#include "mail/remoterep.h"
#include "mail/smtpout.h"
#include "mail/spawn.h"
#include "mail/tcpto.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define FIELD_MAX 16384      /* longest sender or recipient kept */
#define BATCH_MAX 100        /* recipients in one delivery (RFC 5321's minimum) */
#define SLOT_MAX 65536       /* highest slot number + 1 accepted from qmail-send */
#define OUT_MAX (1 << 20)    /* bytes of qmail-remote output kept */
#define BURST_MAX (1 << 20)  /* bytes read before starting deliveries */
#define IDLE_MAX 2           /* seconds an idle connection is kept (as Postfix's cache) */

static const char *remoteprog;    /* QMAILREMOTE */
static int reuse = 1;             /* kept connections (control/reuseconnections) */
static unsigned long limit = 20;  /* control/concurrencyremote */

/* A record waiting to start. */
struct rec {
	unsigned long slot, msg;
	buf sender, rcpt;
	int toolong;
	int taken;
};
static struct rec *pend;
static size_t npend, cappend;

/* A delivery child. */
enum { K_FREE, K_RUN, K_IDLE, K_GONE };
struct kid {
	pid_t pid;
	int state;
	int fd;               /* its output, or -1 when read to the end */
	int jobfd;            /* jobs for it when it is idle, or -1 */
	int status;
	long long idlesince;  /* ms */
	buf out;
	buf host;             /* the domain it delivers to */
	size_t n;
	unsigned long slots[BATCH_MAX];
};
static struct kid *kids;
static size_t nkids, capkids, alive;

static unsigned char *busy;     /* per slot: 1 while its delivery runs */
static int selfpipe[2] = {-1, -1};

static long long msnow(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sigchld(int sig)
{
	int e = errno;
	(void)sig;
	(void)!write(selfpipe[1], "", 1);
	errno = e;
}

static void reply(unsigned long slot, char st, const char *text, size_t n)
{
	buf r = BUF_INIT;
	if (buf_putnum(&r, slot) < 0 || buf_put0(&r) < 0 || buf_putc(&r, st) < 0 ||
	    buf_put(&r, text, n) < 0 || buf_put0(&r) < 0)
		err_nomem();
	if (write_all(1, r.s, r.len) < 0) err_dieerr(EXIT_TEMP, "unable to write to qmail-send", (char *)0);
	buf_free(&r);
	busy[slot] = 0;
}
static void replys(unsigned long slot, char st, const char *text) { reply(slot, st, text, strlen(text)); }

/* control/concurrencyremote and control/reuseconnections, read again
 * when either changes (looked at no more than once a second). */
static void getlimits(void)
{
	static long long checked = -1000000;
	static struct timespec seen[2];
	static const char *const names[2] = { "control/concurrencyremote", "control/reuseconnections" };
	long long t = msnow();
	int i, changed = checked < 0;
	unsigned long u;

	if (t - checked < 1000) return;
	checked = t;
	for (i = 0; i < 2; i++) {
		struct stat sb;
		buf fn = BUF_INIT;
		nq_path(&fn, names[i]);
		if (stat(fn.s, &sb) < 0) memset(&sb, 0, sizeof sb);
		buf_free(&fn);
		if (sb.st_mtim.tv_sec != seen[i].tv_sec || sb.st_mtim.tv_nsec != seen[i].tv_nsec) changed = 1;
		seen[i] = sb.st_mtim;
	}
	if (!changed) return;
	if (control_readulong(&u, "concurrencyremote", 20) < 0)
		err_warnerr("unable to read control/concurrencyremote; keeping ", "the last value", (char *)0);
	else limit = u ? (u < SLOT_MAX ? u : SLOT_MAX) : 1;
	if (control_readulong(&u, "reuseconnections", 1) < 0)
		err_warnerr("unable to read control/reuseconnections", (char *)0);
	else reuse = u != 0 && !remoteprog;
}

/* ---- a delivery child ------------------------------------------------------ */

static int openmsg(unsigned long msg)
{
	buf fn = BUF_INIT;
	int fd = open(queue_fn(&fn, "mess", msg), O_RDONLY | O_CLOEXEC);
	buf_free(&fn);
	if (fd < 0) {
		const char *m = errno == ENOENT ? "ZUnable to open the message file: it does not exist. (#4.3.0)\n"
		                                : "ZUnable to open the message file. (#4.3.0)\n";
		(void)write_all(1, m, strlen(m) + 1);
	}
	return fd;
}

/* The next job of a kept child, from fd 3: "msg\0sender\0host\0n\0"
 * and n recipients, each NUL-ended (written by give()). 1 a job, 0 the
 * end (the pipe closed, or it is broken). */
static int nextjob(void *ctx, smtpout_job *jb)
{
	static buf in;
	static char *rcpts[BATCH_MAX];
	(void)ctx;
	for (;;) {
		char tmp[8192];
		size_t pos = 0, f = 0, want = 4, i;
		unsigned long msg = 0, n = 0;
		const char *fld[4 + BATCH_MAX];
		ssize_t r;

		/* a whole job? */
		for (i = 0; i < in.len && f < want; i++)
			if (!in.s[i]) {
				fld[f++] = in.s + pos;
				pos = i + 1;
				if (f == 4) {
					if (str_toul(fld[3], &n) < 0 || n < 1 || n > BATCH_MAX) return 0;
					want = 4 + n;
				}
			}
		if (f == want) {
			int fd;
			if (str_toul(fld[0], &msg) < 0 || pos != in.len) return 0;
			for (i = 0; i < n; i++) rcpts[i] = (char *)fld[4 + i];
			fd = openmsg(msg);
			if (fd < 0) {
				if (write_all(1, "I", 2) < 0) return 0;
				in.len = 0;
				continue;
			}
			jb->sender = fld[1];
			jb->host = fld[2];
			jb->recips = rcpts;
			jb->n = (int)n;
			jb->msgfd = fd;
			/* the fields stay where they are until the next call */
			in.len = 0;
			return 1;
		}
		if (in.len > (size_t)(4 + BATCH_MAX) * (FIELD_MAX + 1) + 64) return 0;
		r = read(3, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) return 0;
		if (buf_put(&in, tmp, (size_t)r) < 0) return 0;
	}
}

static _Noreturn void child(struct rec **rs, size_t n, int out, int jobs)
{
	char *args[BATCH_MAX + 4];
	const char *host;
	size_t i, at;
	int fd;

	sig_default(SIGCHLD);
	sig_default(SIGPIPE);
	if (fd_move(1, out) < 0 || dup2(1, 2) < 0) _exit(EXIT_TEMP);
	if (jobs >= 0 && fd_move(3, jobs) < 0) _exit(EXIT_TEMP);
	fd = openmsg(rs[0]->msg);
	if (fd < 0) _exit(0);
	if (fd_move(0, fd) < 0) _exit(EXIT_TEMP);
	fd_closefrom(jobs >= 0 ? 4 : 3);
	at = byte_rchr(rs[0]->rcpt.s, rs[0]->rcpt.len, '@');
	host = rs[0]->rcpt.s + at + 1;
	args[0] = (char *)(remoteprog ? remoteprog : "qmail-remote");
	args[1] = (char *)host;
	args[2] = rs[0]->sender.s;
	for (i = 0; i < n; i++) args[3 + i] = rs[i]->rcpt.s;
	args[3 + n] = 0;
	if (remoteprog) {
		execv(remoteprog, args);
		_exit(errno == ENOENT || errno == EACCES ? EXIT_PERM : EXIT_TEMP);
	}
#ifdef __linux__
	(void)prctl(PR_SET_NAME, "qmail-remote", 0, 0, 0);
#endif
	err_prog = "qmail-remote";
	if (jobs >= 0) {
		smtpout_job jb;
		jb.host = host;
		jb.sender = rs[0]->sender.s;
		jb.recips = args + 3;
		jb.n = (int)n;
		jb.msgfd = 0;
		smtpout_serve(&jb, 1, nextjob, 0);
	}
	_exit(smtpout_run(host, rs[0]->sender.s, args + 3, (int)n, 0, 1));
}

static struct kid *kid_new(void)
{
	size_t i;
	for (i = 0; i < nkids; i++) if (kids[i].state == K_FREE) return &kids[i];
	if (nkids == capkids) {
		size_t nc = capkids ? capkids * 2 : 16;
		struct kid *k = realloc(kids, nc * sizeof *k);
		if (!k) err_nomem();
		kids = k;
		capkids = nc;
	}
	memset(&kids[nkids], 0, sizeof kids[nkids]);
	kids[nkids].fd = kids[nkids].jobfd = -1;
	return &kids[nkids++];
}

/* The domain of a recipient: what follows its last '@'. */
static const char *domain(const struct rec *r, size_t *len)
{
	size_t at = byte_rchr(r->rcpt.s, r->rcpt.len, '@');
	*len = at < r->rcpt.len ? r->rcpt.len - at - 1 : 0;
	return at < r->rcpt.len ? r->rcpt.s + at + 1 : "";
}

static void running(struct kid *k, struct rec **rs, size_t n)
{
	size_t i, dl;
	const char *d = domain(rs[0], &dl);
	k->state = K_RUN;
	k->n = n;
	for (i = 0; i < n; i++) k->slots[i] = rs[i]->slot;
	if (buf_copy(&k->host, d, dl) < 0) err_nomem();
}

static void launch(struct rec **rs, size_t n)
{
	struct kid *k;
	int pi[2], jp[2] = {-1, -1};
	pid_t pid;
	size_t i;

	if (pipe2(pi, O_CLOEXEC) < 0 || (reuse && pipe2(jp, O_CLOEXEC) < 0)) {
		for (i = 0; i < n; i++) replys(rs[i]->slot, 'Z', "Unable to create a pipe in qmail-rspawn. (#4.3.0)\n");
		return;
	}
	pid = fork();
	if (pid < 0) {
		close(pi[0]);
		close(pi[1]);
		if (jp[0] >= 0) { close(jp[0]); close(jp[1]); }
		for (i = 0; i < n; i++) replys(rs[i]->slot, 'Z', "Unable to fork in qmail-rspawn. (#4.3.0)\n");
		return;
	}
	if (pid == 0) child(rs, n, pi[1], jp[0]);
	close(pi[1]);
	if (jp[0] >= 0) close(jp[0]);
	if (fd_nonblock(pi[0], 1) < 0) err_dieerr(EXIT_TEMP, "unable to set up a pipe", (char *)0);
	k = kid_new();
	k->pid = pid;
	k->fd = pi[0];
	k->jobfd = jp[1];
	k->out.len = 0;
	running(k, rs, n);
	alive++;
}

/* Let an idle child go: it says QUIT and exits. */
static void retire(struct kid *k)
{
	if (k->jobfd >= 0) close(k->jobfd);
	k->jobfd = -1;
	k->state = K_GONE;
}

/* A job for the idle child k. 0 given, -1 it is gone (retired). */
static int give(struct kid *k, struct rec **rs, size_t n)
{
	buf j = BUF_INIT;
	size_t i;
	int r;
	if (buf_putnum(&j, rs[0]->msg) < 0 || buf_put0(&j) < 0 ||
	    buf_put(&j, rs[0]->sender.s, rs[0]->sender.len) < 0 || buf_put0(&j) < 0 ||
	    buf_put(&j, k->host.s, k->host.len) < 0 || buf_put0(&j) < 0 ||
	    buf_putnum(&j, n) < 0 || buf_put0(&j) < 0)
		err_nomem();
	for (i = 0; i < n; i++)
		if (buf_put(&j, rs[i]->rcpt.s, rs[i]->rcpt.len) < 0 || buf_put0(&j) < 0) err_nomem();
	r = write_all(k->jobfd, j.s, j.len);
	buf_free(&j);
	if (r < 0) { retire(k); return -1; }
	running(k, rs, n);
	return 0;
}

static struct kid *idlefor(const char *d, size_t dl)
{
	size_t i;
	for (i = 0; i < nkids; i++)
		if (kids[i].state == K_IDLE && kids[i].host.len == dl && case_eqn(kids[i].host.s, d, dl)) return &kids[i];
	return 0;
}

static struct kid *oldestidle(void)
{
	struct kid *o = 0;
	size_t i;
	for (i = 0; i < nkids; i++)
		if (kids[i].state == K_IDLE && (!o || kids[i].idlesince < o->idlesince)) o = &kids[i];
	return o;
}

/* Start what can start: records for the same message, sender and domain
 * go together, in the order they came, to an idle child of their domain
 * or a new one while fewer than the limit live; when the limit is
 * reached, an idle child of another domain makes room. */
static void dispatch(void)
{
	static struct rec *group[BATCH_MAX];
	size_t i, j, o;
	int retired = 0;

	getlimits();
	for (i = 0; i < npend; i++) {
		struct rec *r = &pend[i];
		struct kid *k;
		size_t dl, n = 0;
		const char *d;

		if (r->taken) continue;
		if (r->toolong) { r->taken = 1; replys(r->slot, 'D', "Sorry, that address is too long. (#5.1.3)\n"); continue; }
		d = domain(r, &dl);
		if (!dl) { r->taken = 1; replys(r->slot, 'D', "Sorry, that address has no domain. (#5.1.3)\n"); continue; }
		k = idlefor(d, dl);
		if (!k && alive >= limit) {
			struct kid *v = retired ? 0 : oldestidle();
			if (v) { retire(v); retired = 1; }
			continue;   /* an idle child of its domain may still come up */
		}
		r->taken = 1;
		group[n++] = r;
		for (j = i + 1; j < npend && n < BATCH_MAX; j++) {
			struct rec *x = &pend[j];
			size_t xl;
			const char *xd;
			if (x->taken || x->toolong || x->msg != r->msg || !str_eq(x->sender.s, r->sender.s)) continue;
			xd = domain(x, &xl);
			if (xl != dl || !case_eqn(xd, d, dl)) continue;
			x->taken = 1;
			group[n++] = x;
		}
		if (k && give(k, group, n) == 0) continue;
		if (k && alive >= limit) {   /* it was gone after all: wait */
			for (j = 0; j < n; j++) group[j]->taken = 0;
			continue;
		}
		launch(group, n);
	}
	for (i = o = 0; i < npend; i++) {
		if (pend[i].taken) { buf_free(&pend[i].sender); buf_free(&pend[i].rcpt); }
		else pend[o++] = pend[i];
	}
	npend = o;
}

/* ---- records from qmail-send ---------------------------------------------- */

static buf field[4];
static int nfield, flagtoolong;

static void record(void)
{
	unsigned long slot, msg;
	struct rec *r;

	if (str_toul(field[0].s, &slot) < 0 || slot >= SLOT_MAX)
		err_die(EXIT_TEMP, "protocol error: bad delivery number from qmail-send", (char *)0);
	if (busy[slot]) err_die(EXIT_TEMP, "protocol error: delivery ", field[0].s, " is already running", (char *)0);
	busy[slot] = 1;
	if (str_toul(field[1].s, &msg) < 0) { replys(slot, 'Z', "Bad message number from qmail-send. (#4.3.0)\n"); return; }
	if (npend == cappend) {
		size_t nc = cappend ? cappend * 2 : 64;
		struct rec *p = realloc(pend, nc * sizeof *p);
		if (!p) err_nomem();
		pend = p;
		cappend = nc;
	}
	r = &pend[npend++];
	memset(r, 0, sizeof *r);
	r->slot = slot;
	r->msg = msg;
	r->toolong = flagtoolong;
	if (buf_copy(&r->sender, field[2].s ? field[2].s : "", field[2].len) < 0 ||
	    buf_copy(&r->rcpt, field[3].s ? field[3].s : "", field[3].len) < 0)
		err_nomem();
}

static void feed(const char *p, size_t n)
{
	static const size_t max[4] = {20, 20, FIELD_MAX, FIELD_MAX};
	while (n) {
		size_t k = byte_chr(p, n, '\0'), take = k;
		if (take > max[nfield] - field[nfield].len) {
			take = max[nfield] - field[nfield].len;
			if (nfield < 2) err_die(EXIT_TEMP, "protocol error: number too long from qmail-send", (char *)0);
			flagtoolong = 1;
		}
		if (buf_put(&field[nfield], p, take) < 0) err_nomem();
		if (k == n) return;
		p += k + 1;
		n -= k + 1;
		if (++nfield == 4) {
			record();
			for (nfield = 0; nfield < 4; nfield++) field[nfield].len = 0;
			nfield = 0;
			flagtoolong = 0;
		}
	}
}

/* ---- finished deliveries ------------------------------------------------- */

/* The reports of k's delivery, from its output and wait status. */
static void answer(struct kid *k, int wstat)
{
	buf text = BUF_INIT;
	size_t i;
	char st;

	for (i = 0; i < k->n; i++) {
		if (remoterep_for(k->out.s ? k->out.s : "", k->out.len, i, wstat, &st, &text) < 0) err_nomem();
		reply(k->slots[i], st, text.s ? text.s : "", text.len);
	}
	buf_free(&text);
	k->n = 0;
	k->out.len = 0;
}

/* A running kept child whose output ends in the record "I" has finished
 * its delivery and waits for another. */
static void idlecheck(struct kid *k)
{
	const char *s = k->out.s;
	size_t n = k->out.len;
	if (k->state != K_RUN || k->jobfd < 0 || n < 2) return;
	if (s[n - 1] || s[n - 2] != 'I' || (n > 2 && s[n - 3])) return;
	k->out.len -= 2;
	answer(k, 0);
	k->state = K_IDLE;
	k->idlesince = msnow();
}

static void collect(struct kid *k)
{
	char tmp[8192];
	for (;;) {
		ssize_t r = read(k->fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			if (r == 0 || errno != EAGAIN) { close(k->fd); k->fd = -1; }
			break;
		}
		if (k->out.len + (size_t)r > OUT_MAX && k->jobfd >= 0) {
			/* too much to see its "I" at the end: no more jobs for it;
			 * it exits and its reports are read then */
			close(k->jobfd);
			k->jobfd = -1;
		}
		if (k->out.len < OUT_MAX) {
			size_t keep = (size_t)r;
			if (keep > OUT_MAX - k->out.len) keep = OUT_MAX - k->out.len;
			if (buf_put(&k->out, tmp, keep) < 0) err_nomem();
		}
	}
	idlecheck(k);
}

static void reap(void)
{
	pid_t pid;
	int st;
	size_t i;

	while ((pid = wait_pid(-1, &st, 1)) > 0)
		for (i = 0; i < nkids; i++)
			if (kids[i].pid == pid && kids[i].state != K_FREE) {
				struct kid *k = &kids[i];
				/* everything it wrote is in the pipe now; a grandchild
				 * holding the pipe open must not delay the report */
				if (k->fd >= 0) {
					collect(k);
					if (k->fd >= 0) { close(k->fd); k->fd = -1; }
				}
				if (k->state == K_RUN) answer(k, st);
				if (k->jobfd >= 0) { close(k->jobfd); k->jobfd = -1; }
				k->state = K_FREE;
				k->pid = 0;
				alive--;
				break;
			}
}

/* Read what qmail-send has for us now: a burst of records, so that those
 * of one message are grouped. Returns 0 at end of file. */
static int readreqs(void)
{
	char tmp[65536];
	size_t total = 0;
	for (;;) {
		struct pollfd p;
		ssize_t r = read(0, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0 && errno == EAGAIN) return 1;
		if (r < 0) err_dieerr(EXIT_TEMP, "unable to read from qmail-send", (char *)0);
		if (r == 0) return 0;
		feed(tmp, (size_t)r);
		total += (size_t)r;
		if (total >= BURST_MAX) return 1;
		p.fd = 0;
		p.events = POLLIN;
		if (poll(&p, 1, 0) <= 0) return 1;
	}
}

/* Idle children past IDLE_MAX go; the time until the next one does (ms,
 * -1: none). */
static int expire(int all)
{
	long long t = msnow(), wait = -1;
	size_t i;
	for (i = 0; i < nkids; i++) {
		long long left;
		if (kids[i].state != K_IDLE) continue;
		left = kids[i].idlesince + IDLE_MAX * 1000 - t;
		if (all || left <= 0) retire(&kids[i]);
		else if (wait < 0 || left < wait) wait = left;
	}
	return (int)wait;
}

int main(int argc, char **argv)
{
	struct pollfd *pfd = 0;
	size_t cappfd = 0;
	int eof = 0;

	(void)argc;
	(void)argv;
	err_prog = "qmail-rspawn";
	remoteprog = getenv("QMAILREMOTE");
	if (remoteprog && !*remoteprog) remoteprog = 0;
	nq_chdir_home();
	(void)tcpto_clear();
	if (chdir("queue") < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), "/queue", (char *)0);
	/* two pipes per delivery in flight: room for as many as qmail-send
	 * may ask for; beyond what the system allows a delivery is deferred
	 * ("Unable to create a pipe") */
	(void)fd_limit_raise(2 * SLOT_MAX + 64);
	busy = calloc(SLOT_MAX, 1);
	if (!busy) err_nomem();
	if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) < 0) err_dieerr(EXIT_TEMP, "unable to create a pipe", (char *)0);
	sig_ignore(SIGPIPE);
	sig_catch(SIGCHLD, sigchld);
	getlimits();

	while (!eof || alive) {
		size_t n = 0, i, k;
		int wait = expire(eof);
		if (cappfd < 2 + nkids) {
			struct pollfd *p = realloc(pfd, (2 + nkids + 16) * sizeof *p);
			if (!p) err_nomem();
			pfd = p;
			cappfd = 2 + nkids + 16;
		}
		pfd[n].fd = selfpipe[0];
		pfd[n++].events = POLLIN;
		pfd[n].fd = eof ? -1 : 0;
		pfd[n++].events = POLLIN;
		for (k = 0; k < nkids; k++) {
			pfd[n].fd = kids[k].state != K_FREE && kids[k].fd >= 0 ? kids[k].fd : -1;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, n, wait) < 0) {
			if (errno != EINTR) err_dieerr(EXIT_TEMP, "poll failed", (char *)0);
			reap();
			continue;
		}
		if (pfd[0].revents) {
			char tmp[64];
			while (read(selfpipe[0], tmp, sizeof tmp) > 0) {}
		}
		for (i = 2, k = 0; i < n; i++, k++)
			if (pfd[i].revents && kids[k].state != K_FREE && kids[k].fd == pfd[i].fd) collect(&kids[k]);
		reap();
		if (!eof && pfd[1].revents) {
			if (fd_nonblock(0, 1) < 0) err_dieerr(EXIT_TEMP, "unable to read from qmail-send", (char *)0);
			if (!readreqs()) {
				eof = 1;
				if (nfield || field[0].len) err_warn("partial record from qmail-send ignored", (char *)0);
			}
			(void)fd_nonblock(0, 0);
		}
		if (eof) {
			/* qmail-send is gone: what has not started stays queued */
			for (i = 0; i < npend; i++) { buf_free(&pend[i].sender); buf_free(&pend[i].rcpt); }
			npend = 0;
		}
		dispatch();
	}
	return 0;
}
