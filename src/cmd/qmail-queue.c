/* qmail-queue: put one message and its envelope into the queue, durably,
 * or fail and leave nothing behind (qmail-queue(8)).
 *
 * The message comes on fd 0, the envelope ("Fsender\0Trcpt\0...\0\0") on
 * fd 1. The program is set-uid qmailq in a root instance, so it trusts
 * nothing it inherits: not the environment (nq_home() ignores it for a
 * set-id program), not the signal mask, a pending alarm or a closed fd 2.
 *
 * The steps, and why they come in this order (see doc/architecture.md,
 * state 1 "being queued" and state 2 "queued"):
 *   pid/P.T.K   created exclusively; its inode number N names the message
 *   mess/S/N    a second name for it; the Received line and the message are
 *               written and fsynced
 *   intd/N      the envelope, "u" uid, "p" pid, F and T records, final NUL,
 *               checked as it streams, then fsynced
 *   mess/S, intd  the directories are fsynced
 *   todo/N      a link to intd/N: from here on qmail-send may see it
 *   todo/       fsynced; only then is success reported
 *   pid/P.T.K   removed, lock/trigger poked, exit 0.
 * Every failure before todo/N exists removes intd/N, mess/S/N and the pid
 * file and exits with qmail's code for the cause; a crash instead leaves
 * them for the 36-hour cleanups of qmail-clean and qmail-send. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "lib/fs.h"
#include "lib/sig.h"
#include "mail/date822.h"
#include "mail/envelope.h"
#include "mail/instance.h"
#include "mail/queue.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* qmail-queue(8)'s exit codes. */
#define QQ_TOOLONG 11
#define QQ_NOMEM 51
#define QQ_TIMEOUT 52
#define QQ_WRITE 53
#define QQ_READ 54
#define QQ_CONFIG 55
#define QQ_HOME 61
#define QQ_QUEUE 62
#define QQ_PID 63
#define QQ_MESS 64
#define QQ_INTD 65
#define QQ_TODO 66
#define QQ_BUG 81
#define QQ_FORMAT 91

/* Well below the 36 hours after which the cleaners treat our files as
 * abandoned, so they never remove a message still being written. */
#define DEATH (24 * 60 * 60)

/* The one buffer the message and the envelope pass through: memory stays
 * the same whatever the size of the message or of its lines. */
static char chunk[65536];

/* Names of what we created, and flags the cleanup (which may run in a
 * signal handler) reads. The names are complete before a flag is set. */
static buf pidfn = BUF_INIT, messfn = BUF_INIT, intdfn = BUF_INIT, todofn = BUF_INIT;
static buf messdir = BUF_INIT;
static int messfd = -1, intdfd = -1;
static volatile sig_atomic_t made_pid, made_mess, made_intd;

static void cleanup(void)
{
	/* Truncate before unlinking: if an unlink fails the cleaners later
	 * find an empty file, never a message that looks complete. */
	if (made_intd) { (void)!ftruncate(intdfd, 0); unlink(intdfn.s); }
	if (made_mess) { (void)!ftruncate(messfd, 0); unlink(messfn.s); }
	if (made_pid) unlink(pidfn.s);
	made_pid = made_mess = made_intd = 0;
}

static _Noreturn void die(int code, const char *what, const char *fn)
{
	cleanup();
	err_die(code, what, fn, (char *)0);
}

static _Noreturn void die_sys(int code, const char *what, const char *fn)
{
	int e = errno;
	cleanup();
	errno = e;
	err_dieerr(code, what, fn, (char *)0);
}

static void nomem(void) { die(QQ_NOMEM, "out of memory", ""); }

static void on_alarm(int sig)
{
	(void)sig;
	cleanup();
	err_die(QQ_TIMEOUT, "timeout: message not queued", (char *)0);
}

static void on_bug(int sig)
{
	(void)sig;
	cleanup();
	err_die(QQ_BUG, "internal bug: message not queued", (char *)0);
}

static void sig_catch_all(void);

/* A set-uid program starts with whatever its caller left it: make sure
 * fds 0-2 exist (so nothing we open becomes "stderr" and receives error
 * text), that no signal we rely on is blocked, and that no alarm the
 * caller set can fire early. */
static void sane_start(void)
{
	sigset_t none;

	if (fcntl(0, F_GETFD) < 0 || fcntl(1, F_GETFD) < 0) _exit(QQ_READ);
	if (fcntl(2, F_GETFD) < 0 && open("/dev/null", O_WRONLY) != 2) _exit(QQ_BUG);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, 0);
	sig_catch_all();
	umask(033);
	alarm(DEATH);
}

/* "Received: (qmail PID invoked by uid UID); DATE\n", with qmail's words
 * for the uids it knows: alias, qmaild (the network), qmails (bounces). */
static size_t received(char *s, size_t max, unsigned long pid, uid_t uid,
                       const nq_ids *ids, time_t now)
{
	buf b = BUF_INIT;
	char date[DATE822_MAX];
	size_t n;

	if (buf_puts(&b, "Received: (qmail ") < 0 || buf_putnum(&b, pid) < 0 ||
	    buf_puts(&b, " invoked ") < 0) nomem();
	if (!ids->single && uid == ids->uid[R_ALIAS]) { if (buf_puts(&b, "by alias") < 0) nomem(); }
	else if (!ids->single && uid == ids->uid[R_QMAILD]) { if (buf_puts(&b, "from network") < 0) nomem(); }
	else if (!ids->single && uid == ids->uid[R_QMAILS]) { if (buf_puts(&b, "for bounce") < 0) nomem(); }
	else if (buf_puts(&b, "by uid ") < 0 || buf_putnum(&b, uid) < 0) nomem();
	date822_fmt(date, now);
	if (buf_puts(&b, "); ") < 0 || buf_puts(&b, date) < 0 || buf_putc(&b, '\n') < 0) nomem();
	if (b.len > max) die(QQ_BUG, "Received line too long", "");
	memcpy(s, b.s, b.len);
	n = b.len;
	buf_free(&b);
	return n;
}

/* Create pid/PID.TIME.K exclusively; K distinguishes a reused pid within
 * the same second. Its inode number becomes the message number. */
static unsigned long pid_create(unsigned long pid, time_t now)
{
	struct stat st;
	unsigned long k;

	for (k = 1; k < 10; k++) {
		if (buf_copys(&pidfn, "pid/") < 0 || buf_putnum(&pidfn, pid) < 0 ||
		    buf_putc(&pidfn, '.') < 0 || buf_putnum(&pidfn, (unsigned long long)now) < 0 ||
		    buf_putc(&pidfn, '.') < 0 || buf_putnum(&pidfn, k) < 0) nomem();
		messfd = open(pidfn.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (messfd >= 0) break;
		if (errno != EEXIST) die_sys(QQ_PID, "unable to create queue/", pidfn.s);
	}
	if (messfd < 0) die(QQ_PID, "unable to create a unique name in queue/pid", "");
	made_pid = 1;
	if (fstat(messfd, &st) < 0) die_sys(QQ_PID, "unable to stat queue/", pidfn.s);
	return (unsigned long)st.st_ino;
}

/* read(), retrying when interrupted, and waiting when the caller handed
 * us a non-blocking descriptor (the alarm still bounds the wait). */
static ssize_t read_in(int fd, char *p, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, p, n);
		if (r >= 0) return r;
		if (errno == EAGAIN) {
			struct pollfd w = {fd, POLLIN, 0};
			(void)poll(&w, 1, -1);
			continue;
		}
		if (errno != EINTR) return -1;
	}
}

/* Copy fd 0 to the message file after the Received line, then fsync:
 * the message's bytes must be on disk before any envelope names it. */
static void write_message(size_t have)
{
	for (;;) {
		ssize_t r = 0;
		while (have < sizeof chunk) {
			r = read_in(0, chunk + have, sizeof chunk - have);
			if (r <= 0) break;
			have += (size_t)r;
		}
		if (r < 0) die_sys(QQ_READ, "unable to read the message", "");
		if (write_all(messfd, chunk, have) < 0) die_sys(QQ_WRITE, "unable to write queue/", messfn.s);
		if (r == 0) break;
		have = 0;
	}
	if (fsync(messfd) < 0) die_sys(QQ_WRITE, "unable to sync queue/", messfn.s);
}

/* Write intd/N: our u and p records, then the caller's envelope from fd
 * 1, checked as it streams and copied up to its final NUL only (the
 * caller may keep fd 1 open after it), then fsync, so the envelope is
 * complete on disk before todo/N makes it visible. */
static void write_envelope(unsigned long pid, uid_t uid)
{
	io_out out;
	envscan e;
	int r = ENV_MORE;

	intdfd = open(intdfn.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (intdfd < 0) die_sys(QQ_INTD, "unable to create queue/", intdfn.s);
	made_intd = 1;
	out_init(&out, intdfd, 0);
	if (out_put(&out, "u", 1) < 0) goto werr;
	{
		char num[24];
		size_t n = fmt_ulong(num, uid);
		if (out_put(&out, num, n + 1) < 0 || out_put(&out, "p", 1) < 0) goto werr;
		n = fmt_ulong(num, pid);
		if (out_put(&out, num, n + 1) < 0) goto werr;
	}
	envscan_init(&e);
	while (r == ENV_MORE) {
		size_t used;
		ssize_t n = read_in(1, chunk, sizeof chunk);
		if (n < 0) die_sys(QQ_READ, "unable to read the envelope", "");
		if (n == 0) { r = envscan_eof(&e); break; }
		r = envscan_feed(&e, chunk, (size_t)n, &used);
		if (r == ENV_DONE || r == ENV_MORE)
			if (out_put(&out, chunk, used) < 0) goto werr;
	}
	if (r == ENV_ETOOLONG) die(QQ_TOOLONG, "envelope address too long", "");
	if (r == ENV_ETRUNC) die(QQ_READ, "unable to read the envelope: it ends before its final NUL", "");
	if (r != ENV_DONE)
		die(QQ_FORMAT, "envelope format error: want F sender, one or more T recipients, then NUL", "");
	if (out_flush(&out) < 0) goto werr;
	if (fsync(intdfd) < 0) die_sys(QQ_WRITE, "unable to sync queue/", intdfn.s);
	return;
werr:
	die_sys(QQ_WRITE, "unable to write queue/", intdfn.s);
}

/* Tell a waiting qmail-send to look at todo/ now. Nobody listening
 * (ENXIO) or a full pipe is fine: qmail-send also scans on its own. */
static void trigger(void)
{
	int fd = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) return;
	(void)!write(fd, "", 1);
	close(fd);
}

static void sig_catch_all(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, 0);
	sa.sa_handler = on_bug;
	sigaction(SIGSEGV, &sa, 0);
	sigaction(SIGBUS, &sa, 0);
	sigaction(SIGILL, &sa, 0);
	sigaction(SIGFPE, &sa, 0);
	sa.sa_handler = SIG_IGN;
	/* A reader of ours going away is an error to report, not a death;
	 * a file-size limit becomes EFBIG (53); terminal signals must not
	 * kill a queueing that the caller has already committed to. */
	sigaction(SIGPIPE, &sa, 0);
	sigaction(SIGXFSZ, &sa, 0);
	sigaction(SIGINT, &sa, 0);
	sigaction(SIGQUIT, &sa, 0);
	sigaction(SIGHUP, &sa, 0);
}

int main(void)
{
	nq_ids ids;
	unsigned long pid, num;
	uid_t uid;
	time_t now;
	size_t have;

	err_prog = "qmail-queue";
	sane_start();
	if (chdir(nq_home()) < 0) err_dieerr(QQ_HOME, "unable to switch to ", nq_home(), (char *)0);
	if (chdir("queue") < 0) err_dieerr(QQ_QUEUE, "unable to switch to ", nq_home(), "/queue", (char *)0);
	if (nq_ids_read(&ids) < 0) err_dieerr(QQ_CONFIG, "unable to read ", nq_home(), "/users/ids", (char *)0);

	pid = (unsigned long)getpid();
	uid = getuid();
	now = time(0);
	have = received(chunk, sizeof chunk, pid, uid, &ids, now);

	num = pid_create(pid, now);
	queue_fn(&messfn, "mess", num);
	queue_fn(&intdfn, "intd", num);
	queue_fn(&todofn, "todo", num);
	if (buf_copy(&messdir, messfn.s, byte_rchr(messfn.s, messfn.len, '/')) < 0) nomem();
	if (link(pidfn.s, messfn.s) < 0) die_sys(QQ_MESS, "unable to link queue/", messfn.s);
	made_mess = 1;

	write_message(have);
	write_envelope(pid, uid);

	/* The names mess/S/N and intd/N must be on disk before todo/N can
	 * be: otherwise a crash could keep todo/N (qmail-send would find it)
	 * while losing the message's name, or the envelope name the
	 * cleaners pair with todo/N. */
	if (fsync_dir(messdir.s) < 0) die_sys(QQ_WRITE, "unable to sync queue/", messdir.s);
	if (fsync_dir("intd") < 0) die_sys(QQ_WRITE, "unable to sync queue/", "intd");

	/* Publish. From the link on, the message may already be in
	 * qmail-send's hands, so nothing is removed any more, and the alarm
	 * must not fire a cleanup. */
	sig_block(SIGALRM);
	if (link(intdfn.s, todofn.s) < 0) die_sys(QQ_TODO, "unable to link queue/", todofn.s);
	made_pid = made_mess = made_intd = 0;
	/* The todo/N entry itself must survive a crash before we report
	 * success. Should this fail the message stays queued (it is complete),
	 * and the caller's retry can at worst deliver it twice. */
	if (fsync_dir("todo") < 0)
		err_dieerr(QQ_TODO, "unable to sync queue/todo; message may be queued", (char *)0);

	if (unlink(pidfn.s) < 0) err_warnerr("warning: unable to remove queue/", pidfn.s, (char *)0);
	trigger();
	/* _exit: nothing is buffered, and a set-uid program has no business
	 * running exit handlers (a sanitizer's leak check cannot even work
	 * in one: it needs to ptrace itself). */
	_exit(0);
}
