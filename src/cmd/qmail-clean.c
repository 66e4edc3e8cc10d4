/* qmail-clean: remove the queue files that qmail-send, running as qmails,
 * may not remove itself (qmail-clean(8)). It runs as qmailq in DIR/queue.
 *
 * Requests come on fd 0 and one-byte replies go to fd 1, as
 * src/mail/spawn.h defines them:
 *   "t<N>\0"  qmail-send has preprocessed message N: remove intd/N, todo/N
 *   "m<N>\0"  message N is finished or abandoned: remove intd/N, todo/N,
 *             mess/S/N
 *   reply '+' done (a file already gone counts as done), '!' failed.
 * End of file on fd 0 ends the program with exit 0.
 *
 * Besides, at start and after every idle hour, files in pid/ older than
 * 36 hours are removed: they are names left by a qmail-queue that crashed
 * or was killed, whose DEATH alarm (24 hours) has long expired.
 *
 * Removals are not fsynced: a removal a crash forgets is only redone (a
 * todo/N found again is preprocessed again, at worst delivering twice; a
 * mess/S/N left over is cleaned again), which is what DESIGN's "at least
 * once" allows, and it saves a disk flush per message. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/queue.h"
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OSSIFIED (36 * 60 * 60)   /* age of an abandoned pid/ file */
#define IDLE 3600                 /* seconds between pid/ sweeps when idle */
#define REQUEST_MAX 64            /* a type letter and a number: plenty */

/* Remove the pid/ files whose last change is older than OSSIFIED. */
static void sweep_pid(void)
{
	DIR *d = opendir("pid");
	struct dirent *e;
	time_t now = time(0);
	buf fn = BUF_INIT;

	if (!d) { err_warnerr("warning: unable to open queue/pid", (char *)0); return; }
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.') continue;
		if (buf_copys(&fn, "pid/") < 0 || buf_puts(&fn, e->d_name) < 0) err_nomem();
		if (lstat(fn.s, &st) < 0 || !S_ISREG(st.st_mode)) continue;
		if (st.st_mtime > now - OSSIFIED) continue;
		if (unlink(fn.s) < 0 && errno != ENOENT)
			err_warnerr("warning: unable to remove queue/", fn.s, (char *)0);
	}
	closedir(d);
	buf_free(&fn);
}

static int gone(buf *fn, const char *dir, unsigned long num)
{
	queue_fn(fn, dir, num);
	if (unlink(fn->s) == 0 || errno == ENOENT) return 0;
	err_warnerr("warning: unable to remove queue/", fn->s, (char *)0);
	return -1;
}

/* Carry out one request; '+' or '!'. The envelope goes first: an
 * intd/N without todo/N would look like a qmail-queue that died, and
 * the old-file cleanup would then take mess/S/N with it. todo/N goes
 * before mess/S/N, so no crash can leave a todo/N without its message. */
static char request(const buf *req)
{
	unsigned long num;
	buf fn = BUF_INIT;
	size_t n = req->len - 1;         /* without the NUL */
	int bad = 0;

	if (n < 2 || (req->s[0] != 't' && req->s[0] != 'm') ||
	    scan_ulong(req->s + 1, n - 1, &num) != n - 1) {
		err_warn("warning: bad request from qmail-send", (char *)0);
		return '!';
	}
	if (gone(&fn, "intd", num) < 0) bad = 1;
	else if (gone(&fn, "todo", num) < 0) bad = 1;
	else if (req->s[0] == 'm' && gone(&fn, "mess", num) < 0) bad = 1;
	buf_free(&fn);
	return bad ? '!' : '+';
}

int main(void)
{
	io_in in;
	io_out out;
	buf req = BUF_INIT;
	time_t swept;

	err_prog = "qmail-clean";
	if (chdir(nq_home()) < 0 || chdir("queue") < 0)
		err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), "/queue", (char *)0);
	sweep_pid();
	swept = time(0);

	in_init(&in, 0, IDLE);
	out_init(&out, 1, 0);
	for (;;) {
		int r;
		/* Replies are flushed when no request is waiting, so a burst of
		 * requests is answered with one write. */
		if (in_buffered(&in) == 0 && out.len && out_flush(&out) < 0)
			err_dieerr(EXIT_TEMP, "unable to write to qmail-send", (char *)0);
		/* Sweep after an idle hour, and hourly when never idle. */
		if (time(0) - swept >= IDLE) { sweep_pid(); swept = time(0); }
		r = in_getline(&in, &req, 0, REQUEST_MAX);
		if (r < 0 && errno == ETIMEDOUT) continue;
		if (r < 0 && errno == ERANGE) {
			req.len = 0;
			if (out_put(&out, "!", 1) < 0) err_dieerr(EXIT_TEMP, "unable to write to qmail-send", (char *)0);
			err_warn("warning: request too long", (char *)0);
			continue;
		}
		if (r < 0) err_dieerr(EXIT_TEMP, "unable to read from qmail-send", (char *)0);
		if (r == 0) break;
		{
			char c = request(&req);
			if (out_put(&out, &c, 1) < 0)
				err_dieerr(EXIT_TEMP, "unable to write to qmail-send", (char *)0);
		}
		req.len = 0;
	}
	if (req.len) err_warn("warning: incomplete last request ignored", (char *)0);
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write to qmail-send", (char *)0);
	buf_free(&req);
	return 0;
}
