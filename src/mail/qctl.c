/* qctl: hold files, the request pipe and "due now"; see qctl.h. */
#include "mail/qctl.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

const char *qctl_holdfn(buf *b, unsigned long id)
{
	if (buf_copys(b, QCTL_HOLDDIR "/") < 0 || buf_putnum(b, id) < 0) err_nomem();
	return b->s;
}

int qctl_held(unsigned long id)
{
	char fn[sizeof QCTL_HOLDDIR + 24];
	struct stat st;
	size_t k = sizeof QCTL_HOLDDIR - 1;

	memcpy(fn, QCTL_HOLDDIR "/", k + 1);
	fmt_ulong(fn + k + 1, id);
	if (stat(fn, &st) == 0) return 1;
	return errno == ENOENT ? 0 : -1;
}

void qctl_feed(qctl_in *in, const char *p, size_t n, qctl_fn f, void *ctx)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = p[i];
		if (c) {
			if (in->n < sizeof in->b - 1 && c >= '0' && c <= '9') in->b[in->n++] = c;
			else in->bad = 1;
			continue;
		}
		if (!in->bad && in->n) {
			unsigned long id;
			in->b[in->n] = 0;
			if (str_toul(in->b, &id) == 0 && id) f(ctx, id);
		}
		in->n = 0;
		in->bad = 0;
	}
}

int qctl_request(int fd, unsigned long id)
{
	char b[QCTL_REQ_MAX];
	size_t k = fmt_ulong(b, id);
	/* One write under PIPE_BUF bytes: atomic, never interleaved with
	 * another writer's request. */
	return write_all(fd, b, k + 1);
}

size_t qctl_due(sched *q, unsigned long id, time_t when)
{
	size_t i = 0, n = 0;
	while (i < q->n) {
		size_t k = i;
		sched_ent e;
		if (q->e[i].id != id || q->e[i].when <= when) { i++; continue; }
		/* an earlier time can only move an entry towards the root */
		e.id = id;
		e.when = when;
		while (k > 0) {
			size_t parent = (k - 1) / 2;
			if (q->e[parent].when <= when) break;
			q->e[k] = q->e[parent];
			k = parent;
		}
		q->e[k] = e;
		n++;
		/* position i now holds another entry (or this one): look again */
	}
	return n;
}
