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
 * Slots are whatever numbers qmail-send uses, up to SLOT_MAX, kept in a
 * table that grows: the number of deliveries at once is qmail-send's
 * control/concurrencyremote, not a limit of ours. qmail's restart rule
 * is kept: the table of hosts that timed out (queue/lock/tcpto) starts
 * empty. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fdlimit.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
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
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define FIELD_MAX 16384      /* longest sender or recipient kept */
#define BATCH_MAX 100        /* recipients in one delivery (RFC 5321's minimum) */
#define SLOT_MAX 65536       /* highest slot number + 1 accepted from qmail-send */
#define OUT_MAX (1 << 20)    /* bytes of qmail-remote output kept */
#define BURST_MAX (1 << 20)  /* bytes read before starting deliveries */

static const char *remoteprog;    /* QMAILREMOTE */

/* A record waiting to start. */
struct rec {
	unsigned long slot, msg;
	buf sender, rcpt;
	int toolong;
	int taken;
};
static struct rec *pend;
static size_t npend, cappend;

/* A running delivery. */
struct kid {
	pid_t pid;            /* 0: free */
	int fd;               /* its output, or -1 when read to the end */
	int exited, status;
	buf out;
	size_t n;
	unsigned long slots[BATCH_MAX];
};
static struct kid *kids;
static size_t nkids, capkids, running;

static unsigned char *busy;     /* per slot: 1 while its delivery runs */
static int selfpipe[2] = {-1, -1};

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

/* ---- a delivery child ------------------------------------------------------ */

static void closeabove2(void)
{
	long fd, max;
	if (close_range(3, ~0U, 0) == 0) return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536) max = 65536;
	for (fd = 3; fd < max; fd++) close((int)fd);
}

static _Noreturn void child(struct rec **rs, size_t n, int out)
{
	char *args[BATCH_MAX + 4];
	const char *host;
	buf fn = BUF_INIT;
	size_t i, at;
	int fd;

	sig_default(SIGCHLD);
	sig_default(SIGPIPE);
	if (fd_move(1, out) < 0 || dup2(1, 2) < 0) _exit(EXIT_TEMP);
	fd = open(queue_fn(&fn, "mess", rs[0]->msg), O_RDONLY);
	if (fd < 0) {
		const char *m = errno == ENOENT ? "ZUnable to open the message file: it does not exist. (#4.3.0)\n"
		                                : "ZUnable to open the message file. (#4.3.0)\n";
		(void)write_all(1, m, strlen(m) + 1);
		_exit(0);
	}
	if (fd_move(0, fd) < 0) _exit(EXIT_TEMP);
	closeabove2();
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
	_exit(smtpout_run(host, rs[0]->sender.s, args + 3, (int)n, 0, 1));
}

static struct kid *kid_new(void)
{
	size_t i;
	for (i = 0; i < nkids; i++) if (!kids[i].pid) return &kids[i];
	if (nkids == capkids) {
		size_t nc = capkids ? capkids * 2 : 16;
		struct kid *k = realloc(kids, nc * sizeof *k);
		if (!k) err_nomem();
		kids = k;
		capkids = nc;
	}
	memset(&kids[nkids], 0, sizeof kids[nkids]);
	kids[nkids].fd = -1;
	return &kids[nkids++];
}

static void launch(struct rec **rs, size_t n)
{
	struct kid *k;
	int pi[2];
	pid_t pid;
	size_t i;

	if (pipe2(pi, O_CLOEXEC) < 0) {
		for (i = 0; i < n; i++) replys(rs[i]->slot, 'Z', "Unable to create a pipe in qmail-rspawn. (#4.3.0)\n");
		return;
	}
	pid = fork();
	if (pid < 0) {
		close(pi[0]);
		close(pi[1]);
		for (i = 0; i < n; i++) replys(rs[i]->slot, 'Z', "Unable to fork in qmail-rspawn. (#4.3.0)\n");
		return;
	}
	if (pid == 0) child(rs, n, pi[1]);
	close(pi[1]);
	if (fd_nonblock(pi[0], 1) < 0) err_dieerr(EXIT_TEMP, "unable to set up a pipe", (char *)0);
	k = kid_new();
	k->pid = pid;
	k->fd = pi[0];
	k->exited = 0;
	k->out.len = 0;
	k->n = n;
	for (i = 0; i < n; i++) k->slots[i] = rs[i]->slot;
	running++;
}

/* The domain of a recipient: what follows its last '@'. */
static const char *domain(const struct rec *r, size_t *len)
{
	size_t at = byte_rchr(r->rcpt.s, r->rcpt.len, '@');
	*len = at < r->rcpt.len ? r->rcpt.len - at - 1 : 0;
	return at < r->rcpt.len ? r->rcpt.s + at + 1 : "";
}

/* Start everything pending: records for the same message, sender and
 * domain go together, in the order they came. */
static void dispatch(void)
{
	static struct rec *group[BATCH_MAX];
	size_t i, j;

	for (i = 0; i < npend; i++) {
		struct rec *r = &pend[i];
		size_t dl, n = 0;
		const char *d;

		if (r->taken) continue;
		r->taken = 1;
		if (r->toolong) { replys(r->slot, 'D', "Sorry, that address is too long. (#5.1.3)\n"); continue; }
		d = domain(r, &dl);
		if (!dl) { replys(r->slot, 'D', "Sorry, that address has no domain. (#5.1.3)\n"); continue; }
		group[n++] = r;
		for (j = i + 1; j < npend && n < BATCH_MAX; j++) {
			struct rec *o = &pend[j];
			size_t ol;
			const char *od;
			if (o->taken || o->toolong || o->msg != r->msg || !str_eq(o->sender.s, r->sender.s)) continue;
			od = domain(o, &ol);
			if (ol != dl || !case_eqn(od, d, dl)) continue;
			o->taken = 1;
			group[n++] = o;
		}
		launch(group, n);
	}
	for (i = 0; i < npend; i++) { buf_free(&pend[i].sender); buf_free(&pend[i].rcpt); }
	npend = 0;
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

static void collect(struct kid *k)
{
	char tmp[8192];
	for (;;) {
		ssize_t r = read(k->fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) {
			if (r == 0 || errno != EAGAIN) { close(k->fd); k->fd = -1; }
			return;
		}
		if (k->out.len < OUT_MAX) {
			size_t keep = (size_t)r;
			if (keep > OUT_MAX - k->out.len) keep = OUT_MAX - k->out.len;
			if (buf_put(&k->out, tmp, keep) < 0) err_nomem();
		}
	}
}

static void finish(struct kid *k)
{
	buf text = BUF_INIT;
	size_t i;
	char st;

	for (i = 0; i < k->n; i++) {
		if (remoterep_for(k->out.s ? k->out.s : "", k->out.len, i, k->status, &st, &text) < 0) err_nomem();
		reply(k->slots[i], st, text.s ? text.s : "", text.len);
	}
	buf_free(&text);
	k->pid = 0;
	running--;
}

static void reap(void)
{
	pid_t pid;
	int st;
	size_t i;

	while ((pid = wait_pid(-1, &st, 1)) > 0)
		for (i = 0; i < nkids; i++)
			if (kids[i].pid == pid) {
				kids[i].status = st;
				/* everything it wrote is in the pipe now; a grandchild
				 * holding the pipe open must not delay the report */
				if (kids[i].fd >= 0) {
					collect(&kids[i]);
					if (kids[i].fd >= 0) { close(kids[i].fd); kids[i].fd = -1; }
				}
				finish(&kids[i]);
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
	/* one pipe per delivery in flight: room for as many as qmail-send
	 * may ask for; beyond what the system allows a delivery is deferred
	 * ("Unable to create a pipe") */
	(void)fd_limit_raise(SLOT_MAX + 64);
	busy = calloc(SLOT_MAX, 1);
	if (!busy) err_nomem();
	if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) < 0) err_dieerr(EXIT_TEMP, "unable to create a pipe", (char *)0);
	sig_ignore(SIGPIPE);
	sig_catch(SIGCHLD, sigchld);

	while (!eof || running) {
		size_t n = 0, i, k;
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
			pfd[n].fd = kids[k].pid && kids[k].fd >= 0 ? kids[k].fd : -1;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno != EINTR) err_dieerr(EXIT_TEMP, "poll failed", (char *)0);
			reap();
			continue;
		}
		if (pfd[0].revents) {
			char tmp[64];
			while (read(selfpipe[0], tmp, sizeof tmp) > 0) {}
		}
		for (i = 2, k = 0; i < n; i++, k++)
			if (pfd[i].revents && kids[k].pid && kids[k].fd == pfd[i].fd) collect(&kids[k]);
		reap();
		if (!eof && pfd[1].revents) {
			if (fd_nonblock(0, 1) < 0) err_dieerr(EXIT_TEMP, "unable to read from qmail-send", (char *)0);
			if (!readreqs()) {
				eof = 1;
				if (nfield || field[0].len) err_warn("partial record from qmail-send ignored", (char *)0);
			}
			(void)fd_nonblock(0, 0);
			dispatch();
		}
	}
	return 0;
}
