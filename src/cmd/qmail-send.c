/* qmail-send: the queue manager (qmail-send(8), qmail-log(5)).
 *
 * It runs as qmails in DIR/queue, started by qmail-start, and
 *  - preprocesses new messages: todo/N becomes info/S/N (sender),
 *    local/S/N and remote/S/N ("T" recipient NUL each, local recipients
 *    already rewritten by src/mail/route.c), all fsynced with their
 *    directories, before qmail-clean is asked to remove todo/N and intd/N;
 *  - starts deliveries through qmail-lspawn (and qmail-rspawn when it
 *    exists) up to control/concurrencylocal and concurrencyremote, with
 *    a sender of its own per recipient for a VERP sender
 *    (src/mail/verp.h), marks each finished recipient 'D' in place (the
 *    marks fsynced in groups: see sync_marks), collects permanent
 *    failures in bounce/N, and retries temporary ones on qmail's schedule
 *    (src/mail/sched.h) until control/queuelifetime;
 *  - when every recipient is done, queues the bounce (src/mail/bounce.h)
 *    through qmail-queue (for a VERP sender one per failed recipient, to
 *    its own return path), removes its own files and asks qmail-clean to
 *    remove the message.
 *
 * Descriptors, as qmail-start arranges them (qmail's own layout):
 *     0  the activity log (qmail-log(5)), written
 *     1  requests to qmail-lspawn       2  reports from qmail-lspawn
 *     3  requests to qmail-rspawn       4  reports from qmail-rspawn
 *     5  requests to qmail-clean        6  replies from qmail-clean
 * Descriptors 3 and 4 are closed when there is no qmail-rspawn: remote
 * recipients then stay queued and each retry is logged as a deferral.
 * The protocols on 1-6 are in src/mail/spawn.h. Nothing is written to
 * descriptor 2 (it is a pipe from qmail-lspawn); every problem is a line
 * in the log.
 *
 * qmail-qctl changes the queue while we run (src/mail/qctl.h): a channel
 * file is flocked from the moment a delivery pass opens it until its job
 * is closed, a message with hold/N gets no delivery, and "try N now"
 * requests arrive on the pipe lock/qctl.
 *
 * The rules of DESIGN §3 decide the order of every step: a file is fsynced
 * before anything relies on it, a directory that gained an entry before
 * the request that makes the old state disappear, a failure is fsynced in
 * bounce/N before its recipient is marked done, and a message's info file
 * is removed (and that removal fsynced) before qmail-clean removes the
 * message. A 'D' mark is the one write nothing relies on (it only spares
 * a repeated delivery), so its fsync is shared. What a crash leaves at
 * each step is recognised at start. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fdlimit.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/bounce.h"
#include "mail/control.h"
#include "mail/envelope.h"
#include "mail/instance.h"
#include "mail/preproc.h"
#include "mail/qctl.h"
#include "mail/qrec.h"
#include "mail/queue.h"
#include "mail/route.h"
#include "mail/sendbounce.h"
#include "mail/sendlog.h"
#include "mail/sched.h"
#include "mail/spawn.h"
#include "mail/spawnrep.h"
#include "mail/verp.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#define SLEEP_TODO 1500       /* scan todo/ at least this often (s) */
#define SLEEP_SYSFAIL 123     /* retry after a system failure (s) */
#define SLEEP_CLEANUP 76431   /* between scans for abandoned messages (s) */
#define SLEEP_FOREVER 86400   /* longest poll (s) */
#define OSSIFIED 129600       /* 36 h: a message nobody finished is abandoned */
#define TODO_BATCH 64         /* todo entries preprocessed per pass */
#define MARK_SYNC_MS 100      /* longest a 'D' mark waits for its fsync */
#define CLEANUP_BATCH 200     /* mess/ entries checked per loop */
#define REC_MAX (ENVELOPE_ADDR_MAX + 8)
#define NCHAN 2
#define FD_RESERVE 64         /* descriptors kept for all but channel files */

static const char *chandir[NCHAN] = { "local", "remote" };
static const unsigned chanskip[NCHAN] = { SCHED_SKIP_LOCAL, SCHED_SKIP_REMOTE };
static const unsigned long concmax[NCHAN] = { SPAWN_MAX, SPAWN_REMOTE_MAX };
static const char *norspawn =
	"Sorry, remote delivery is not available here: qmail-rspawn is not installed. (#4.3.0)";
static const char *toolong =
	"I'm not going to try again; this message has been in the queue too long.";

static time_t now;
static volatile sig_atomic_t flagexit, flagrun, flagreread;
static void sigterm(int s) { (void)s; flagexit = 1; }
static void sigalrm(int s) { (void)s; flagrun = 1; }
static void sighup(int s) { (void)s; flagreread = 1; }

/* ---- configuration --------------------------------------------------- */

static route rt = ROUTE_INIT;
static buf bouncefrom, bouncehost, dbto;
static sendbounce_cfg bcfg;
static unsigned long lifetime = 604800;
static unsigned long conc[NCHAN] = { 10, 20 };

/* Recipients in delivery at once on a channel. qmail-lspawn runs each
 * as it comes; qmail-rspawn runs control/concurrencyremote connections
 * and keeps the rest waiting, so it gets up to REMOTE_WINDOW recipients
 * per connection: those of one message and domain then go in one SMTP
 * transaction, and a connection that finishes finds the next message for
 * its domain waiting (spawn.h). Messages in remote delivery at once are
 * held to REMOTE_JOBS per connection, which bounds the open files. */
#define REMOTE_WINDOW 100
#define REMOTE_JOBS 2
static unsigned long window(int c)
{
	unsigned long w;
	if (c == 0) return conc[0];
	w = conc[1] * REMOTE_WINDOW;
	return w / REMOTE_WINDOW != conc[1] || w > SPAWN_REMOTE_MAX ? SPAWN_REMOTE_MAX : w;
}
static unsigned long jobmax(int c) { return c == 0 ? conc[0] : conc[1] * REMOTE_JOBS; }

static int readconc(const char **what)
{
	unsigned long c[NCHAN];
	int i;
	*what = "control/concurrencylocal";
	if (control_readulong(&c[0], "concurrencylocal", 10) < 0) return -1;
	*what = "control/concurrencyremote";
	if (control_readulong(&c[1], "concurrencyremote", 20) < 0) return -1;
	for (i = 0; i < NCHAN; i++) conc[i] = c[i] > concmax[i] ? concmax[i] : c[i];
	if (conc[1] > SPAWN_REMOTE_MAX / REMOTE_JOBS) conc[1] = SPAWN_REMOTE_MAX / REMOTE_JOBS;
	return 0;
}

static int getcontrols(const char **what)
{
	buf host = BUF_INIT;
	if (route_load(&rt, what) < 0) return -1;
	if (readconc(what) < 0) return -1;
	*what = "control/queuelifetime";
	if (control_readulong(&lifetime, "queuelifetime", 604800) < 0) return -1;
	*what = "control/bouncefrom";
	if (control_readline(&bouncefrom, "bouncefrom", "MAILER-DAEMON") < 0) return -1;
	*what = "control/bouncehost";
	if (control_readme(&bouncehost, "bouncehost") < 0) return -1;
	if (!bouncehost.len && buf_copys(&bouncehost, "bouncehost") < 0) return -1;
	*what = "control/doublebouncehost";
	if (control_readme(&host, "doublebouncehost") < 0) return -1;
	if (!host.len && buf_copys(&host, "doublebouncehost") < 0) return -1;
	*what = "control/doublebounceto";
	if (control_readline(&dbto, "doublebounceto", "postmaster") < 0) return -1;
	if (buf_putc(&dbto, '@') < 0 || buf_put(&dbto, host.s, host.len) < 0) return -1;
	buf_free(&host);
	bcfg.host = bouncehost.s;
	bcfg.fromuser = bouncefrom.s;
	bcfg.dbto = dbto.s;
	return 0;
}

/* ---- queue file names -------------------------------------------------- */

static buf fn, fn2;
static const char *qfn(const char *dir, unsigned long id) { return queue_fn(&fn, dir, id); }
static const char *qfn2(const char *dir, unsigned long id) { return queue_fn(&fn2, dir, id); }

/* Directories that gained or lost entries and must be fsynced before the
 * next request to qmail-clean: [0] info/S, [1] local/S, [2] remote/S. */
static unsigned char dirty[3][QUEUE_SPLIT];
static int syncdirs(void)
{
	static const char *names[3] = { "info", "local", "remote" };
	int i, s, r = 0;
	for (i = 0; i < 3; i++)
		for (s = 0; s < QUEUE_SPLIT; s++)
			if (dirty[i][s]) {
				buf d = BUF_INIT;
				if (buf_copys(&d, names[i]) < 0 || buf_putc(&d, '/') < 0 ||
				    buf_putnum(&d, (unsigned long long)s) < 0) { r = -1; continue; }
				if (fsync_dir(d.s) < 0) {
					slog_puts("warning: trouble fsyncing "); slog_puts(d.s); slog_puts("\n");
					r = -1;
				} else
					dirty[i][s] = 0;
				buf_free(&d);
			}
	return r;
}

/* ---- qmail-clean: requests answered in order --------------------------- */

struct creq { char type; unsigned char chans; unsigned long id; };
static struct {
	int alive;
	buf out;
	size_t outpos;
	struct creq *q;          /* ring of requests waiting for a reply */
	size_t head, n, cap;
	unsigned long todo;      /* "t" requests among them */
} cl;

static sched pq[NCHAN], pqdone, pqfail;

static int clean_req(char type, unsigned long id, unsigned char chans)
{
	if (cl.n == cl.cap) {
		size_t cap = cl.cap ? cl.cap * 2 : 64, i;
		struct creq *q;
		if (cap > (size_t)-1 / sizeof *q) return -1;
		q = malloc(cap * sizeof *q);
		if (!q) return -1;
		for (i = 0; i < cl.n; i++) q[i] = cl.q[(cl.head + i) % cl.cap];
		free(cl.q);
		cl.q = q;
		cl.head = 0;
		cl.cap = cap;
	}
	if (buf_putc(&cl.out, type) < 0 || buf_putnum(&cl.out, id) < 0 || buf_put0(&cl.out) < 0) return -1;
	cl.q[(cl.head + cl.n) % cl.cap] = (struct creq){ type, chans, id };
	cl.n++;
	if (type == 't') cl.todo++;
	return 0;
}

/* Is an "m" request for id waiting for its reply? */
static int clean_pending(unsigned long id)
{
	size_t i;
	for (i = 0; i < cl.n; i++) {
		struct creq *r = &cl.q[(cl.head + i) % cl.cap];
		if (r->type == 'm' && r->id == id) return 1;
	}
	return 0;
}

static void schedule(unsigned long id, unsigned char chans, time_t when);

static void clean_reply(char ch)
{
	struct creq r;
	if (!cl.n) { slog_puts("warning: unexpected reply from qmail-clean\n"); return; }
	r = cl.q[cl.head];
	cl.head = (cl.head + 1) % cl.cap;
	cl.n--;
	if (r.type == 't') cl.todo--;
	if (ch != '+') {
		/* t: todo/N stays, so the next todo scan redoes the message */
		slog_warn("qmail-clean unable to clean up ", r.type == 't' ? "todo" : "mess", r.id, "");
		return;
	}
	if (r.type == 't') schedule(r.id, r.chans, now);
}

/* ---- channels, jobs, deliveries ---------------------------------------- */

struct del { int used; int job; unsigned long delid; off_t mpos; buf recip; };
struct job {
	int refs;                /* 0: free */
	unsigned long id;
	int chan, fd;            /* fd: the channel file, read-write */
	time_t retry;
	buf sender;
	unsigned long numtodo;   /* recipients started and not done */
	int hiteof, dying, marked;
};
struct chan {
	int fdout, fdin;
	int alive;               /* a spawn answers on this channel */
	int present;             /* 0: no qmail-rspawn at all */
	buf out;                 /* requests not yet written */
	size_t outpos;
	spawnrep rd;             /* reports being read */
	unsigned long used;      /* recipients in delivery */
	unsigned long jobs;      /* messages in delivery */
	struct del *d;           /* cap slots (see tables) */
	unsigned long cap;
	unsigned long *freeslot, nfree;   /* the slots not in use */
	struct {                 /* the message whose recipients are being started */
		unsigned long id;    /* 0: none */
		int job;
		off_t mpos;
		io_in in;
	} pass;
};
static struct chan ch[NCHAN];
static struct job *jobs;         /* jobcap entries (see tables) */
static int jobcap;
static int *freejob, nfreejob;   /* the jobs not in use */
static unsigned long masterdelid = 1;
static buf rec;

static void status(void)
{
	int c;
	slog_puts("status:");
	for (c = 0; c < NCHAN; c++) {
		slog_puts(c ? " remote " : " local ");
		/* remote: qmail-rspawn runs at most conc connections for the
		 * recipients it holds (see window), so that is the most shown */
		slog_num(ch[c].used < conc[c] ? ch[c].used : conc[c]);
		slog_puts("/");
		slog_num(conc[c]);
	}
	if (flagexit) slog_puts(" exitasap");
	slog_puts("\n");
}

static void schedule(unsigned long id, unsigned char chans, time_t when)
{
	int c;
	for (c = 0; c < NCHAN; c++)
		if (chans & (1 << c))
			while (sched_add(&pq[c], id, when) < 0) { slog_puts("alert: out of memory, sleeping...\n"); sleep(10); }
	if (!chans)
		while (sched_add(&pqdone, id, when) < 0) { slog_puts("alert: out of memory, sleeping...\n"); sleep(10); }
}
static void later(sched *q, unsigned long id, time_t when)
{
	while (sched_add(q, id, when) < 0) { slog_puts("alert: out of memory, sleeping...\n"); sleep(10); }
}

static void unmark(int j);


/* The delivery tables, sized from control/concurrency* (at start and on
 * HUP): a channel's slots from its concurrency, the jobs (one open
 * channel file each: a message in delivery on a channel) from both plus
 * one per channel for the message being started, as far as the limit on
 * open descriptors allows. Tables grow and never shrink, so a slot or a
 * job in use stays where it is; a lower concurrency only starts fewer.
 * 0, or -1 out of memory (the concurrency is cut to the table). */
static int tables(void)
{
	static int fdwarned;
	unsigned long want, fdmax;
	int c, r = 0;

	for (c = 0; c < NCHAN; c++) {
		struct chan *h = &ch[c];
		unsigned long s;
		struct del *d;
		unsigned long *f;
		unsigned long w = window(c);
		if (w <= h->cap) continue;
		d = realloc(h->d, w * sizeof *d);
		if (d) h->d = d;
		f = d ? realloc(h->freeslot, w * sizeof *f) : 0;
		if (f) h->freeslot = f;
		if (!d || !f) {
			conc[c] = c ? h->cap / REMOTE_WINDOW : h->cap;
			if (!conc[c] && h->cap) conc[c] = 1;
			r = -1;
			continue;
		}
		for (s = w; s-- > h->cap;) {   /* the lowest slot on top */
			memset(&h->d[s], 0, sizeof h->d[s]);
			h->freeslot[h->nfree++] = s;
		}
		h->cap = w;
	}
	want = jobmax(0) + jobmax(1) + NCHAN;
	fdmax = fd_limit_raise(want + FD_RESERVE);
	if (fdmax < want + FD_RESERVE) {
		if (!fdwarned++) {
			slog_puts("warning: the limit on open files (");
			slog_num(fdmax);
			slog_puts(") allows fewer messages in delivery at once than the concurrency asks for\n");
		}
		want = fdmax > FD_RESERVE + NCHAN ? fdmax - FD_RESERVE : NCHAN;
	}
	if (want > (unsigned long)jobcap) {
		struct job *jb = realloc(jobs, want * sizeof *jb);
		int *f;
		int j;
		if (jb) jobs = jb;
		f = jb ? realloc(freejob, want * sizeof *f) : 0;
		if (f) freejob = f;
		if (!jb || !f) return -1;
		for (j = (int)want; j-- > jobcap;) {
			memset(&jobs[j], 0, sizeof jobs[j]);
			freejob[nfreejob++] = j;
		}
		jobcap = (int)want;
	}
	return r;
}

static int del_avail(int c)
{
	if (!ch[c].present) return ch[c].nfree > 0;   /* deferred on the spot */
	return ch[c].alive && ch[c].used < window(c);
}

/* Whether channel c may open one more message for delivery. */
static int job_avail_chan(int c) { return nfreejob > 0 && ch[c].jobs < jobmax(c); }

/* The last reference to a job is gone: the channel file is finished
 * (every recipient done: remove it, and the message may be done) or goes
 * back to the schedule for its next retry. */
static void job_close(int j)
{
	struct job *jb = &jobs[j];
	struct stat st;
	int c = jb->chan;

	if (--jb->refs > 0) return;
	freejob[nfreejob++] = j;   /* free again once this function is done */
	ch[c].jobs--;
	if (jb->hiteof && !jb->numtodo) {
		/* The marks need no fsync: the file goes, and the message is
		 * gone only once its info file is removed (fsynced) later.
		 * It goes before the close lets go of its lock: qmail-qctl,
		 * once it has the lock, then finds the name gone (qctl.h). */
		unmark(j);
		if (unlink(qfn(chandir[c], jb->id)) < 0 && errno != ENOENT) {
			close(jb->fd);
			slog_warn("unable to unlink ", chandir[c], jb->id, "; will try again later");
			later(&pq[c], jb->id, now + SLEEP_SYSFAIL);
			return;
		}
		close(jb->fd);
		if (stat(qfn(chandir[1 - c], jb->id), &st) == 0) return;   /* other channel busy */
		if (errno != ENOENT) slog_warn("unable to stat ", chandir[1 - c], jb->id, "");
		later(&pqdone, jb->id, now);
		return;
	}
	if (jb->marked && fsync(jb->fd) < 0) slog_warn("trouble fsyncing ", chandir[c], jb->id, "");
	unmark(j);
	close(jb->fd);
	later(&pq[c], jb->id, jb->retry);
}

/* Group commit of the 'D' marks. A mark only keeps a recipient from being
 * delivered again after a crash (nothing else relies on it: a failure is
 * fsynced in bounce/N before its mark is written, and a message's files
 * go only with its channel files), so it need not be durable at once:
 * the marks of every open channel file are fsynced together, once the
 * oldest of them is MARK_SYNC_MS old (the loop wakes for it), when a job
 * goes back to the schedule, and before exit. A power loss can then
 * repeat at most the deliveries reported in the last MARK_SYNC_MS, and
 * a fan-out to thousands of recipients costs a few fsyncs, not one per
 * loop. msnow() is a monotonic clock in milliseconds. */
static long long msnow(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
static unsigned long unsynced;    /* jobs with marks not yet fsynced */
static long long unsynced_since;  /* msnow() when the oldest was written */

static void unmark(int j)
{
	if (!jobs[j].marked) return;
	jobs[j].marked = 0;
	unsynced--;
}

/* The time left (ms) before the marks must be synced, or -1: none wait. */
static long long marks_due(void)
{
	long long left;
	if (!unsynced) return -1;
	left = unsynced_since + MARK_SYNC_MS - msnow();
	return left > 0 ? left : 0;
}

static void sync_marks(int force)
{
	int j;
	if (!unsynced || (!force && marks_due() > 0)) return;
	for (j = 0; j < jobcap; j++)
		if (jobs[j].refs && jobs[j].marked) {
			if (fsync(jobs[j].fd) < 0) slog_warn("trouble fsyncing ", chandir[jobs[j].chan], jobs[j].id, "");
			unmark(j);
		}
	unsynced = 0;
}

static void mark(int j, off_t pos)
{
	if (pwrite(jobs[j].fd, "D", 1, pos) != 1) {
		slog_warn("trouble marking ", chandir[jobs[j].chan], jobs[j].id, "; message will be delivered twice!");
		return;
	}
	if (jobs[j].marked) return;
	jobs[j].marked = 1;
	if (!unsynced++) unsynced_since = msnow();
}

/* A recipient as the sender addressed it: a local one without the
 * virtualdomains prepend. It is what bounces name and what VERP encodes. */
static const char *addressed(int c, const char *recip)
{
	return c ? recip : route_unprepend(&rt, recip);
}

/* Append the failure to bounce/N and fsync it (and bounce/ when the file
 * is new) before the recipient may be marked done. 0 ok, -1 failed. */
static int addbounce(unsigned long id, const char *recip, const char *text, size_t n)
{
	static buf b;
	struct stat st;
	int fd, r = -1;

	b.len = 0;
	if (bounce_block(&b, recip, text, n) < 0) goto out;
	fd = open(qfn2("bounce", id), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) goto out;
	if (fstat(fd, &st) == 0 && write_all(fd, b.s, b.len) == 0 && fsync(fd) == 0 &&
	    (st.st_size || fsync_dir("bounce") == 0))
		r = 0;
	close(fd);
out:
	if (r < 0) slog_puts("alert: unable to append to bounce message; will try again later\n");
	return r;
}

static void report(int c, unsigned long slot, char st, const char *text, size_t n);

/* Start the delivery of recip (at mpos in the channel file) for job j:
 * 0, or -1 when it could not (no slot, out of memory; logged). */
static int del_start(int c, int j, off_t mpos, const char *recip)
{
	struct chan *h = &ch[c];
	static buf s;   /* the delivery's sender (VERP: its own per recipient) */
	unsigned long i;

	if (!h->nfree) return -1;
	i = h->freeslot[h->nfree - 1];
	if (buf_copys(&h->d[i].recip, recip) < 0 || verp_sender(&s, jobs[j].sender.s, addressed(c, recip)) < 0) {
		slog_puts("alert: out of memory, sleeping...\n");
		sleep(10);
		return -1;
	}
	h->nfree--;
	h->d[i].used = 1;
	h->d[i].job = j;
	h->d[i].delid = masterdelid++;
	h->d[i].mpos = mpos;
	jobs[j].refs++;
	jobs[j].numtodo++;
	h->used++;
	slog_puts("starting delivery "); slog_num(h->d[i].delid);
	slog_puts(": msg "); slog_num(jobs[j].id);
	slog_puts(c ? " to remote " : " to local ");
	slog_safe(recip, strlen(recip));
	slog_puts("\n");
	status();
	if (!h->present) {
		report(c, i, 'Z', norspawn, strlen(norspawn));
	} else if (spawnreq_put(&h->out, i, jobs[j].id, s.s, recip) < 0) {
		slog_puts("alert: out of memory, sleeping...\n");
		report(c, i, 'Z', "qmail-send out of memory (#4.3.0)", 33);   /* 33 = its length */
	}
	return 0;
}

/* A finished delivery: log it, record it, free its slot. */
static void report(int c, unsigned long slot, char st, const char *text, size_t n)
{
	struct chan *h = &ch[c];
	struct del *d = &h->d[slot];
	struct job *jb = &jobs[d->job];
	static buf t;

	/* qmail's reports end with a line end (the log shows it as '/').
	 * A spawn sends one line with its line ends written as '/'
	 * (src/mail/spawn.h), so a final '/' is that line end again and a
	 * text without one gets it: the log then reads exactly as qmail's
	 * and the bounce text has no stray '/'. */
	if (n && (text[n - 1] == '/' || text[n - 1] == '\n')) n--;
	t.len = 0;
	if (buf_put(&t, text, n) < 0 || (n && buf_putc(&t, '\n') < 0)) {
		t.len = 0;
		st = 'Z';
	}
	if (st == 'Z' && jb->dying) {
		/* past queuelifetime: this was the last try */
		if (buf_puts(&t, toolong) < 0 || buf_putc(&t, '\n') < 0) t.len = 0;
		st = 'D';
	}
	slog_puts("delivery "); slog_num(d->delid);
	switch (st) {
	case 'K':
		slog_puts(": success: "); slog_safe(t.s, t.len); slog_puts("\n");
		mark(d->job, d->mpos);
		jb->numtodo--;
		break;
	case 'Z':
		slog_puts(": deferral: "); slog_safe(t.s, t.len); slog_puts("\n");
		break;
	case 'D':
		slog_puts(": failure: "); slog_safe(t.s, t.len); slog_puts("\n");
		if (addbounce(jb->id, addressed(c, d->recip.s), t.s, t.len) == 0) {
			mark(d->job, d->mpos);
			jb->numtodo--;
		}
		break;
	default:
		slog_puts(": report mangled, will defer\n");
	}
	d->used = 0;
	h->used--;
	h->freeslot[h->nfree++] = slot;
	job_close(d->job);
	status();
}

static void spawndied(int c)
{
	slog_puts("alert: oh no! lost spawn connection! dying...\n");
	ch[c].alive = 0;
	flagexit = 1;
}

/* A report from channel *(int *)ctx. */
static void onreport(void *ctx, unsigned long slot, char st, const char *text, size_t n)
{
	int c = *(int *)ctx;
	if (slot >= ch[c].cap || !ch[c].d[slot].used)
		slog_puts("warning: internal error: delivery report out of range\n");
	else
		report(c, slot, st, text, n);
}

static void del_read(int c)
{
	char b[4096];
	ssize_t r = read(ch[c].fdin, b, sizeof b);

	if (r < 0) { if (errno != EINTR && errno != EAGAIN) spawndied(c); return; }
	if (r == 0) { spawndied(c); return; }
	spawnrep_feed(&ch[c].rd, b, (size_t)r, onreport, &c);
}

/* Start deliveries for due messages while slots and jobs are free. */
static void pass_chan(int c)
{
	struct chan *h = &ch[c];
	sched_ent e;
	buf sender = BUF_INIT;
	time_t birth;

	while (!flagexit) {
		size_t used;
		int r, j;
		if (!h->pass.id) {
			int fd;
			if (!job_avail_chan(c) || !sched_min(&pq[c], &e) || e.when > now) break;
			if (h->present && !del_avail(c)) break;
			sched_delmin(&pq[c]);
			fd = open(qfn(chandir[c], e.id), O_RDWR | O_CLOEXEC);
			if (fd < 0) {
				if (errno == ENOENT) { later(&pqdone, e.id, now); continue; }
				slog_warn("trouble opening ", chandir[c], e.id, "; will try again later");
				later(&pq[c], e.id, now + SLEEP_SYSFAIL);
				continue;
			}
			/* qmail-qctl (src/mail/qctl.h): the file's lock is ours
			 * until the job closes, so nothing marks its recipients
			 * while we deliver them; if qmail-qctl has it, come back
			 * soon. Under the lock, a held message waits. */
			if (lock_exnb(fd) < 0) {
				int busy = errno == EWOULDBLOCK;
				close(fd);
				if (!busy) slog_warn("trouble locking ", chandir[c], e.id, "; will try again later");
				later(&pq[c], e.id, now + (busy ? QCTL_BUSY_RETRY : SLEEP_SYSFAIL));
				continue;
			}
			if ((r = qctl_held(e.id)) != 0) {
				close(fd);
				if (r < 0) slog_warn("unable to stat ", QCTL_HOLDDIR, e.id, "; will try again later");
				later(&pq[c], e.id, now + (r > 0 ? QCTL_HOLD_RECHECK : SLEEP_SYSFAIL));
				continue;
			}
			if (!sendbounce_info(e.id, &sender, &birth)) {
				close(fd);
				later(&pq[c], e.id, now + SLEEP_SYSFAIL);
				continue;
			}
			j = freejob[--nfreejob];
			ch[c].jobs++;
			jobs[j].refs = 1;
			jobs[j].id = e.id;
			jobs[j].chan = c;
			jobs[j].fd = fd;
			jobs[j].numtodo = 0;
			jobs[j].hiteof = jobs[j].marked = 0;
			jobs[j].retry = sched_retry(birth, now, chanskip[c]);
			jobs[j].dying = now > birth && (unsigned long long)(now - birth) > lifetime;
			if (buf_copy(&jobs[j].sender, sender.s, sender.len) < 0) {
				jobs[j].hiteof = 0;
				job_close(j);
				break;
			}
			h->pass.id = e.id;
			h->pass.job = j;
			h->pass.mpos = 0;
			in_init(&h->pass.in, fd, 0);
		}
		if (!del_avail(c)) break;
		j = h->pass.job;
		r = qrec_get(&h->pass.in, &rec, REC_MAX, &used);
		if (r == 1 && rec.s[0] == 'T') {
			if (del_start(c, j, h->pass.mpos, rec.s + 1) < 0) {
				/* not started, so not skipped: the message comes
				 * back later and its unmarked recipients with it */
				jobs[j].retry = now + SLEEP_SYSFAIL;
				h->pass.id = 0;
				job_close(j);
				break;
			}
		} else if (r == 1 && rec.s[0] == 'D') {
			;
		} else {
			if (r == 0) jobs[j].hiteof = 1;
			else if (r == 1) slog_warn("unknown record type in ", chandir[c], jobs[j].id, "!");
			else slog_warn("trouble reading ", chandir[c], jobs[j].id, "; will try again later");
			h->pass.id = 0;
			job_close(j);
			continue;
		}
		h->pass.mpos += (off_t)used;
	}
	buf_free(&sender);
}

/* ---- bounces and finished messages ------------------------------------- */

/* Message id may be done: every channel file gone. Bounce, remove info,
 * then (after the info directories are fsynced) ask qmail-clean. */
static void done_do(void)
{
	sched_ent e;
	struct stat st;
	unsigned long ids[TODO_BATCH];
	size_t n = 0, i;

	while (n < TODO_BATCH && sched_min(&pqdone, &e) && e.when <= now) {
		int c, busy = 0, k;
		sched_delmin(&pqdone);
		for (c = 0; c < NCHAN; c++) {
			if (stat(qfn(chandir[c], e.id), &st) == 0) busy = 1;
			else if (errno != ENOENT) { slog_warn("unable to stat ", chandir[c], e.id, "; will try again later"); busy = 2; }
		}
		if (stat(qfn("todo", e.id), &st) == 0) busy = 1;
		if (busy == 2) { later(&pqdone, e.id, now + SLEEP_SYSFAIL); continue; }
		if (busy) continue;
		if (stat(qfn("info", e.id), &st) < 0) {
			if (errno != ENOENT) later(&pqdone, e.id, now + SLEEP_SYSFAIL);
			continue;
		}
		k = sendbounce_inject(e.id, &bcfg, now);
		if (k == 2) { later(&pqdone, e.id, now); break; }   /* more bounces: after the reports */
		if (!k) { later(&pqdone, e.id, now + SLEEP_SYSFAIL); continue; }
		slog_puts("end msg "); slog_num(e.id); slog_puts("\n");
		/* A hold file left behind would hold the next message that
		 * gets this number; one a crash keeps is removed at start. */
		if (unlink(qfn2(QCTL_HOLDDIR, e.id)) < 0 && errno != ENOENT)
			slog_warn("unable to unlink ", QCTL_HOLDDIR, e.id, "");
		if (unlink(qfn("info", e.id)) < 0) {
			slog_warn("unable to unlink ", "info", e.id, "; will try again later");
			later(&pqdone, e.id, now + SLEEP_SYSFAIL);
			continue;
		}
		dirty[0][e.id % QUEUE_SPLIT] = 1;
		ids[n++] = e.id;
	}
	if (!n) return;
	/* If the removal of info/S/N were lost in a crash after qmail-clean
	 * removed the message, the queue would hold an info without a message. */
	if (syncdirs() < 0) {
		for (i = 0; i < n; i++) later(&pqdone, ids[i], now + SLEEP_SYSFAIL);
		return;
	}
	for (i = 0; i < n; i++)
		if (clean_req('m', ids[i], 0) < 0) later(&pqdone, ids[i], now + SLEEP_SYSFAIL);
}

/* ---- new messages: todo/ ------------------------------------------------ */

static DIR *tododir;
static int todowanted = 1;
static time_t nexttodo;

static preproc pp = PREPROC_INIT;

/* Preprocess todo/N (src/mail/preproc.h) and log it. Returns the
 * channels it has recipients in (bit 0 local, bit 1 remote) plus 4, or 0
 * when it could not be done (logged; todo/N stays for the next scan). */
static int todo_one(unsigned long id)
{
	int r = preproc_todo(&pp, id, &rt);
	if (r == 0) return 0;
	if (r < 0) {
		slog_puts("warning: "); slog_puts(pp.what); slog_puts(pp.file.s); slog_puts("\n");
		return 0;
	}
	slog_puts("new msg "); slog_num(id); slog_puts("\n");
	slog_puts("info msg "); slog_num(id);
	slog_puts(": bytes "); slog_num(pp.bytes);
	slog_puts(" from <"); slog_safe(pp.sender.s, pp.sender.len);
	slog_puts("> qp "); slog_num(pp.pid);
	slog_puts(" uid "); slog_num(pp.uid);
	slog_puts("\n");
	dirty[0][id % QUEUE_SPLIT] = 1;
	if (pp.chans & 1) dirty[1][id % QUEUE_SPLIT] = 1;
	if (pp.chans & 2) dirty[2][id % QUEUE_SPLIT] = 1;
	return pp.chans | 4;
}

static int flushout(int fd, buf *b, size_t *pos);

/* Between two todo entries: read the reports that are there and start
 * what they make room for, so preprocessing never holds up deliveries. */
static void service(void)
{
	struct pollfd p[NCHAN];
	int c, n = 0, idx[NCHAN], i;

	for (c = 0; c < NCHAN; c++)
		if (ch[c].alive) { p[n] = (struct pollfd){ ch[c].fdin, POLLIN, 0 }; idx[n++] = c; }
	if (n && poll(p, (nfds_t)n, 0) > 0)
		for (i = 0; i < n; i++) if (p[i].revents) del_read(idx[i]);
	sync_marks(0);
	now = time(0);
	for (c = 0; c < NCHAN; c++) {
		pass_chan(c);
		if (ch[c].alive && flushout(ch[c].fdout, &ch[c].out, &ch[c].outpos) < 0) spawndied(c);
	}
}

static void todo_do(void)
{
	unsigned long ids[TODO_BATCH];
	unsigned char fl[TODO_BATCH];
	size_t n = 0, i;
	struct dirent *de;

	if (flagexit || cl.todo || !cl.alive) return;
	if (!tododir) {
		if (!todowanted && now < nexttodo) return;
		todowanted = 0;
		tododir = opendir("todo");
		if (!tododir) {
			slog_puts("alert: unable to opendir todo, will try again in ten seconds\n");
			nexttodo = now + 10;
			return;
		}
		nexttodo = now + SLEEP_TODO;
	}
	while (n < TODO_BATCH) {
		unsigned long id;
		size_t len;
		int f;
		errno = 0;
		de = readdir(tododir);
		if (!de) { closedir(tododir); tododir = 0; break; }
		len = strlen(de->d_name);
		if (scan_ulong(de->d_name, len, &id) != len || !id) continue;
		f = todo_one(id);
		service();
		if (!f) continue;
		ids[n] = id;
		fl[n++] = (unsigned char)(f & 3);
	}
	if (!n) return;
	/* info/S, local/S, remote/S must hold their new entries before
	 * todo/N goes: otherwise a crash could lose the message. */
	if (syncdirs() < 0) { nexttodo = now + 10; return; }   /* todo/N stay: done again */
	for (i = 0; i < n; i++)
		if (clean_req('t', ids[i], fl[i]) < 0) slog_puts("alert: out of memory\n");
}

/* ---- start: resume the queue, clear what a crash left ------------------ */

static void pqadd(unsigned long id)
{
	struct stat st;
	int c, chans = 0;

	if (stat(qfn("todo", id), &st) == 0) return;   /* preprocessing is redone */
	for (c = 0; c < NCHAN; c++) {
		if (stat(qfn(chandir[c], id), &st) == 0) {
			later(&pq[c], id, st.st_mtime);
			chans = 1;
		} else if (errno != ENOENT) {
			slog_warn("unable to stat ", chandir[c], id, "; will try again later");
			later(&pqfail, id, now + SLEEP_SYSFAIL);
			return;
		}
	}
	if (!chans) later(&pqdone, id, now);
}

/* For each file in dir/S/ (split) or dir/ (flat), call f with its number. */
static void eachfile(const char *dir, int split, void (*f)(unsigned long))
{
	int s;
	for (s = 0; s < (split ? QUEUE_SPLIT : 1); s++) {
		buf d = BUF_INIT;
		DIR *dd;
		struct dirent *de;
		if (buf_copys(&d, dir) < 0 || (split && (buf_putc(&d, '/') < 0 || buf_putnum(&d, (unsigned long long)s) < 0)))
			err_nomem();
		while (!(dd = opendir(d.s))) {
			slog_puts("alert: unable to opendir "); slog_puts(d.s); slog_puts(", sleeping...\n");
			slog_flush();
			sleep(10);
		}
		while ((de = readdir(dd))) {
			unsigned long id;
			size_t len = strlen(de->d_name);
			if (scan_ulong(de->d_name, len, &id) == len && id) f(id);
		}
		closedir(dd);
		buf_free(&d);
	}
}

/* local/S/N or remote/S/N without info/S/N: left when a crash lost the
 * removal of an old message's channel file, or (todo/N still there) by
 * a crash while preprocessing, which is redone from the start anyway.
 * Removing them keeps preproc.h's promise: no stale channel files. */
static void orphan_chan(unsigned long id, int c)
{
	struct stat st;
	if (stat(qfn("info", id), &st) == 0 || errno != ENOENT) return;
	if (unlink(qfn(chandir[c], id)) < 0) slog_warn("unable to unlink ", chandir[c], id, "");
}
static void orphan_local(unsigned long id) { orphan_chan(id, 0); }
static void orphan_remote(unsigned long id) { orphan_chan(id, 1); }

/* bounce/N without info/S/N: the bounce was queued (that comes first)
 * and the crash came before bounce/N was removed. */
static void orphan_bounce(unsigned long id)
{
	struct stat st;
	if (stat(qfn("info", id), &st) == 0 || errno != ENOENT) return;
	if (unlink(qfn2("bounce", id)) < 0) slog_warn("unable to unlink ", "bounce", id, "");
}

/* hold/N without info/N: the message ended (or a crash lost the removal
 * of hold/N), and a new message with its number must not be held. A
 * message in todo/ is never held (qmail-qctl refuses), so it goes too.
 * No hold/ (an instance from before qmail-qctl): nothing to do. */
static void orphan_hold(void)
{
	DIR *d = opendir(QCTL_HOLDDIR);
	struct dirent *de;
	if (!d) {
		if (errno != ENOENT) slog_puts("warning: unable to opendir " QCTL_HOLDDIR "\n");
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		unsigned long id;
		size_t len = strlen(de->d_name);
		if (scan_ulong(de->d_name, len, &id) != len || !id) continue;
		if (stat(qfn("info", id), &st) == 0 || errno != ENOENT) continue;
		if (unlink(qfn2(QCTL_HOLDDIR, id)) < 0) slog_warn("unable to unlink ", QCTL_HOLDDIR, id, "");
	}
	closedir(d);
}

/* ---- abandoned messages: mess/S/N that nobody owns ---------------------- */

static struct { int s; DIR *d; time_t next; } cu;

static void cleanup_do(void)
{
	struct dirent *de;
	int k;

	if (flagexit || !cl.alive) return;
	if (!cu.d) {
		buf d = BUF_INIT;
		if (now < cu.next) return;
		if (buf_copys(&d, "mess/") < 0 || buf_putnum(&d, (unsigned long long)cu.s) < 0) return;
		cu.d = opendir(d.s);
		buf_free(&d);
		if (!cu.d) { cu.next = now + SLEEP_SYSFAIL; return; }
	}
	for (k = 0; k < CLEANUP_BATCH; k++) {
		struct stat st;
		unsigned long id;
		size_t len;
		de = readdir(cu.d);
		if (!de) {
			closedir(cu.d);
			cu.d = 0;
			if (++cu.s == QUEUE_SPLIT) { cu.s = 0; cu.next = now + SLEEP_CLEANUP; }
			return;
		}
		len = strlen(de->d_name);
		if (scan_ulong(de->d_name, len, &id) != len || !id) continue;
		/* mess/S/N first: qmail-queue links todo/N before it removes
		 * its pid/ name, so one link and no todo/N means qmail-queue is
		 * done with it, and without info/S/N so are we (a crash came
		 * between the end of the message and qmail-clean's "m"). More
		 * links: qmail-queue may still be writing it, or died; after
		 * 36 hours (qmail's rule) it is abandoned either way. */
		if (stat(qfn("mess", id), &st) < 0) continue;
		if (st.st_nlink > 1 && now <= st.st_mtime + OSSIFIED) continue;
		if (stat(qfn("info", id), &st) == 0 || errno != ENOENT) continue;
		if (stat(qfn("todo", id), &st) == 0 || errno != ENOENT) continue;
		/* A message just finished may have its "m" on the way: a second
		 * one could, once the number is reused, remove a new message. */
		if (clean_pending(id)) continue;
		clean_req('m', id, 0);
	}
}

/* ---- exit ---------------------------------------------------------------- */

/* Keep each waiting message's next retry in its channel file's mtime. */
static void pqfinish(void)
{
	sched_ent e;
	int c;
	for (c = 0; c < NCHAN; c++)
		while (sched_min(&pq[c], &e)) {
			struct utimbuf ut;
			sched_delmin(&pq[c]);
			ut.actime = ut.modtime = e.when;
			if (utime(qfn(chandir[c], e.id), &ut) < 0 && errno != ENOENT)
				slog_warn("unable to utime ", chandir[c], e.id, "; message will be retried too soon");
		}
}

static int can_exit(void)
{
	int c;
	for (c = 0; c < NCHAN; c++)
		if (ch[c].alive && ch[c].used) return 0;
	return 1;
}

static void reread(void)
{
	route nr = ROUTE_INIT;
	const char *what;
	if (route_load(&nr, &what) < 0) {
		slog_puts("alert: unable to reread controls: "); slog_puts(what); slog_puts("\n");
		return;
	}
	route_free(&rt);
	rt = nr;
	if (readconc(&what) < 0) { slog_puts("alert: unable to reread "); slog_puts(what); slog_puts("\n"); }
	if (tables() < 0) slog_puts("alert: out of memory: concurrency not raised\n");
}

/* Write what is pending on a non-blocking descriptor. -1: peer gone. */
static int flushout(int fd, buf *b, size_t *pos)
{
	while (*pos < b->len) {
		ssize_t w = write(fd, b->s + *pos, b->len - *pos);
		if (w < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) return 0;
			return -1;
		}
		*pos += (size_t)w;
	}
	b->len = 0;
	*pos = 0;
	return 0;
}

/* "Try message id now", from qmail-qctl on lock/qctl: it was released,
 * requeued, or had recipients deleted or bounced. A job of it that is
 * open goes back to the schedule due now instead of at its retry. */
static void ctlreq(void *ctx, unsigned long id)
{
	int c, j;
	(void)ctx;
	for (c = 0; c < NCHAN; c++) qctl_due(&pq[c], id, now);
	for (j = 0; j < jobcap; j++)
		if (jobs[j].refs && jobs[j].id == id) jobs[j].retry = now;
}

static int fdopen_(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int main(void)
{
	const char *what;
	int c, fd, trig, ctl, mutex;
	qctl_in ctlin = { {0}, 0, 0 };
	sigset_t blocked, none;

	err_prog = "qmail-send";
	slog_init(0);
	for (fd = 0; fd <= 6; fd++) if (fd != 3 && fd != 4 && !fdopen_(fd)) {
		slog_puts("alert: cannot start: descriptors 0 to 6 must be open (run me from qmail-start)\n");
		slog_flush();
		_exit(111);
	}
	ch[0].fdout = 1; ch[0].fdin = 2;
	ch[1].fdout = 3; ch[1].fdin = 4;
	for (c = 0; c < NCHAN; c++) {
		ch[c].present = fdopen_(ch[c].fdout) && fdopen_(ch[c].fdin);
		if (!ch[c].present) {
			/* Hold the numbers with /dev/null before anything is
			 * opened, so no file (the mutex!) lands on them. */
			int n;
			close(ch[c].fdout);
			close(ch[c].fdin);
			n = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (n >= 0 && n != ch[c].fdout) dup2(n, ch[c].fdout);
			if (n >= 0 && n != ch[c].fdin) dup2(n, ch[c].fdin);
			if (n != ch[c].fdout && n != ch[c].fdin) close(n);
		}
		ch[c].alive = ch[c].present;
	}
	if (chdir(nq_home()) < 0) {
		slog_puts("alert: cannot start: unable to switch to home directory\n");
		slog_flush();
		_exit(111);
	}
	if (getcontrols(&what) < 0) {
		slog_puts("alert: cannot start: unable to read controls: "); slog_puts(what); slog_puts("\n");
		slog_flush();
		_exit(111);
	}
	if (tables() < 0) {
		slog_puts("alert: cannot start: out of memory for the delivery tables\n");
		slog_flush();
		_exit(111);
	}
	if (chdir("queue") < 0) {
		slog_puts("alert: cannot start: unable to switch to queue directory\n");
		slog_flush();
		_exit(111);
	}
	sig_ignore(SIGPIPE);
	sig_catch(SIGTERM, sigterm);
	sig_catch(SIGALRM, sigalrm);
	sig_catch(SIGHUP, sighup);
	sig_default(SIGCHLD);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGALRM);
	sigaddset(&blocked, SIGHUP);
	sigprocmask(SIG_BLOCK, &blocked, 0);   /* delivered only inside ppoll */
	sigemptyset(&none);
	umask(077);

	mutex = open("lock/sendmutex", O_WRONLY | O_CLOEXEC);   /* held until we exit */
	if (mutex < 0) { slog_puts("alert: cannot start: unable to open mutex\n"); slog_flush(); _exit(111); }
	if (lock_exnb(mutex) < 0) { slog_puts("alert: cannot start: qmail-send is already running\n"); slog_flush(); _exit(111); }

	if (!ch[0].present) { slog_puts("alert: cannot start: no qmail-lspawn on descriptors 1 and 2\n"); slog_flush(); _exit(111); }
	for (c = 0; c < NCHAN; c++) if (ch[c].present) fd_nonblock(ch[c].fdout, 1);
	cl.alive = 1;
	fd_nonblock(5, 1);
	for (fd = 0; fd <= 6; fd++) fd_cloexec(fd);   /* none of it is qmail-queue's business */
	trig = open("lock/trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (trig < 0) slog_puts("warning: unable to open lock/trigger; new mail is seen only every 25 minutes\n");
	/* Holding it open tells qmail-qctl that we speak qctl.h: without it
	 * qmail-qctl refuses to change the queue while we run. */
	ctl = open(QCTL_FIFO, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (ctl < 0) slog_puts("warning: unable to open " QCTL_FIFO "; qmail-qctl can change the queue only while qmail-send is stopped\n");

	eachfile("info", 1, pqadd);
	eachfile("local", 1, orphan_local);
	eachfile("remote", 1, orphan_remote);
	eachfile("bounce", 0, orphan_bounce);
	orphan_hold();
	now = time(0);
	cu.next = now;
	nexttodo = now;
	status();

	while (!flagexit || !can_exit()) {
		struct pollfd p[2 * NCHAN + 4];
		int np = 0, ip[2 * NCHAN + 4], kind[2 * NCHAN + 4];
		time_t wake;
		struct timespec ts;
		sched_ent e;

		now = time(0);
		if (flagrun) { flagrun = 0; for (c = 0; c < NCHAN; c++) sched_setall(&pq[c], now); }
		if (flagreread) { flagreread = 0; reread(); }

		for (c = 0; c < NCHAN; c++) pass_chan(c);
		sync_marks(0);   /* marks of deferrals made on the spot (no qmail-rspawn) */
		while (sched_min(&pqfail, &e) && e.when <= now) { sched_delmin(&pqfail); pqadd(e.id); }
		done_do();
		todo_do();
		cleanup_do();

		for (c = 0; c < NCHAN; c++)
			if (ch[c].alive && flushout(ch[c].fdout, &ch[c].out, &ch[c].outpos) < 0) spawndied(c);
		if (cl.alive && flushout(5, &cl.out, &cl.outpos) < 0) {
			slog_puts("alert: oh no! lost qmail-clean connection! dying...\n");
			cl.alive = 0;
			flagexit = 1;
		}
		slog_flush();

		/* when is there something to do without any descriptor waking us */
		wake = now + SLEEP_FOREVER;
		if (!flagexit) {
			for (c = 0; c < NCHAN; c++)
				if ((ch[c].pass.id || job_avail_chan(c)) && del_avail(c) && sched_min(&pq[c], &e) && e.when < wake)
					wake = e.when;
			if (sched_min(&pqdone, &e) && e.when < wake) wake = e.when;
			if (sched_min(&pqfail, &e) && e.when < wake) wake = e.when;
			if (!cl.todo && cl.alive) {
				if (tododir || todowanted) wake = now;
				else if (nexttodo < wake) wake = nexttodo;
			}
			if (cu.d) wake = now;
			else if (cu.next < wake) wake = cu.next;
		}
		if (flagexit && can_exit()) break;

		for (c = 0; c < NCHAN; c++) {
			if (!ch[c].alive) continue;
			p[np] = (struct pollfd){ ch[c].fdin, POLLIN, 0 }; kind[np] = 0; ip[np++] = c;
			if (ch[c].out.len) { p[np] = (struct pollfd){ ch[c].fdout, POLLOUT, 0 }; kind[np] = 1; ip[np++] = c; }
		}
		if (cl.alive) {
			p[np] = (struct pollfd){ 6, POLLIN, 0 }; kind[np] = 2; ip[np++] = 0;
			if (cl.out.len) { p[np] = (struct pollfd){ 5, POLLOUT, 0 }; kind[np] = 3; ip[np++] = 0; }
		}
		if (trig >= 0 && !flagexit) { p[np] = (struct pollfd){ trig, POLLIN, 0 }; kind[np] = 4; ip[np++] = 0; }
		if (ctl >= 0 && !flagexit) { p[np] = (struct pollfd){ ctl, POLLIN, 0 }; kind[np] = 5; ip[np++] = 0; }
		ts.tv_sec = wake > now ? wake - now : 0;
		ts.tv_nsec = 0;
		{
			long long left = marks_due();   /* wake to fsync the marks in time */
			if (left >= 0 && left < (long long)ts.tv_sec * 1000) {
				ts.tv_sec = (time_t)(left / 1000);
				ts.tv_nsec = (long)(left % 1000) * 1000000;
			}
		}
		if (ppoll(p, (nfds_t)np, &ts, &none) < 0) {
			if (errno != EINTR) { slog_puts("warning: trouble in select\n"); sleep(1); }
			continue;
		}
		now = time(0);
		for (fd = 0; fd < np; fd++) {
			if (!p[fd].revents) continue;
			switch (kind[fd]) {
			case 0: del_read(ip[fd]); break;
			case 1: break;   /* flushed at the top of the loop */
			case 2: {
				char b[256];
				ssize_t r = read(6, b, sizeof b), i;
				if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN))) {
					slog_puts("alert: oh no! lost qmail-clean connection! dying...\n");
					cl.alive = 0;
					flagexit = 1;
				}
				for (i = 0; i < r; i++) clean_reply(b[i]);
				break;
			}
			case 3: break;
			case 4: {
				char b[64];
				while (read(trig, b, sizeof b) > 0) ;
				todowanted = 1;
				break;
			}
			case 5: {
				char b[256];
				ssize_t r;
				while ((r = read(ctl, b, sizeof b)) > 0) qctl_feed(&ctlin, b, (size_t)r, ctlreq, 0);
				break;
			}
			}
		}
		sync_marks(0);   /* those that have waited long enough */
	}
	/* recipients not started yet are due at once after a restart */
	for (c = 0; c < NCHAN; c++)
		if (ch[c].pass.id) {
			ch[c].pass.id = 0;
			jobs[ch[c].pass.job].retry = now;
			job_close(ch[c].pass.job);
		}
	sync_marks(1);
	if (cl.alive) { fd_nonblock(5, 0); flushout(5, &cl.out, &cl.outpos); }
	pqfinish();
	slog_puts("status: exiting\n");
	slog_flush();
	_exit(0);
}
