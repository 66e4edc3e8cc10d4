/* preproc: todo/N into info/S/N, local/S/N, remote/S/N; see preproc.h. */
#include "mail/preproc.h"
#include "mail/envelope.h"
#include "mail/qrec.h"
#include "mail/queue.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAX (ENVELOPE_ADDR_MAX + 8)

static const char *chandir[2] = { "local", "remote" };

static int fail(preproc *p, const char *what, const char *dir, unsigned long id)
{
	p->what = what;
	queue_fn(&p->file, dir, id);
	return -1;
}

int preproc_todo(preproc *p, unsigned long id, const route *rt)
{
	io_in in;
	io_out oi, o[2];
	int fd, fdi = -1, fdc[2] = { -1, -1 }, c, r, gotf = 0, ret = -1, redo = 0;
	struct stat st;
	size_t used;

	p->uid = p->pid = 0;
	p->chans = 0;
	p->bytes = 0;
	p->sender.len = 0;
	fd = open(queue_fn(&p->file, "todo", id), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) return 0;
		return fail(p, "unable to open ", "todo", id);
	}
	if (stat(queue_fn(&p->file, "mess", id), &st) < 0) { fail(p, "unable to stat ", "mess", id); goto out; }
	p->bytes = (unsigned long long)st.st_size;
	/* An existing info/S/N means an earlier attempt (a crash, or a
	 * qmail-clean that failed): only then can channel files be stale. */
	fdi = open(queue_fn(&p->file, "info", id), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fdi < 0 && errno == EEXIST) {
		redo = 1;
		fdi = open(p->file.s, O_WRONLY | O_TRUNC | O_CLOEXEC);
	}
	if (fdi < 0) { fail(p, "unable to create ", "info", id); goto out; }
	out_init(&oi, fdi, 0);
	in_init(&in, fd, 0);
	for (;;) {
		r = qrec_get(&in, &p->rec, REC_MAX, &used);
		if (r < 0) { fail(p, "trouble reading ", "todo", id); goto out; }
		if (r == 0 || p->rec.len == 0) break;   /* the final NUL (or qmail's own end) */
		switch (p->rec.s[0]) {
		case 'u': scan_ulong(p->rec.s + 1, p->rec.len - 1, &p->uid); break;
		case 'p': scan_ulong(p->rec.s + 1, p->rec.len - 1, &p->pid); break;
		case 'F':
			if (gotf) { fail(p, "unknown record type in ", "todo", id); goto out; }
			gotf = 1;
			if (out_put(&oi, p->rec.s, p->rec.len + 1) < 0 || out_flush(&oi) < 0) {
				fail(p, "trouble writing to ", "info", id);
				goto out;
			}
			if (buf_copy(&p->sender, p->rec.s + 1, p->rec.len - 1) < 0) { fail(p, "out of memory for ", "todo", id); goto out; }
			break;
		case 'T':
			if (!gotf) { fail(p, "unknown record type in ", "todo", id); goto out; }
			r = route_rewrite(rt, p->rec.s + 1, p->rec.len - 1, &p->addr);
			if (r < 0) { fail(p, "out of memory for ", "todo", id); goto out; }
			c = r == ROUTE_LOCAL ? 0 : 1;
			if (fdc[c] < 0) {
				fdc[c] = open(queue_fn(&p->file, chandir[c], id), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
				if (fdc[c] < 0) { fail(p, "unable to create ", chandir[c], id); goto out; }
				out_init(&o[c], fdc[c], 0);
				p->chans |= 1 << c;
			}
			if (out_put(&o[c], "T", 1) < 0 || out_put(&o[c], p->addr.s, p->addr.len + 1) < 0) {
				fail(p, "trouble writing to ", chandir[c], id);
				goto out;
			}
			break;
		default:
			fail(p, "unknown record type in ", "todo", id);
			goto out;
		}
	}
	if (!gotf) { fail(p, "unknown record type in ", "todo", id); goto out; }
	/* The info file's data must be on disk before todo/N may go. */
	if (fsync(fdi) < 0) { fail(p, "trouble fsyncing ", "info", id); goto out; }
	for (c = 0; c < 2; c++) {
		if (fdc[c] < 0) {
			if (redo && unlink(queue_fn(&p->file, chandir[c], id)) < 0 && errno != ENOENT) {
				fail(p, "unable to unlink ", chandir[c], id);
				goto out;
			}
			continue;
		}
		if (out_flush(&o[c]) < 0) { fail(p, "trouble writing to ", chandir[c], id); goto out; }
		/* likewise the recipient lists */
		if (fsync(fdc[c]) < 0) { fail(p, "trouble fsyncing ", chandir[c], id); goto out; }
	}
	ret = 1;
out:
	close(fd);
	if (fdi >= 0) close(fdi);
	for (c = 0; c < 2; c++) if (fdc[c] >= 0) close(fdc[c]);
	return ret;
}
