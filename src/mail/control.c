/* control: qmail-style control files. */
#include "mail/control.h"
#include "mail/instance.h"
#include "lib/io.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

static int readraw(buf *f, const char *name)
{
	buf path = BUF_INIT;
	int r;

	if (buf_copys(&path, "control/") < 0 || buf_puts(&path, name) < 0) return -1;
	{
		buf full = BUF_INIT;
		nq_path(&full, path.s);
		r = read_file(full.s, f, CONTROL_MAX);
		buf_free(&full);
	}
	buf_free(&path);
	if (r < 0) return errno == ENOENT ? 0 : -1;
	return 1;
}

static size_t trimmed(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) n--;
	return n;
}

int control_readline(buf *b, const char *name, const char *def)
{
	buf f = BUF_INIT;
	int r = readraw(&f, name);
	size_t n;

	if (r <= 0) {
		buf_free(&f);
		if (r < 0) return -1;
		if (buf_copys(b, def ? def : "") < 0) return -1;
		return 0;
	}
	n = byte_chr(f.s, f.len, '\n');
	n = trimmed(f.s, n);
	r = buf_copy(b, f.s, n) < 0 ? -1 : 1;
	buf_free(&f);
	return r;
}

int control_readme(buf *b, const char *name)
{
	int r = control_readline(b, name, 0);
	if (r != 0) return r;
	if (control_readline(b, "me", 0) < 0) return -1;
	return 0;
}

int control_readulong(unsigned long *u, const char *name, unsigned long def)
{
	buf b = BUF_INIT;
	int r = control_readline(&b, name, 0);
	if (r == 1) {
		const char *s = b.s;
		while (*s == ' ' || *s == '\t') s++;
		if (str_toul(s, u) < 0) { errno = EINVAL; r = -1; }
	} else if (r == 0) *u = def;
	buf_free(&b);
	return r;
}

int control_readlines(buf *b, const char *name)
{
	buf f = BUF_INIT;
	int r = readraw(&f, name);
	size_t i = 0;

	b->len = 0;
	if (buf_ready(b, 0) < 0) { buf_free(&f); return -1; }
	if (r <= 0) { buf_free(&f); return r; }
	while (i < f.len) {
		size_t n = byte_chr(f.s + i, f.len - i, '\n');
		size_t t = trimmed(f.s + i, n);
		if (t && f.s[i] != '#') {
			if (buf_put(b, f.s + i, t) < 0 || buf_put0(b) < 0) { r = -1; break; }
		}
		i += n + 1;
	}
	buf_free(&f);
	return r;
}

const char *list_next(const buf *b, const char *p)
{
	if (!p) return b->len ? b->s : 0;
	p += strlen(p) + 1;
	return p < b->s + b->len ? p : 0;
}
