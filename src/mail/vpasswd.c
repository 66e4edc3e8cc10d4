/* vpasswd: the virtual-user file (see vpasswd.h). */
#include "mail/vpasswd.h"
#include "lib/str.h"
#include <string.h>

int vpasswd_login_ok(const char *s, size_t n)
{
	size_t i;
	if (n == 0 || n > VPASSWD_LOGIN_MAX) return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 32 || c == 127 || c == ':') return 0;
	}
	return 1;
}

/* The login field of the line at s[0..n) matches? */
static int is(const char *s, size_t n, const char *login, size_t ll)
{
	return n > ll && s[ll] == ':' && case_eqn(s, login, ll);
}

int vpasswd_find(const buf *f, const char *login, size_t ll, struct vpw *v)
{
	size_t i = 0;

	while (i < f->len) {
		size_t n = byte_chr(f->s + i, f->len - i, '\n');
		const char *s = f->s + i;
		size_t end = n;
		if (end && s[end - 1] == '\r') end--;
		if (end && s[0] != '#' && is(s, end, login, ll)) {
			char *fld[4];
			size_t k, nf = 1;
			if (buf_copy(&v->line, s, end) < 0) return -1;
			fld[0] = v->line.s;
			for (k = 0; k < v->line.len && nf < 4; k++)
				if (v->line.s[k] == ':') { v->line.s[k] = 0; fld[nf++] = v->line.s + k + 1; }
			while (nf < 4) fld[nf++] = v->line.s + v->line.len;
			v->login = fld[0];
			v->hash = fld[1];
			v->account = fld[2];
			v->home = fld[3];
			return 1;
		}
		i += n + 1;
	}
	return 0;
}

int vpasswd_edit(const buf *f, const char *login, size_t ll, const char *line, buf *out, int *found)
{
	size_t i = 0;

	*found = 0;
	out->len = 0;
	if (buf_ready(out, 0) < 0) return -1;
	while (i < f->len) {
		size_t n = byte_chr(f->s + i, f->len - i, '\n');
		const char *s = f->s + i;
		size_t end = n;
		if (end && s[end - 1] == '\r') end--;
		if (end && s[0] != '#' && is(s, end, login, ll)) *found = 1;
		else if (buf_put(out, s, n) < 0 || buf_putc(out, '\n') < 0) return -1;
		i += n + 1;
	}
	if (line && (buf_puts(out, line) < 0 || buf_putc(out, '\n') < 0)) return -1;
	return 0;
}

void vpw_free(struct vpw *v)
{
	buf_wipe(&v->line);
}
