/* maildir2mbox: move the mail of a Maildir to the end of an mbox file.
 *
 *   MAILDIR=dir MAIL=mbox MAILTMP=file maildir2mbox
 *
 * For mail readers that only know mbox (qail, elq and pinq run this first).
 * Every message in MAILDIR/new and MAILDIR/cur is appended to MAIL, oldest
 * first, in mbox form: a "From sender date" line (the sender from the
 * message's Return-Path line), the message with ">From " quoting, a blank
 * line. Then the messages are removed from the Maildir.
 *
 * No message is lost or doubled, whenever the program is stopped (kill,
 * crash, power loss). MAILTMP holds a journal of the move:
 *   1. MAIL is locked (flock and fcntl, as mail readers lock it);
 *   2. a journal left by an earlier run is finished first (below);
 *   3. the journal is written to MAILTMP and flushed to disk: the identity
 *      and size of MAIL before the move, and the names of the messages;
 *   4. the messages are appended to MAIL, which is flushed to disk;
 *   5. "committed" is added to the journal and flushed;
 *   6. the messages are removed from the Maildir (directories flushed);
 *   7. the journal is removed.
 A journal cut short was never acted on (step 4 starts only once it is
 * on disk) and is dropped. A journal with "committed" means every message
 * is safe in MAIL: the removals are finished. A journal without it means
 * step 6 never began, so the Maildir still has every message; what the
 * interrupted run added to MAIL is then recognised by writing the same
 * messages again to a scratch file and comparing (the mbox form of a
 * message depends only on the message):
 *   - MAIL past the old size equals all of it: the append was complete,
 *     so the move is committed and finished;
 *   - it equals a beginning of it: MAIL is cut back to the old size and
 *     the move is done again;
 *   - anything else (someone changed MAIL after the crash): MAIL is left
 *     alone and the move is done again, so a message may appear twice
 *     but none is lost.
 * See doc/maildir2mbox.1 for the argument in full.
 *
 MAILTMP only has to be writable (qmail's maildir2mbox wanted it beside
 * MAIL; that is still the best place). Memory is a fixed buffer plus the
 * list of names: it does not depend on the size of the messages. Exit codes: 0, 111 (any trouble:
 * nothing is removed from the Maildir unless it is safe in MAIL). */
#include "mail/mbox.h"
#include "mail/mdlist.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "nqmail maildir2mbox journal 1\n"
#define COMMITTED "committed\n"
#define JOURNAL_MAX (256UL * 1024 * 1024)   /* bytes of journal read back */

static const char *mail, *mailtmp, *maildir;
static int cwdfd = -1;     /* where MAIL and MAILTMP are relative to */
static int mfd = -1;       /* MAIL, locked */

static _Noreturn void die(const char *what, const char *path)
{
	err_dieerr(EXIT_TEMP, what, path, (char *)0);
}

static void lockmail(void)
{
	struct flock fl;
	int r;

	do r = flock(mfd, LOCK_EX); while (r < 0 && errno == EINTR);
	if (r < 0 && errno != ENOLCK && errno != EOPNOTSUPP) die("unable to lock ", mail);
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	do r = fcntl(mfd, F_SETLKW, &fl); while (r < 0 && errno == EINTR);
	if (r < 0 && errno != ENOLCK) die("unable to lock ", mail);
}

/* The directory that holds path (relative to cwdfd), opened. */
static int dirof(const char *path)
{
	buf d = BUF_INIT;
	size_t len = strlen(path), n = byte_rchr(path, len, '/');
	int fd;

	if (n == len) { if (buf_copys(&d, ".") < 0) err_nomem(); }
	else if (buf_copy(&d, path, n ? n : 1) < 0) err_nomem();
	fd = openat(cwdfd, d.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	buf_free(&d);
	return fd;
}

static void syncdirof(const char *path)
{
	int fd = dirof(path), r;
	if (fd < 0) die("unable to open the directory of ", path);
	r = fsync(fd);
	close(fd);
	if (r < 0 && errno != EINVAL) die("unable to sync the directory of ", path);
}

static void syncdir(const char *dir)
{
	if (fsync_dir(dir) < 0 && errno != EINVAL) die("unable to sync $MAILDIR/", dir);
}

static void dropjournal(void)
{
	if (unlinkat(cwdfd, mailtmp, 0) < 0 && errno != ENOENT) die("unable to remove ", mailtmp);
	syncdirof(mailtmp);
}

static void removeall(const char *const *names, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (unlink(names[i]) < 0 && errno != ENOENT) die("unable to remove $MAILDIR/", names[i]);
	syncdir("new");
	syncdir("cur");
}

/* --- the mbox form of the messages ------------------------------------------ */

/* "From sender date\n": the sender from a first line "Return-Path: <s>",
 * the date from the message's name (its delivery), in UTC. */
static int fromline(buf *u, const char *first, size_t n, time_t when)
{
	static const char rp[] = "Return-Path: <";
	const char *gt;
	char date[64];
	struct tm tm;
	size_t i, at;

	if (buf_copys(u, "From ") < 0) return -1;
	if (n > sizeof rp - 1 && !memcmp(first, rp, sizeof rp - 1)
	    && (gt = memchr(first, '>', n))) {
		const char *s = first + sizeof rp - 1;
		size_t k = (size_t)(gt - s);
		if (k == 0) {
			if (buf_puts(u, "MAILER-DAEMON") < 0) return -1;
		} else {
			at = u->len;
			if (buf_put(u, s, k) < 0) return -1;
			for (i = at; i < u->len; i++)
				if (u->s[i] == ' ' || u->s[i] == '\t' || u->s[i] == '\r') u->s[i] = '-';
		}
	} else if (buf_puts(u, "unknown") < 0) return -1;
	if (!gmtime_r(&when, &tm)) return -1;
	n = strftime(date, sizeof date, " %a %b %e %H:%M:%S %Y\n", &tm);
	if (!n) return -1;
	return buf_put(u, date, n);
}

/* Append one message through out. 1 done, 0 it vanished (another reader
 * took it), -1 error (errno; *what says which side failed). */
static int append(io_out *out, const char *name, const char **what)
{
	char b[IO_BUFSIZE];
	buf u = BUF_INIT;
	mbox_quote q;
	struct stat st;
	ssize_t r;
	time_t when;
	int fd, ok = -1;

	*what = "unable to read $MAILDIR/";
	fd = open(name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) < 0) goto done;
	if (!S_ISREG(st.st_mode)) { errno = EINVAL; goto done; }
	when = (time_t)mdlist_time(name);
	if (!when) when = st.st_mtime;
	/* The first bytes tell the sender; they are passed on like the rest. */
	r = read_full(fd, b, sizeof b);
	if (r < 0) goto done;
	{
		const char *nl = memchr(b, '\n', (size_t)r);
		if (fromline(&u, b, nl ? (size_t)(nl - b) : (size_t)r, when) < 0) { errno = ENOMEM; goto done; }
	}
	*what = 0;
	if (out_put(out, u.s, u.len) < 0) goto done;
	mbox_quote_init(&q);
	while (r > 0) {
		*what = 0;
		if (mbox_quote_put(&q, out, b, (size_t)r) < 0) goto done;
		*what = "unable to read $MAILDIR/";
		do r = read(fd, b, sizeof b); while (r < 0 && errno == EINTR);
		if (r < 0) goto done;
	}
	*what = 0;
	if (mbox_quote_end(&q, out) < 0 || out_put(out, "\n", 1) < 0) goto done;
	ok = 1;
done:
	{ int e = errno; close(fd); buf_free(&u); errno = e; }
	return ok;
}

/* All of names[0..n) through out, flushed. 0 ok, -1 error: *bad is the
 * message that could not be read, or null when writing failed. */
static int appendall(io_out *out, const char *const *names, size_t n, const char **bad)
{
	const char *what = 0;
	size_t i;

	*bad = 0;
	for (i = 0; i < n; i++)
		if (append(out, names[i], &what) < 0) {
			if (what) *bad = names[i];
			return -1;
		}
	return out_flush(out);
}

/* --- the journal -------------------------------------------------------------- */

typedef struct journal {
	unsigned long dev, ino, size;
	size_t n;
	const char **names;
	int committed;
} journal;

static int readnum(const char **p, const char *end, unsigned long *u, char stop)
{
	size_t k = scan_ulong(*p, (size_t)(end - *p), u);
	if (!k || *p + k >= end || (*p)[k] != stop) return 0;
	*p += k + 1;
	return 1;
}

/* 1 a complete journal in j (names pointing into b), 0 none, not ours,
 * or cut short. */
static int parse(const buf *b, journal *j)
{
	const char *p = b->s, *end = b->s + b->len;
	unsigned long n, i;

	memset(j, 0, sizeof *j);
	if (b->len < sizeof MAGIC - 1 || memcmp(p, MAGIC, sizeof MAGIC - 1)) return 0;
	p += sizeof MAGIC - 1;
	if (!readnum(&p, end, &j->dev, ' ') || !readnum(&p, end, &j->ino, ' ')
	    || !readnum(&p, end, &j->size, '\n') || !readnum(&p, end, &n, '\n'))
		return 0;
	if (n > b->len) return 0;                  /* every name takes a byte */
	j->names = calloc(n ? n : 1, sizeof *j->names);
	if (!j->names) err_nomem();
	for (i = 0; i < n; i++) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		if (!z) return 0;
		j->names[i] = p;
		p = z + 1;
	}
	if ((size_t)(end - p) < 4 || memcmp(p, "end\n", 4)) return 0;
	p += 4;
	j->n = n;
	j->committed = (size_t)(end - p) == sizeof COMMITTED - 1 && !memcmp(p, COMMITTED, sizeof COMMITTED - 1);
	return 1;
}

/* Step 3. */
static void writejournal(const char *const *names, size_t n, const struct stat *st)
{
	buf b = BUF_INIT;
	size_t i;
	int fd;

	if (buf_copys(&b, MAGIC) < 0 || buf_putnum(&b, (unsigned long long)st->st_dev) < 0
	    || buf_putc(&b, ' ') < 0 || buf_putnum(&b, (unsigned long long)st->st_ino) < 0
	    || buf_putc(&b, ' ') < 0 || buf_putnum(&b, (unsigned long long)st->st_size) < 0
	    || buf_putc(&b, '\n') < 0 || buf_putnum(&b, (unsigned long long)n) < 0
	    || buf_putc(&b, '\n') < 0)
		err_nomem();
	for (i = 0; i < n; i++)
		if (buf_puts(&b, names[i]) < 0 || buf_put0(&b) < 0) err_nomem();
	if (buf_puts(&b, "end\n") < 0) err_nomem();
	fd = openat(cwdfd, mailtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) die("unable to create ", mailtmp);
	if (write_all(fd, b.s, b.len) < 0 || fsync(fd) < 0 || close(fd) < 0) die("unable to write ", mailtmp);
	syncdirof(mailtmp);
	buf_free(&b);
}

/* Step 5. */
static void commit(void)
{
	int fd = openat(cwdfd, mailtmp, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) die("unable to open ", mailtmp);
	if (write_all(fd, COMMITTED, sizeof COMMITTED - 1) < 0 || fsync(fd) < 0 || close(fd) < 0)
		die("unable to write ", mailtmp);
}

/* How MAIL past the journal's size compares with the mbox form of the
 * journal's messages: 2 equal, 1 a beginning of it, 0 anything else. */
static int compare(const journal *j, off_t cur)
{
	char a[IO_BUFSIZE], b[IO_BUFSIZE];
	const char *bad;
	io_out out;
	off_t have = cur - (off_t)j->size, at = 0, total;
	ssize_t ra, rb;
	int tfd, result = 0;

	/* The scratch file: unnamed, beside MAILTMP (or anonymous in /tmp). */
	int dfd = dirof(mailtmp);
	tfd = dfd < 0 ? -1 : openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (dfd >= 0) close(dfd);
	if (tfd < 0) tfd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tfd < 0) die("unable to make a scratch file beside ", mailtmp);
	out_init(&out, tfd, 0);
	if (appendall(&out, j->names, j->n, &bad) < 0) {
		if (bad) goto done;       /* a message is unreadable now: MAIL is not ours to judge */
		die("unable to write a scratch file beside ", mailtmp);
	}
	total = lseek(tfd, 0, SEEK_CUR);
	if (total < 0) die("unable to read a scratch file", "");
	if (have > total) goto done;
	while (at < have) {
		size_t want = (size_t)(have - at < (off_t)sizeof a ? have - at : (off_t)sizeof a);
		ra = pread(mfd, a, want, (off_t)j->size + at);
		rb = pread(tfd, b, want, at);
		if (ra < 0) die("unable to read ", mail);
		if (rb < 0) die("unable to read a scratch file", "");
		if (ra == 0 || ra != rb || memcmp(a, b, (size_t)ra)) goto done;
		at += ra;
	}
	result = have == total ? 2 : 1;
done:
	close(tfd);
	return result;
}

/* Step 2: finish what an interrupted run started. */
static void recover(void)
{
	buf b = BUF_INIT;
	journal j;
	struct stat st;
	int fd, how;

	fd = openat(cwdfd, mailtmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) return;
		die("unable to read ", mailtmp);
	}
	for (;;) {
		char t[IO_BUFSIZE];
		ssize_t r = read(fd, t, sizeof t);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) die("unable to read ", mailtmp);
		if (r == 0) break;
		if (b.len + (size_t)r > JOURNAL_MAX) { errno = EFBIG; die("unable to read ", mailtmp); }
		if (buf_put(&b, t, (size_t)r) < 0) err_nomem();
	}
	close(fd);
	/* Not a journal (perhaps a file of qmail's maildir2mbox), or one cut
	 * short before anything was appended: the Maildir is untouched and
	 * the file will simply be overwritten. */
	if (!parse(&b, &j)) goto out;
	if (!j.committed) {
		if (fstat(mfd, &st) < 0) die("unable to stat ", mail);
		how = 0;
		if ((unsigned long)st.st_dev == j.dev && (unsigned long)st.st_ino == j.ino
		    && (unsigned long)st.st_size >= j.size)
			how = (unsigned long)st.st_size == j.size ? 1 : compare(&j, st.st_size);
		if (how == 2) {
			/* The append had finished: commit it now. */
			if (fsync(mfd) < 0) die("unable to sync ", mail);
			commit();
			j.committed = 1;
		} else if (how == 1) {
			if ((unsigned long)st.st_size > j.size
			    && (ftruncate(mfd, (off_t)j.size) < 0 || fsync(mfd) < 0))
				die("unable to cut back ", mail);
		} else {
			err_warn("warning: ", mail, " changed after an interrupted run; "
			         "its messages are moved again and some may appear twice", (char *)0);
		}
	}
	if (j.committed) removeall(j.names, j.n);
	dropjournal();
out:
	free(j.names);
	buf_free(&b);
}

int main(void)
{
	mdlist l = MDLIST_INIT;
	const char **names;
	const char *what;
	struct stat st;
	io_out out;
	size_t i;

	err_prog = "maildir2mbox";
	umask(077);
	if (!(mail = getenv("MAIL")) || !*mail) err_die(EXIT_TEMP, "MAIL not set", (char *)0);
	if (!(mailtmp = getenv("MAILTMP")) || !*mailtmp) err_die(EXIT_TEMP, "MAILTMP not set", (char *)0);
	if (!(maildir = getenv("MAILDIR")) || !*maildir) err_die(EXIT_TEMP, "MAILDIR not set", (char *)0);

	cwdfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwdfd < 0) die("unable to open the current directory", "");
	mfd = openat(cwdfd, mail, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (mfd < 0) die("unable to open ", mail);
	lockmail();
	if (chdir(maildir) < 0) die("unable to switch to ", maildir);

	recover();
	(void)mdlist_cleantmp(time(0));
	if (mdlist_scan(&l, 1, &what) < 0) die("unable to scan $MAILDIR/", what);
	if (!l.n) return 0;
	names = calloc(l.n, sizeof *names);
	if (!names) err_nomem();
	for (i = 0; i < l.n; i++) names[i] = mdlist_name(&l, i);

	if (fstat(mfd, &st) < 0) die("unable to stat ", mail);
	writejournal(names, l.n, &st);
	out_init(&out, mfd, 0);
	if (appendall(&out, names, l.n, &what) < 0 || fsync(mfd) < 0) {
		/* Leave MAIL as it was; then the journal has nothing to say. */
		int e = errno;
		if (ftruncate(mfd, st.st_size) == 0 && fsync(mfd) == 0) dropjournal();
		errno = e;
		if (what) die("unable to read $MAILDIR/", what);
		die("unable to write to ", mail);
	}
	syncdirof(mail);
	commit();
	removeall(names, l.n);
	dropjournal();
	return 0;
}
