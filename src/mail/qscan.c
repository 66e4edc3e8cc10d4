/* qscan: reading messages and recipients from DIR/queue; see qscan.h. */
#include "mail/qscan.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/envelope.h"
#include "mail/qctl.h"
#include "mail/qrec.h"
#include "mail/queue.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAX (ENVELOPE_ADDR_MAX + 8)

void qmsg_free(qmsg *m) { buf_free(&m->sender); }

/* The sender record ('F') of an open info or todo file. */
static int getsender(io_in *in, buf *sender)
{
	buf rec = BUF_INIT;
	size_t used;
	int r;

	sender->len = 0;
	for (;;) {
		r = qrec_get(in, &rec, REC_MAX, &used);
		if (r <= 0) break;
		if (rec.s[0] == 'F') {
			r = buf_copy(sender, rec.s + 1, rec.len - 1);
			buf_free(&rec);
			return r;
		}
		if (rec.s[0] != 'u' && rec.s[0] != 'p') break;   /* todo: u and p come first */
	}
	buf_free(&rec);
	if (r == 0) errno = EPROTO;
	return -1;
}

/* Fill m for message id from its info file (todo 0) or todo file (1).
 * 1 ok, 0 the file is gone, -1 error. */
static int load(unsigned long id, int todo, qmsg *m)
{
	buf fn = BUF_INIT;
	struct stat st;
	io_in in;
	int fd, r = -1;

	fd = open(queue_fn(&fn, todo ? "todo" : "info", id), O_RDONLY | O_CLOEXEC);
	if (fd < 0) { r = errno == ENOENT ? 0 : -1; goto out; }
	if (fstat(fd, &st) < 0) { close(fd); goto out; }
	in_init(&in, fd, 0);
	if (getsender(&in, &m->sender) < 0) {
		/* an empty todo/N is being written by... nobody: qmail-queue
		 * links it complete. An unreadable one is reported. */
		close(fd);
		goto out;
	}
	close(fd);
	m->id = id;
	m->todo = todo;
	m->birth = st.st_mtime;
	m->held = qctl_held(id) == 1;
	m->bouncing = stat(queue_fn(&fn, "bounce", id), &st) == 0;
	m->size = stat(queue_fn(&fn, "mess", id), &st) == 0 ? (unsigned long long)st.st_size : 0;
	r = 1;
out:
	buf_free(&fn);
	return r;
}

int qscan_one(unsigned long id, qmsg *m)
{
	int r = load(id, 1, m);
	if (r != 0) return r;
	return load(id, 0, m);
}

/* For each numeric name in dir: f(ctx, id). Returns as qscan_each. */
static int eachname(const char *dir, int todo, qscan_msg_fn f, void *ctx, const char **what)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	qmsg m = {0};
	buf fn = BUF_INIT;
	int r = 0;

	if (!d) { *what = dir; return -1; }
	for (;;) {
		unsigned long id;
		struct stat st;
		int k;
		errno = 0;
		e = readdir(d);
		if (!e) { if (errno) { *what = dir; r = -1; } break; }
		if (str_toul(e->d_name, &id) < 0 || !id) continue;
		/* a message being preprocessed is still a todo message */
		if (!todo && stat(queue_fn(&fn, "todo", id), &st) == 0) continue;
		k = load(id, todo, &m);
		if (k == 0) continue;
		if (k < 0) {
			/* one damaged message must not hide the others */
			continue;
		}
		if (f(ctx, &m) < 0) { r = 1; break; }
	}
	closedir(d);
	qmsg_free(&m);
	buf_free(&fn);
	return r;
}

int qscan_each(qscan_msg_fn f, void *ctx, const char **what)
{
	static char dir[32];
	int s, r;

	r = eachname("todo", 1, f, ctx, what);
	if (r) return r;
	for (s = 0; s < QUEUE_SPLIT; s++) {
		char n[24];
		size_t k = fmt_ulong(n, (unsigned long long)s);
		memcpy(dir, "info/", 5);
		memcpy(dir + 5, n, k + 1);
		r = eachname(dir, 0, f, ctx, what);
		if (r) return r;
	}
	return 0;
}

/* Records of one file: T and D (channel files) or T (todo, after the
 * u, p and F records). */
static int rcpts_file(const qmsg *m, const char *dir, int chan, qscan_rcpt_fn f, void *ctx)
{
	buf fn = BUF_INIT, rec = BUF_INIT;
	io_in in;
	size_t used;
	int fd, r;

	fd = open(queue_fn(&fn, dir, m->id), O_RDONLY | O_CLOEXEC);
	buf_free(&fn);
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	in_init(&in, fd, 0);
	for (;;) {
		r = qrec_get(&in, &rec, REC_MAX, &used);
		if (r <= 0) break;
		if (rec.s[0] == 'T' || (rec.s[0] == 'D' && chan != QSCAN_TODO)) {
			if (f(ctx, m, chan, rec.s[0] == 'D', rec.s + 1, rec.len - 1) < 0) { r = 2; break; }
		}
		/* u, p, F and a todo file's final empty record are skipped */
	}
	close(fd);
	buf_free(&rec);
	if (r == 2) return 1;
	/* a final empty record ends a todo file: qrec_get returns it as a
	 * record of length 0 and then the end of the file */
	return r < 0 ? -1 : 0;
}

int qscan_rcpts(const qmsg *m, qscan_rcpt_fn f, void *ctx)
{
	int r;
	if (m->todo) return rcpts_file(m, "todo", QSCAN_TODO, f, ctx);
	r = rcpts_file(m, "local", QSCAN_LOCAL, f, ctx);
	if (r) return r;
	return rcpts_file(m, "remote", QSCAN_REMOTE, f, ctx);
}

int qscan_domain(buf *d, const char *addr, size_t len)
{
	size_t at = byte_rchr(addr, len, '@');
	const char *p = at < len ? addr + at + 1 : addr;
	size_t n = at < len ? len - at - 1 : len;

	while (n && p[n - 1] == '.') n--;
	if (buf_copy(d, p, n) < 0) return -1;
	case_lower(d->s, d->len);
	return 0;
}
