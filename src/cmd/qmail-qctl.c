/* qmail-qctl: delete, bounce, hold, release and requeue queued messages,
 * chosen by number, sender or recipient, while nqmail runs
 * (qmail-qctl(8)).
 *
 * It works with qmail-send, never around it. The protocol is in
 * src/mail/qctl.h: recipients are marked done ('D') only under the
 * channel file's lock, which qmail-send holds for as long as deliveries
 * from that file are running, so a deletion never races with a delivery
 * and a delivery never starts for a deleted recipient; a held message
 * has a hold/N file; "try this message now" is a request on the pipe
 * lock/qctl. When qmail-send is not running, qmail-qctl holds
 * lock/sendmutex while it works and writes "now" into the channel
 * files' mtimes. When a qmail-send runs that does not read lock/qctl,
 * every change is refused: only stopping it makes them safe.
 *
 * It runs as root or qmails; as root it switches to qmails once the
 * queue's hold/ directory exists, so every file it creates belongs to
 * qmail-send's user. */
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/bounce.h"
#include "mail/envelope.h"
#include "mail/instance.h"
#include "mail/qctl.h"
#include "mail/qrec.h"
#include "mail/qscan.h"
#include "mail/queue.h"
#include "mail/route.h"
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#define USAGE "usage: qmail-qctl list|delete|bounce|hold|release|requeue [-a] [-f sender] [-r recipient] [-w seconds] [-m reason] [id ...]"
#define REC_MAX (ENVELOPE_ADDR_MAX + 8)
#define IDS_MAX 100000
#define REASON_DEFAULT "This message was removed from the queue by the postmaster. (#5.7.1)"

enum act { A_LIST, A_DELETE, A_BOUNCE, A_HOLD, A_RELEASE, A_REQUEUE };
static const char *actname[] = { "list", "delete", "bounce", "hold", "release", "requeue" };

static enum act action;
static int all;
static const char *fpat, *rpat, *reason = REASON_DEFAULT;
static unsigned long waitsecs = 60;
static unsigned long *ids;
static size_t nids;

static int running;          /* qmail-send runs (and reads lock/qctl) */
static int fifo = -1;        /* lock/qctl, when running */
static route rt = ROUTE_INIT;
static io_out out;
static time_t now;
static unsigned long acted, trouble;

static void put(const char *s)
{
	if (out_puts(&out, s) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}
static void putnum(unsigned long long n)
{
	char b[24];
	fmt_ulong(b, n);
	put(b);
}
/* Untrusted bytes: printable ASCII as is, anything else as '_'. */
static void putsafe(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = (s[i] >= 32 && s[i] <= 126) ? s[i] : '_';
		if (out_put(&out, &c, 1) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	}
}

static void msgwarn(unsigned long id, const char *what)
{
	char n[24];
	fmt_ulong(n, id);
	err_warn("#", n, ": ", what, (char *)0);
	trouble++;
}
static void msgwarnerr(unsigned long id, const char *what)
{
	char n[24];
	fmt_ulong(n, id);
	err_warnerr("#", n, ": ", what, (char *)0);
	trouble++;
}

/* ---- selection -------------------------------------------------------- */

/* Does addr match the pattern? fnmatch(3) without regard to case; a
 * pattern starting with '@' stands for every address at that domain,
 * and "<>" for the empty sender. */
static int match(const char *pat, const char *addr, size_t len)
{
	static buf p, a;
	if (str_eq(pat, "<>")) return len == 0;
	if (buf_copys(&p, pat[0] == '@' ? "*" : "") < 0 || buf_puts(&p, pat) < 0 ||
	    buf_copy(&a, addr, len) < 0)
		err_nomem();
	case_lower(p.s, p.len);
	case_lower(a.s, a.len);
	if (memchr(addr, 0, len)) return 0;
	return fnmatch(p.s, a.s, 0) == 0;
}

struct tally { unsigned long todo[3], rmatch; };

static int onrcpt(void *ctx, const qmsg *m, int chan, int done, const char *a, size_t n)
{
	struct tally *t = ctx;
	(void)m;
	if (done) return 0;
	t->todo[chan]++;
	if (rpat && match(rpat, a, n)) t->rmatch++;
	return 0;
}

static int selected(const qmsg *m, struct tally *t)
{
	size_t i;
	if (nids) {
		for (i = 0; i < nids; i++) if (ids[i] == m->id) break;
		if (i == nids) return 0;
	}
	if (fpat && !match(fpat, m->sender.s, m->sender.len)) return 0;
	memset(t, 0, sizeof *t);
	if (qscan_rcpts(m, onrcpt, t) < 0) { msgwarnerr(m->id, "unable to read its recipients"); return 0; }
	if (rpat && !t->rmatch) return 0;
	return 1;
}

/* ---- changing one message --------------------------------------------- */

static const char *chandir[2] = { "local", "remote" };

struct chanfile { int fd; };

/* Lock fd, waiting up to waitsecs. 0, or -1 (still busy or error). */
static int lockwait(int fd)
{
	unsigned long tries = waitsecs * 10;
	for (;;) {
		if (lock_exnb(fd) == 0) return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) return -1;
		if (!tries--) { errno = EWOULDBLOCK; return -1; }
		usleep(100000);
	}
}

/* Open and lock the channel files of id that exist, checking after the
 * lock that each name still leads to the file locked (qmail-send removes
 * a finished one). fd[c] -1: the message has no such file. 0 ok, -1 not
 * now (reported). */
static int lockchans(unsigned long id, int fd[2])
{
	buf fn = BUF_INIT;
	int c, r = 0;

	fd[0] = fd[1] = -1;
	for (c = 0; c < 2 && r == 0; c++) {
		struct stat a, b;
		queue_fn(&fn, chandir[c], id);
		fd[c] = open(fn.s, O_RDWR | O_CLOEXEC);
		if (fd[c] < 0) {
			if (errno != ENOENT) { msgwarnerr(id, "unable to open its recipients"); r = -1; }
			continue;
		}
		if (lockwait(fd[c]) < 0) {
			if (errno == EWOULDBLOCK)
				msgwarn(id, "deliveries are in progress and did not finish in time; try again, or with a longer -w");
			else
				msgwarnerr(id, "unable to lock its recipients");
			r = -1;
			continue;
		}
		if (fstat(fd[c], &a) < 0 || stat(fn.s, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
			/* finished while we waited: nothing left to do there */
			close(fd[c]);
			fd[c] = -1;
		}
	}
	buf_free(&fn);
	if (r < 0) for (c = 0; c < 2; c++) if (fd[c] >= 0) { close(fd[c]); fd[c] = -1; }
	return r;
}

static void unlockchans(int fd[2])
{
	int c;
	for (c = 0; c < 2; c++) if (fd[c] >= 0) { close(fd[c]); fd[c] = -1; }
}

/* One recipient to mark: where its 'T' is, and its address. */
struct mark { int chan; off_t pos; };

/* The T records of fd to mark (all, or those matching -r), appended to
 * marks; their bounce blocks to bb when bouncing; the T records left
 * unmarked counted in *left. 0, or -1 (errno). */
static int collect(int c, int fd, struct mark **marks, size_t *nm, size_t *cap, buf *bb, unsigned long *left)
{
	static buf rec;
	io_in in;
	off_t pos = 0;
	size_t used;
	int r;

	if (lseek(fd, 0, SEEK_SET) < 0) return -1;
	in_init(&in, fd, 0);
	while ((r = qrec_get(&in, &rec, REC_MAX, &used)) == 1) {
		if (rec.s[0] == 'T') {
			if (rpat && !match(rpat, rec.s + 1, rec.len - 1)) {
				(*left)++;
			} else {
				if (*nm == *cap) {
					size_t nc = *cap ? *cap * 2 : 64;
					struct mark *m;
					if (nc > (size_t)-1 / sizeof *m || !(m = realloc(*marks, nc * sizeof *m))) err_nomem();
					*marks = m;
					*cap = nc;
				}
				(*marks)[*nm].chan = c;
				(*marks)[(*nm)++].pos = pos;
				if (bb) {
					const char *rcpt = c == 0 ? route_unprepend(&rt, rec.s + 1) : rec.s + 1;
					if (bounce_block(bb, rcpt, reason, strlen(reason)) < 0) err_nomem();
				}
			}
		}
		pos += (off_t)used;
	}
	return r < 0 ? -1 : 0;
}

/* Append the blocks to bounce/N and make them durable before any mark:
 * a recipient marked done without its failure on disk would be lost. */
static int addbounce(unsigned long id, const buf *bb)
{
	buf fn = BUF_INIT;
	struct stat st;
	int fd, r = -1;

	fd = open(queue_fn(&fn, "bounce", id), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && write_all(fd, bb->s, bb->len) == 0 && fsync(fd) == 0 &&
		    (st.st_size || fsync_dir("bounce") == 0))
			r = 0;
		close(fd);
	}
	buf_free(&fn);
	return r;
}

/* delete and bounce: mark the chosen recipients done. Returns the
 * recipients marked, or -1 (reported). *left: recipients still to do. */
static long drop(unsigned long id, int fd[2], unsigned long *left)
{
	struct mark *marks = 0;
	size_t nm = 0, cap = 0, i;
	buf bb = BUF_INIT;
	int c;

	*left = 0;
	for (c = 0; c < 2; c++)
		if (fd[c] >= 0 && collect(c, fd[c], &marks, &nm, &cap, action == A_BOUNCE ? &bb : 0, left) < 0) {
			msgwarnerr(id, "unable to read its recipients");
			free(marks);
			buf_free(&bb);
			return -1;
		}
	if (nm && action == A_BOUNCE && addbounce(id, &bb) < 0) {
		msgwarnerr(id, "unable to write its bounce report; nothing changed");
		free(marks);
		buf_free(&bb);
		return -1;
	}
	buf_free(&bb);
	for (i = 0; i < nm; i++)
		if (pwrite(fd[marks[i].chan], "D", 1, marks[i].pos) != 1) {
			msgwarnerr(id, "unable to mark a recipient done");
			free(marks);
			return -1;
		}
	free(marks);
	for (c = 0; c < 2; c++)
		if (fd[c] >= 0 && fsync(fd[c]) < 0) { msgwarnerr(id, "unable to fsync its recipients"); return -1; }
	return (long)nm;
}

static int sethold(unsigned long id, int on)
{
	buf fn = BUF_INIT;
	int r = 0;
	qctl_holdfn(&fn, id);
	if (on) {
		int fd = open(fn.s, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || fsync(fd) < 0) r = -1;
		if (fd >= 0) close(fd);
	} else if (unlink(fn.s) < 0 && errno != ENOENT)
		r = -1;
	if (r == 0 && fsync_dir(QCTL_HOLDDIR) < 0) r = -1;
	buf_free(&fn);
	return r;
}

/* Ask for the message to be tried now: a request to the running
 * qmail-send, or, when it is stopped, the channel files' mtimes (its
 * next retry after a start). */
static void trynow(unsigned long id)
{
	buf fn = BUF_INIT;
	int c;
	if (running) {
		if (qctl_request(fifo, id) < 0) msgwarnerr(id, "unable to write to queue/" QCTL_FIFO);
		return;
	}
	for (c = 0; c < 2; c++) {
		struct utimbuf ut;
		ut.actime = ut.modtime = now;
		if (utime(queue_fn(&fn, chandir[c], id), &ut) < 0 && errno != ENOENT)
			msgwarnerr(id, "unable to set its retry time");
	}
	buf_free(&fn);
}

static void change(qmsg *m)
{
	int fd[2];
	long n = 0;
	unsigned long left = 0;
	struct stat st;
	buf fn = BUF_INIT;

	if (m->todo) {
		msgwarn(m->id, "qmail-send has not taken it from todo/ yet; try again when it has");
		return;
	}
	if (action == A_REQUEUE) {
		trynow(m->id);
		put("#"); putnum(m->id); put(m->held ? " requeued (still held)\n" : " requeued\n");
		acted++;
		return;
	}
	if (lockchans(m->id, fd) < 0) return;
	/* Under the locks: is it still the message we chose? */
	if (stat(queue_fn(&fn, "info", m->id), &st) < 0 || stat(queue_fn(&fn, "todo", m->id), &st) == 0) {
		unlockchans(fd);
		buf_free(&fn);
		put("#"); putnum(m->id); put(" left the queue meanwhile\n");
		return;
	}
	buf_free(&fn);
	switch (action) {
	case A_DELETE:
	case A_BOUNCE:
		n = drop(m->id, fd, &left);
		if (n < 0) break;
		/* nothing left to hold once every recipient is done */
		if (!left && m->held && sethold(m->id, 0) < 0) msgwarnerr(m->id, "unable to remove its hold file");
		unlockchans(fd);
		if (n) trynow(m->id);
		put("#"); putnum(m->id);
		put(action == A_DELETE ? " deleted " : " bounced ");
		putnum((unsigned long)n);
		put(n == 1 ? " recipient, " : " recipients, ");
		putnum(left); put(" left\n");
		acted++;
		break;
	case A_HOLD:
		if (sethold(m->id, 1) < 0) { msgwarnerr(m->id, "unable to create its hold file"); break; }
		put("#"); putnum(m->id); put(" held\n");
		acted++;
		break;
	case A_RELEASE:
		if (sethold(m->id, 0) < 0) { msgwarnerr(m->id, "unable to remove its hold file"); break; }
		unlockchans(fd);
		trynow(m->id);
		put("#"); putnum(m->id); put(" released\n");
		acted++;
		break;
	default:
		break;
	}
	unlockchans(fd);
}

static void list(const qmsg *m, const struct tally *t)
{
	put("#"); putnum(m->id);
	put("  age "); putnum(now > m->birth ? (unsigned long long)(now - m->birth) : 0);
	put("s  <"); putsafe(m->sender.s, m->sender.len); put(">  ");
	if (m->todo) { put("todo "); putnum(t->todo[QSCAN_TODO]); }
	else { put("local "); putnum(t->todo[QSCAN_LOCAL]); put(" remote "); putnum(t->todo[QSCAN_REMOTE]); }
	if (m->held) put("  held");
	if (m->bouncing) put("  bouncing");
	put("\n");
	acted++;
}

static int onmsg(void *ctx, qmsg *m)
{
	struct tally t;
	(void)ctx;
	if (!selected(m, &t)) return 0;
	if (action == A_LIST) list(m, &t);
	else change(m);
	return 0;
}

/* ---- start ------------------------------------------------------------ */

static void args(int argc, char **argv)
{
	int opt, k;
	if (argc < 2) err_die(EXIT_PERM, USAGE, (char *)0);
	for (k = 0; k <= A_REQUEUE; k++) if (str_eq(argv[1], actname[k])) break;
	if (k > A_REQUEUE) err_die(EXIT_PERM, "unknown action ", argv[1], "; ", USAGE, (char *)0);
	action = (enum act)k;
	optind = 2;
	while ((opt = getopt(argc, argv, "af:r:w:m:")) != -1)
		switch (opt) {
		case 'a': all = 1; break;
		case 'f': fpat = optarg; break;
		case 'r': rpat = optarg; break;
		case 'w': if (str_toul(optarg, &waitsecs) < 0 || waitsecs > 86400) err_die(EXIT_PERM, USAGE, (char *)0); break;
		case 'm':
			if (!*optarg || strlen(optarg) > 1000 || strchr(optarg, '\n')) err_die(EXIT_PERM, "-m: one line of at most 1000 bytes", (char *)0);
			reason = optarg;
			break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	if (optind < argc) {
		if (!(ids = calloc((size_t)(argc - optind), sizeof *ids))) err_nomem();
		for (; optind < argc; optind++) {
			const char *a = argv[optind] + (argv[optind][0] == '#');
			if (str_toul(a, &ids[nids]) < 0 || !ids[nids] || nids >= IDS_MAX)
				err_die(EXIT_PERM, "not a message number: ", argv[optind], (char *)0);
			nids++;
		}
	}
	/* A change needs a choice: "everything" must be asked for. */
	if (action != A_LIST && !all && !nids && !fpat && !rpat)
		err_die(EXIT_PERM, "say which messages: numbers, -f, -r, or -a for all; ", USAGE, (char *)0);
	if (action == A_LIST && !nids && !fpat && !rpat) all = 1;
}

/* Is qmail-send running? Not running: we keep its mutex until we exit.
 * Running: we need its side of the protocol (a reader on lock/qctl). */
static void findsend(void)
{
	int m = open("lock/sendmutex", O_WRONLY | O_CLOEXEC);
	if (m < 0) err_dieerr(EXIT_TEMP, "unable to open ", nq_home(), "/queue/lock/sendmutex", (char *)0);
	if (lock_exnb(m) == 0) { running = 0; return; }   /* m stays open: held */
	if (errno != EWOULDBLOCK) err_dieerr(EXIT_TEMP, "unable to lock queue/lock/sendmutex", (char *)0);
	close(m);
	running = 1;
	if (action == A_LIST) return;
	fifo = open(QCTL_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fifo < 0) {
		if (errno == ENXIO || errno == ENOENT)
			err_die(EXIT_TEMP, "qmail-send is running and does not read queue/" QCTL_FIFO
			        ", so it cannot be changed safely now; stop qmail-send (qmailctl stop) and try again", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to open queue/" QCTL_FIFO, (char *)0);
	}
}

/* As root in a root instance: make hold/ if a change needs it and it is
 * missing, then become qmails for the rest. */
static void privileges(void)
{
	nq_ids ids_;
	struct stat st;
	if (nq_ids_read(&ids_) < 0) err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/users/ids", (char *)0);
	if (action != A_LIST && stat(QCTL_HOLDDIR, &st) < 0) {
		if (errno != ENOENT) err_dieerr(EXIT_TEMP, "unable to stat queue/" QCTL_HOLDDIR, (char *)0);
		if (mkdir(QCTL_HOLDDIR, 0700) < 0 && errno != EEXIST)
			err_dieerr(EXIT_TEMP, "unable to create queue/" QCTL_HOLDDIR " (qmail-qfix makes it)", (char *)0);
		if (!ids_.single && geteuid() == 0 && chown(QCTL_HOLDDIR, ids_.uid[R_QMAILS], ids_.qmail) < 0)
			err_dieerr(EXIT_TEMP, "unable to chown queue/" QCTL_HOLDDIR, (char *)0);
		if (fsync_dir(".") < 0) err_dieerr(EXIT_TEMP, "unable to fsync queue/", (char *)0);
	}
	if (!ids_.single && geteuid() == 0) nq_become(&ids_, R_QMAILS);
}

int main(int argc, char **argv)
{
	const char *what = "", *w;

	err_prog = "qmail-qctl";
	args(argc, argv);
	if (action == A_BOUNCE && route_load(&rt, &w) < 0) err_dieerr(EXIT_TEMP, "unable to read ", w, (char *)0);
	if (chdir(nq_home()) < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), (char *)0);
	if (chdir("queue") < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), "/queue", (char *)0);
	privileges();
	findsend();
	out_init(&out, 1, 0);
	now = time(0);
	if (nids && !all) {
		/* numbers given: look at those messages only, not the whole queue */
		qmsg m = {0};
		size_t i;
		for (i = 0; i < nids; i++) {
			int r = qscan_one(ids[i], &m);
			if (r < 0) { msgwarnerr(ids[i], "unable to read it"); continue; }
			if (r > 0) onmsg(0, &m);
		}
		qmsg_free(&m);
	} else if (qscan_each(onmsg, 0, &what) < 0) {
		if (errno == EACCES || errno == EPERM)
			err_dieerr(EXIT_TEMP, "unable to read queue/", what, " (qmail-qctl must run as root or as qmails)", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to read queue/", what, (char *)0);
	}
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	if (!acted && !trouble && !all) {
		err_warn("no queued message matched", (char *)0);
		return 1;
	}
	return trouble ? EXIT_TEMP : 0;
}
