/* cdbx: tinycdb wrapped for nqmail's needs. */
#include "lib/cdbx.h"
#include "lib/fs.h"
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int cdbx_get(const char *path, const char *key, size_t klen, buf *val)
{
	struct cdb c;
	int fd, r;
	unsigned vlen;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return errno == ENOENT ? 0 : -1;
	if (cdb_init(&c, fd) < 0) { close(fd); errno = EINVAL; return -1; }
	r = cdb_find(&c, key, (unsigned)klen);
	if (r > 0) {
		vlen = cdb_datalen(&c);
		if (buf_ready(val, vlen) < 0) r = -1;
		else if (cdb_read(&c, val->s, vlen, cdb_datapos(&c)) < 0) r = -1;
		else { val->len = vlen; val->s[vlen] = 0; r = 1; }
	}
	cdb_free(&c);
	close(fd);
	return r;
}

int cdbx_start(cdbx_make *m, const char *path, int mode)
{
	buf z = BUF_INIT;
	m->tmp = z;
	m->path = z;
	m->cm = malloc(sizeof(struct cdb_make));
	if (!m->cm) return -1;
	if (buf_copys(&m->path, path) < 0 || buf_copys(&m->tmp, path) < 0 ||
	    buf_puts(&m->tmp, ".tmp") < 0) return -1;
	m->fd = open(m->tmp.s, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (m->fd < 0) return -1;
	fchmod(m->fd, (mode_t)mode);
	cdb_make_start(m->cm, m->fd);
	return 0;
}

int cdbx_add(cdbx_make *m, const char *k, size_t kl, const char *v, size_t vl)
{
	return cdb_make_add(m->cm, k, (unsigned)kl, v, (unsigned)vl);
}

int cdbx_finish(cdbx_make *m)
{
	int r = -1;
	if (cdb_make_finish(m->cm) < 0) goto out;
	if (fsync(m->fd) < 0) goto out;
	if (close(m->fd) < 0) { m->fd = -1; goto out; }
	m->fd = -1;
	if (rename(m->tmp.s, m->path.s) < 0) goto out;
	r = fsync_parent(m->path.s);
out:
	if (r < 0) cdbx_abort(m);
	else { free(m->cm); buf_free(&m->tmp); buf_free(&m->path); }
	return r;
}

void cdbx_abort(cdbx_make *m)
{
	int e = errno;
	if (m->fd >= 0) close(m->fd);
	if (m->tmp.s) unlink(m->tmp.s);
	free(m->cm);
	m->cm = 0;
	buf_free(&m->tmp);
	buf_free(&m->path);
	errno = e;
}
