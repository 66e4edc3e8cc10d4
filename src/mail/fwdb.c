/* fwdb: setforward's text format, the forwarding cdb and binary mailing
 * lists; see fwdb.h. */
#include "mail/fwdb.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/str.h"
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>          /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int isalnum_ascii(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int fwdb_cmdtype(const char *cmd)
{
	switch (cmd[0]) {
	case '&': case '|': case '!': case '>': case '/':
		return cmd[0];
	case '.':
		return '/';
	default:
		return 0;
	}
}

/* --- parsing setforward's format ---------------------------------------- */

void fwdb_instr_free(fwdb_instr *in)
{
	buf_free(&in->target);
	buf_free(&in->cmds);
	buf_free(&in->owner);
}

/* The command in c (not NUL-terminated) is complete: classify it. */
static int endcmd(fwdb_instr *in, buf *c, const char **why)
{
	const char *s = c->s;
	size_t n = c->len;

	if (n == 0) return 0;                 /* ",," or ":;" -- nothing there */
	if (s[0] == '?') {
		if (n == 1) { *why = "empty owner address"; return -1; }
		if (n - 1 > FWDB_ADDR_MAX) { *why = "addresses over 800 bytes are not permitted"; return -1; }
		if (buf_copy(&in->owner, s + 1, n - 1) < 0) goto nomem;
		in->hasowner = 1;
		c->len = 0;
		return 0;
	}
	if (s[0] == '&' || isalnum_ascii((unsigned char)s[0])) {
		size_t skip = s[0] == '&';
		if (n == skip) { *why = "empty recipient address"; return -1; }
		if (n - skip > FWDB_ADDR_MAX) { *why = "addresses over 800 bytes are not permitted"; return -1; }
		if (buf_putc(&in->cmds, '&') < 0 || buf_put(&in->cmds, s + skip, n - skip) < 0) goto nomem;
	} else if (s[0] == '|' || s[0] == '!') {
		if (n == 1) { *why = "empty program"; return -1; }
		if (buf_put(&in->cmds, s, n) < 0) goto nomem;
	} else if (s[0] == '/' || s[0] == '.') {
		if (buf_put(&in->cmds, s, n) < 0) goto nomem;
	} else if (s[0] == '>') {
		if (n == 1 || s[1] != '/') { *why = "file deliveries need an absolute path"; return -1; }
		if (buf_put(&in->cmds, s, n) < 0) goto nomem;
	} else {
		*why = "unrecognized command (not & ? | ! / . > or a letter or digit)";
		return -1;
	}
	if (buf_put0(&in->cmds) < 0) goto nomem;
	in->ncmds++;
	c->len = 0;
	return 0;
nomem:
	*why = "out of memory";
	errno = ENOMEM;
	return -1;
}

int fwdb_parse(const char *s, size_t n, size_t *pos, size_t *line, fwdb_instr *in, const char **why)
{
	buf cmd = BUF_INIT;
	size_t i = *pos;
	int colon = 0, any = 0, r = -1;

	in->target.len = 0;
	in->cmds.len = 0;
	in->owner.len = 0;
	in->ncmds = 0;
	in->hasowner = 0;
	for (;;) {
		char ch;
		if (i >= n) {
			if (!any) { r = 0; goto out; }
			*why = "final instruction must end with semicolon";
			goto out;
		}
		ch = s[i++];
		switch (ch) {
		case '\n':
			++*line;
			continue;
		case ' ': case '\t': case '\r':
			continue;
		case '#':
			while (i < n && s[i] != '\n') i++;
			continue;
		case 0:
			*why = "NUL bytes are not permitted";
			goto out;
		case ':':
			if (colon) { *why = "double colons are not permitted"; goto out; }
			if (!in->target.len) { *why = "an instruction needs a target before its colon"; goto out; }
			colon = 1;
			continue;
		case ',':
			if (!colon) { *why = "commas are not permitted before colons"; goto out; }
			if (endcmd(in, &cmd, why) < 0) goto out;
			continue;
		case ';':
			if (!colon) { *why = "an instruction needs a colon before its semicolon"; goto out; }
			if (endcmd(in, &cmd, why) < 0) goto out;
			*pos = i;
			r = 1;
			goto out;
		case '\\':
			if (i >= n) { *why = "backslash at end of input"; goto out; }
			ch = s[i++];
			if (!ch) { *why = "NUL bytes are not permitted"; goto out; }
			if (ch == '\n') ++*line;
			break;
		default:
			break;
		}
		any = 1;
		if (!colon) {
			if (in->target.len >= FWDB_ADDR_MAX) { *why = "targets over 800 bytes are not permitted"; goto out; }
			if (buf_putc(&in->target, ch) < 0) goto nomem;
		} else {
			if (cmd.len >= FWDB_CMD_MAX) { *why = "command too long"; goto out; }
			if (buf_putc(&cmd, ch) < 0) goto nomem;
		}
	}
nomem:
	*why = "out of memory";
	errno = ENOMEM;
out:
	if (r == 1) {
		case_lower(in->target.s, in->target.len);
		if (buf_put(&in->target, "", 0) < 0) { *why = "out of memory"; r = -1; }
	}
	buf_free(&cmd);
	return r;
}

/* --- writing setforward's format ---------------------------------------- */

int fwdb_put_escaped(buf *out, const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (strchr(" \t\r\n,:;#\\", s[i]) && s[i] && buf_putc(out, '\\') < 0) return -1;
		if (buf_putc(out, s[i]) < 0) return -1;
	}
	return 0;
}

int fwdb_put_cmd(buf *out, const char *cmd, size_t n)
{
	return fwdb_put_escaped(out, cmd, n);
}

/* --- setmaillist's lines ---------------------------------------------------- */

int fwdb_listline(const char *s, size_t n, buf *out, const char **why)
{
	size_t skip;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
	if (n == 0 || s[0] == '#') return 0;
	if (memchr(s, 0, n)) { *why = "NUL bytes are not permitted"; return -1; }
	if (s[0] == '.' || s[0] == '/') {
		if (n > FWDB_CMD_MAX) { *why = "file name too long"; return -1; }
		if (buf_put(out, s, n) < 0 || buf_put0(out) < 0) goto nomem;
		return 1;
	}
	if (s[0] != '&' && !isalnum_ascii((unsigned char)s[0])) {
		*why = "a line must be an address (& or a letter or digit first) or a file name (. or /)";
		return -1;
	}
	skip = s[0] == '&';
	if (n == skip) { *why = "empty recipient address"; return -1; }
	if (n - skip > FWDB_ADDR_MAX) { *why = "addresses over 800 bytes are not permitted"; return -1; }
	if (buf_putc(out, '&') < 0 || buf_put(out, s + skip, n - skip) < 0 || buf_put0(out) < 0) goto nomem;
	return 1;
nomem:
	*why = "out of memory";
	return -1;
}

int fwdb_slurp(int fd, buf *b, size_t max)
{
	char tmp[8192];
	b->len = 0;
	if (buf_ready(b, 0) < 0) return -1;
	b->s[0] = 0;
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		if (r == 0) return 0;
		if (b->len + (size_t)r > max) { errno = ERANGE; return -1; }
		if (buf_put(b, tmp, (size_t)r) < 0) return -1;
	}
}

/* --- writing files ------------------------------------------------------------ */

static int opentmp(const char *tmp, int mode)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) return -1;
	/* the umask must not make a world-readable database unreadable */
	if (fchmod(fd, (mode_t)mode) < 0) { int e = errno; close(fd); errno = e; return -1; }
	return fd;
}

static int commit(int fd, const char *tmp, const char *path)
{
	if (fsync(fd) < 0) { int e = errno; close(fd); errno = e; return -1; }
	if (close(fd) < 0) return -1;
	if (rename(tmp, path) < 0) return -1;
	return fsync_parent(path);
}

int fwdb_replace(const char *path, const char *tmp, const void *data, size_t n, int mode)
{
	int fd = opentmp(tmp, mode);
	if (fd < 0) return -1;
	if (write_all(fd, data, n) < 0 || commit(fd, tmp, path) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int fwdb_start(fwdb_make *m, const char *path, const char *tmp)
{
	memset(m, 0, sizeof *m);
	m->fd = -1;
	m->cm = malloc(sizeof(struct cdb_make));
	if (!m->cm) { errno = ENOMEM; return -1; }
	if (buf_copys(&m->path, path) < 0 || buf_copys(&m->tmp, tmp) < 0) { fwdb_abort(m); return -1; }
	m->fd = opentmp(tmp, 0644);
	if (m->fd < 0) { int e = errno; buf_trunc(&m->tmp, 0); fwdb_abort(m); errno = e; return -1; }
	if (cdb_make_start(m->cm, m->fd) < 0) { fwdb_abort(m); return -1; }
	return 0;
}

static int add(fwdb_make *m, char type, const buf *k, const char *v, size_t vl)
{
	size_t kl = strlen(k->s);
	if (kl + 1 > UINT32_MAX / 2 || vl > FWDB_VALUE_MAX) { errno = ERANGE; return -1; }
	if (buf_copy(&m->key, &type, 1) < 0 || buf_put(&m->key, k->s, kl) < 0) return -1;
	return cdb_make_add(m->cm, m->key.s, (unsigned)m->key.len, v, (unsigned)vl) < 0 ? -1 : 0;
}

int fwdb_add(fwdb_make *m, const fwdb_instr *in)
{
	if ((in->ncmds || !in->hasowner) && add(m, ':', &in->target, in->cmds.s ? in->cmds.s : "", in->cmds.len) < 0)
		return -1;
	if (in->hasowner && add(m, '?', &in->target, in->owner.s, in->owner.len) < 0) return -1;
	return 0;
}

int fwdb_finish(fwdb_make *m)
{
	int fd = m->fd;
	if (cdb_make_finish(m->cm) < 0) { fwdb_abort(m); return -1; }
	m->fd = -1;
	if (commit(fd, m->tmp.s, m->path.s) < 0) {
		int e = errno;
		close(fd);
		fwdb_abort(m);
		errno = e;
		return -1;
	}
	buf_trunc(&m->tmp, 0);
	fwdb_abort(m);
	return 0;
}

void fwdb_abort(fwdb_make *m)
{
	int e = errno;
	if (m->fd >= 0) close(m->fd);
	m->fd = -1;
	if (m->tmp.len) unlink(m->tmp.s);
	free(m->cm);
	m->cm = 0;
	buf_free(&m->tmp);
	buf_free(&m->path);
	buf_free(&m->key);
	errno = e;
}

/* --- reading ------------------------------------------------------------------ */

int fwdb_open(fwdb *d, const char *path)
{
	memset(d, 0, sizeof *d);
	d->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0) return -1;
	d->c = malloc(sizeof(struct cdb));
	if (!d->c) { close(d->fd); d->fd = -1; errno = ENOMEM; return -1; }
	if (cdb_init(d->c, d->fd) < 0) {
		free(d->c);
		d->c = 0;
		close(d->fd);
		d->fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int fwdb_get(fwdb *d, char type, const char *k, size_t n, buf *val)
{
	unsigned vlen;
	int r;

	if (n > FWDB_CMD_MAX) return 0;     /* no key is that long */
	if (buf_copy(&d->key, &type, 1) < 0 || buf_put(&d->key, k, n) < 0) return -1;
	case_lower(d->key.s + 1, n);
	r = cdb_find(d->c, d->key.s, (unsigned)d->key.len);
	if (r < 0) { errno = EPROTO; return -1; }
	if (r == 0) return 0;
	vlen = cdb_datalen((struct cdb *)d->c);
	if (vlen > FWDB_VALUE_MAX) { errno = ERANGE; return -1; }
	if (buf_ready(val, vlen) < 0) return -1;
	if (cdb_read(d->c, val->s, vlen, cdb_datapos((struct cdb *)d->c)) < 0) { errno = EPROTO; return -1; }
	val->len = vlen;
	val->s[vlen] = 0;
	return 1;
}

void fwdb_close(fwdb *d)
{
	if (d->c) { cdb_free(d->c); free(d->c); }
	if (d->fd >= 0) close(d->fd);
	d->c = 0;
	d->fd = -1;
	buf_free(&d->key);
}

int fwdb_next(const char *v, size_t n, size_t *pos, const char **cmd)
{
	const char *z;
	if (*pos >= n) return 0;
	z = memchr(v + *pos, 0, n - *pos);
	if (!z) return -1;
	*cmd = v + *pos;
	*pos = (size_t)(z - v) + 1;
	return 1;
}
