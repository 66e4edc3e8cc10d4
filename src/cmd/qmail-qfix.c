/* qmail-qfix: check the queue's structure and repair it, as queue-fix
 * did for qmail (qmail-qfix(8)).
 *
 * What it checks, in this order:
 *  1. the directories of src/mail/queue.h (and hold/ of src/mail/qctl.h),
 *     with the owners and modes scripts/setup.sh gives them, taken from
 *     DIR/users/ids; missing ones are made;
 *  2. lock/: sendmutex and tcpto (regular files), trigger and qctl (named
 *     pipes), with their owners and modes;
 *  3. every message file: a name that is not a number is reported and
 *     left alone; a file in the wrong split directory is moved; a
 *     message whose mess/S/N is not named after its inode (a queue
 *     copied between file systems) is renumbered, every file of it;
 *     owners and modes of message files;
 *  4. what no state of doc/architecture.md explains: todo/N or intd/N
 *     without mess/S/N; info/S/N without mess/S/N; local/S/N, remote/S/N,
 *     bounce/N or hold/N without info/S/N or todo/N; mess/S/N with
 *     neither todo/N nor info/S/N once qmail-queue is done with it (one
 *     link) or after 36 hours; pid/ files older than 36 hours. Those are
 *     removed, as qmail-send and qmail-clean would at their next start.
 * It refuses to touch a running queue: it takes lock/sendmutex, which a
 * running qmail-send holds, and keeps it while it works, so qmail-send
 * cannot start meanwhile. With -n it only says what it would do (and
 * runs beside qmail-send, saying that what it sees may be moving). */
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/qctl.h"
#include "mail/queue.h"
#include <dirent.h>
#include <stdlib.h>
#include <stdio.h>    /* rename(2) only */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: qmail-qfix [-n]"
#define OSSIFIED 129600   /* 36 hours: qmail's age of an abandoned file */

static int dry;
static nq_ids ids;
static io_out out;
static unsigned long problems, failed;
static time_t now;

static void put(const char *s)
{
	if (out_puts(&out, s) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}

/* Report a problem with path; with fix() the repair follows. */
static void problem(const char *path, const char *what)
{
	problems++;
	put("queue/"); put(path); put(": "); put(what);
}
/* r: the result of the repair (0 ok). Ends the line problem() began. */
static void fixed(int r)
{
	if (dry) put("; would fix\n");
	else if (r == 0) put("; fixed\n");
	else {
		put("; unable to fix: ");
		put(strerror(errno));
		put("\n");
		failed++;
	}
}

/* ---- the structure -------------------------------------------------------- */

struct node {
	const char *path;
	char type;            /* d directory, f file, p named pipe */
	mode_t mode;
	enum nq_role owner;
};

static const struct node tree[] = {
	{ "pid", 'd', 0700, R_QMAILQ }, { "intd", 'd', 0700, R_QMAILQ },
	{ "todo", 'd', 0750, R_QMAILQ }, { "mess", 'd', 0750, R_QMAILQ },
	{ "lock", 'd', 0750, R_QMAILQ },
	{ "info", 'd', 0700, R_QMAILS }, { "local", 'd', 0700, R_QMAILS },
	{ "remote", 'd', 0700, R_QMAILS }, { "bounce", 'd', 0700, R_QMAILS },
	{ QCTL_HOLDDIR, 'd', 0700, R_QMAILS },
	{ "mtasts", 'd', 0700, R_QMAILR },   /* MTA-STS cache, TLS-RPT counts (src/mail/mtasts.h) */
	{ "lock/tcpto", 'f', 0644, R_QMAILR }, { "lock/sendmutex", 'f', 0600, R_QMAILS },
	{ "lock/trigger", 'p', 0622, R_QMAILS }, { QCTL_FIFO, 'p', 0600, R_QMAILS },
};

static uid_t uidof(enum nq_role r) { return ids.uid[r]; }

/* Owner, group and mode of what is at path (st from lstat). A message
 * file's group is whatever its writer had (qmail-queue keeps its
 * caller's), so only the structure's group is checked (group 0). */
static void perms(const char *path, const struct stat *st, mode_t mode, enum nq_role owner, int group)
{
	if (!ids.single && (st->st_uid != uidof(owner) || (group && st->st_gid != ids.qmail))) {
		problem(path, "wrong owner");
		fixed(dry ? 0 : lchown(path, uidof(owner), group ? ids.qmail : (gid_t)-1));
	}
	if ((st->st_mode & 07777) != mode) {
		problem(path, "wrong mode");
		fixed(dry ? 0 : chmod(path, mode));
	}
}

static int make(const struct node *n)
{
	int r;
	struct stat st;
	if (n->type == 'd') r = mkdir(n->path, n->mode);
	else if (n->type == 'p') r = mkfifo(n->path, n->mode);
	else {
		int fd = open(n->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, n->mode);
		r = fd < 0 ? -1 : close(fd);
	}
	if (r < 0) return -1;
	if (lstat(n->path, &st) < 0) return -1;
	if (!ids.single && lchown(n->path, uidof(n->owner), ids.qmail) < 0) return -1;
	if (chmod(n->path, n->mode) < 0) return -1;
	return fsync_parent(n->path);
}

static int typeok(const struct node *n, const struct stat *st)
{
	return n->type == 'd' ? S_ISDIR(st->st_mode) : n->type == 'p' ? S_ISFIFO(st->st_mode) : S_ISREG(st->st_mode);
}

static void node(const struct node *n)
{
	struct stat st;
	if (lstat(n->path, &st) < 0) {
		if (errno != ENOENT) { problem(n->path, "unable to stat"); fixed(-1); return; }
		problem(n->path, "missing");
		fixed(dry ? 0 : make(n));
		return;
	}
	if (!typeok(n, &st)) {
		/* A directory in the wrong shape is never removed: it may hold mail. */
		if (n->type == 'd' || S_ISDIR(st.st_mode)) {
			problem(n->path, "of the wrong type; repair it by hand\n");
			failed++;
			return;
		}
		problem(n->path, n->type == 'p' ? "not a named pipe" : "not a regular file");
		fixed(dry ? 0 : (unlink(n->path) < 0 ? -1 : make(n)));
		return;
	}
	perms(n->path, &st, n->mode, n->owner, 1);
}

static void structure(void)
{
	static const char *split[] = { "mess", "info", "local", "remote" };
	struct stat st;
	size_t i;
	int k, s;

	/* queue/ itself: qmailq, 0750 */
	if (lstat(".", &st) == 0) perms(".", &st, 0750, R_QMAILQ, 1);
	for (i = 0; i < sizeof tree / sizeof tree[0]; i++) node(&tree[i]);
	for (k = 0; k < 4; k++)
		for (s = 0; s < QUEUE_SPLIT; s++) {
			static buf p;
			struct node n;
			if (buf_copys(&p, split[k]) < 0 || buf_putc(&p, '/') < 0 || buf_putnum(&p, (unsigned long long)s) < 0) err_nomem();
			n.path = p.s;
			n.type = 'd';
			n.mode = k ? 0700 : 0750;
			n.owner = k ? R_QMAILS : R_QMAILQ;
			node(&n);
		}
}

/* ---- messages ------------------------------------------------------------- */

static const char *flat[] = { "todo", "intd", "bounce", QCTL_HOLDDIR };
static const char *splitd[] = { "mess", "info", "local", "remote" };

/* With -n nothing moves, yet the later checks must see the queue as the
 * repair would leave it: files that would move to their split directory
 * are remembered here and count as being there. */
static struct { const char *dir; unsigned long id; } *moved;
static size_t nmoved, capmoved;

static void remember(const char *dir, unsigned long id)
{
	if (nmoved == capmoved) {
		size_t cap = capmoved ? capmoved * 2 : 16;
		void *p;
		if (cap > (size_t)-1 / sizeof *moved || !(p = realloc(moved, cap * sizeof *moved))) err_nomem();
		moved = p;
		capmoved = cap;
	}
	moved[nmoved].dir = dir;
	moved[nmoved++].id = id;
}

static int exists(const char *dir, unsigned long id)
{
	static buf fn;
	struct stat st;
	size_t i;
	if (str_eq(dir, QCTL_HOLDDIR)) qctl_holdfn(&fn, id);
	else queue_fn(&fn, dir, id);
	if (lstat(fn.s, &st) == 0) return 1;
	for (i = 0; i < nmoved; i++) if (moved[i].id == id && str_eq(moved[i].dir, dir)) return 1;
	return 0;
}

static const char *name(buf *b, const char *dir, unsigned long id)
{
	if (str_eq(dir, QCTL_HOLDDIR)) return qctl_holdfn(b, id);
	return queue_fn(b, dir, id);
}

static int removefile(const char *path)
{
	if (dry) return 0;
	if (unlink(path) < 0 && errno != ENOENT) return -1;
	return fsync_parent(path);
}

static int renamefile(const char *from, const char *to)
{
	if (dry) return 0;
	if (rename(from, to) < 0) return -1;
	if (fsync_parent(to) < 0) return -1;
	return fsync_parent(from);
}

/* Every file of message id gets the number to. */
static void renumber(unsigned long id, unsigned long to)
{
	/* mess last: until it moves, a rerun still finds the message to renumber */
	static const char *order[] = { "todo", "intd", "bounce", QCTL_HOLDDIR, "info", "local", "remote", "mess" };
	buf a = BUF_INIT, b = BUF_INIT;
	size_t k;
	int r = 0;

	for (k = 0; k < sizeof order / sizeof order[0]; k++)
		if (exists(order[k], to)) {
			problem(queue_fn(&a, "mess", id), "not named after its inode, and the right number is taken; repair it by hand\n");
			failed++;
			goto out;
		}
	problem(queue_fn(&a, "mess", id), "not named after its inode; renumbered");
	for (k = 0; k < sizeof order / sizeof order[0] && r == 0; k++) {
		if (!exists(order[k], id)) continue;
		name(&a, order[k], id);
		name(&b, order[k], to);
		r = renamefile(a.s, b.s);
	}
	fixed(r);
out:
	buf_free(&a);
	buf_free(&b);
}

/* Files of one directory: names, split checks, owners and modes. For
 * mess/ also inode numbers. */
static void files(const char *dir, int split, int s)
{
	buf d = BUF_INIT, fn = BUF_INIT, to = BUF_INIT;
	DIR *dd;
	struct dirent *e;
	int inq = str_eq(dir, "mess") || str_eq(dir, "todo") || str_eq(dir, "intd");

	if (buf_copys(&d, dir) < 0) err_nomem();
	if (split && (buf_putc(&d, '/') < 0 || buf_putnum(&d, (unsigned long long)s) < 0)) err_nomem();
	if (!(dd = opendir(d.s))) { buf_free(&d); return; }   /* reported by structure() */
	while ((e = readdir(dd))) {
		unsigned long id;
		struct stat st;
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
		if (buf_copy(&fn, d.s, d.len) < 0 || buf_putc(&fn, '/') < 0 || buf_puts(&fn, e->d_name) < 0) err_nomem();
		if (str_toul(e->d_name, &id) < 0 || !id) {
			problem(fn.s, "not a message file; left alone\n");
			continue;
		}
		if (lstat(fn.s, &st) < 0) continue;
		if (!S_ISREG(st.st_mode)) { problem(fn.s, "not a regular file; left alone\n"); continue; }
		if (split && id % QUEUE_SPLIT != (unsigned long)s) {
			if (exists(dir, id)) {
				problem(fn.s, "in the wrong split directory, and the right name is taken; repair it by hand\n");
				failed++;
				continue;
			}
			problem(fn.s, "in the wrong split directory; moved");
			queue_fn(&to, dir, id);
			fixed(renamefile(fn.s, to.s));
			if (dry) { remember(dir, id); continue; }
			if (buf_copy(&fn, to.s, to.len) < 0) err_nomem();
		}
		if (str_eq(dir, "mess") && (unsigned long)st.st_ino != id) {
			renumber(id, (unsigned long)st.st_ino);
			continue;
		}
		perms(fn.s, &st, inq ? 0644 : 0600, inq ? R_QMAILQ : R_QMAILS, 0);
	}
	closedir(dd);
	buf_free(&d);
	buf_free(&fn);
	buf_free(&to);
}

static void messages(void)
{
	int k, s;
	for (k = 0; k < 4; k++) files(flat[k], 0, 0);
	for (k = 0; k < 4; k++)
		for (s = 0; s < QUEUE_SPLIT; s++) files(splitd[k], 1, s);
}

/* ---- orphans -------------------------------------------------------------- */

/* For each message number in dir (split or flat): f(id). */
static void each(const char *dir, void (*f)(const char *dir, unsigned long id))
{
	int s, split = queue_split_dir(dir);
	for (s = 0; s < (split ? QUEUE_SPLIT : 1); s++) {
		buf d = BUF_INIT;
		DIR *dd;
		struct dirent *e;
		if (buf_copys(&d, dir) < 0) err_nomem();
		if (split && (buf_putc(&d, '/') < 0 || buf_putnum(&d, (unsigned long long)s) < 0)) err_nomem();
		if ((dd = opendir(d.s))) {
			while ((e = readdir(dd))) {
				unsigned long id;
				if (str_toul(e->d_name, &id) == 0 && id) f(dir, id);
			}
			closedir(dd);
		}
		buf_free(&d);
	}
}

static void orphan(const char *dir, unsigned long id, const char *why)
{
	buf fn = BUF_INIT;
	name(&fn, dir, id);
	problem(fn.s, why);
	fixed(removefile(fn.s));
	buf_free(&fn);
}

/* todo/N, intd/N, info/S/N need the message itself. */
static void needmess(const char *dir, unsigned long id)
{
	if (!exists("mess", id)) orphan(dir, id, "its message (mess/) is gone; removed");
}
/* local, remote, bounce, hold belong to a preprocessed message (or to
 * one being preprocessed again: todo/N). */
static void needinfo(const char *dir, unsigned long id)
{
	if (!exists("info", id) && !exists("todo", id)) orphan(dir, id, "no info/ or todo/ file for it; removed");
}
/* A message with neither todo/N nor info/S/N: qmail-queue died while
 * writing it, or a crash came before qmail-clean removed it. */
static void abandoned(const char *dir, unsigned long id)
{
	buf fn = BUF_INIT;
	struct stat st;
	if (!exists("todo", id) && !exists("info", id) && lstat(queue_fn(&fn, dir, id), &st) == 0 &&
	    (st.st_nlink == 1 || now > st.st_mtime + OSSIFIED)) {
		if (exists("intd", id)) orphan("intd", id, "left by an unfinished qmail-queue; removed");
		orphan(dir, id, "neither todo/ nor info/ for it: unfinished or finished long ago; removed");
	}
	buf_free(&fn);
}

static void oldpid(void)
{
	DIR *dd = opendir("pid");
	struct dirent *e;
	buf fn = BUF_INIT;
	if (!dd) return;
	while ((e = readdir(dd))) {
		struct stat st;
		if (e->d_name[0] == '.') continue;
		if (buf_copys(&fn, "pid/") < 0 || buf_puts(&fn, e->d_name) < 0) err_nomem();
		if (lstat(fn.s, &st) == 0 && now > st.st_mtime + OSSIFIED) {
			problem(fn.s, "left by a qmail-queue 36 hours ago or more; removed");
			fixed(removefile(fn.s));
		}
	}
	closedir(dd);
	buf_free(&fn);
}

static void orphans(void)
{
	each("todo", needmess);
	each("intd", needmess);
	each("info", needmess);
	each("local", needinfo);
	each("remote", needinfo);
	each("bounce", needinfo);
	each(QCTL_HOLDDIR, needinfo);
	each("mess", abandoned);
	oldpid();
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	int opt, m;

	err_prog = "qmail-qfix";
	while ((opt = getopt(argc, argv, "n")) != -1)
		switch (opt) {
		case 'n': dry = 1; break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	if (optind < argc) err_die(EXIT_PERM, USAGE, (char *)0);
	if (nq_ids_read(&ids) < 0) err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/users/ids", (char *)0);
	if (!ids.single && geteuid() != 0) err_die(EXIT_PERM, "qmail-qfix must run as root", (char *)0);
	if (chdir(nq_home()) < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), (char *)0);
	if (chdir("queue") < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), "/queue (setup makes it)", (char *)0);
	out_init(&out, 1, 0);
	umask(0);
	now = time(0);

	/* lock/sendmutex first: nothing may change while qmail-send runs */
	if (!dry && mkdir("lock", 0750) < 0 && errno != EEXIST)
		err_dieerr(EXIT_TEMP, "unable to create queue/lock", (char *)0);
	m = open("lock/sendmutex", dry ? O_WRONLY | O_CLOEXEC : O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (m < 0 && !dry) err_dieerr(EXIT_TEMP, "unable to open queue/lock/sendmutex", (char *)0);
	if (m >= 0 && lock_exnb(m) < 0) {
		if (errno != EWOULDBLOCK) err_dieerr(EXIT_TEMP, "unable to lock queue/lock/sendmutex", (char *)0);
		if (!dry) err_die(EXIT_TEMP, "qmail-send is running: stop it first (qmailctl stop); nothing changed", (char *)0);
		err_warn("qmail-send is running: the queue may change while it is looked at", (char *)0);
	}
	/* m stays open, locked: qmail-send cannot start until we exit */

	structure();
	messages();
	orphans();
	if (!problems) put("queue is fine\n");
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	if (failed) return EXIT_TEMP;
	return dry && problems ? 1 : 0;
}
