/* authres: building our Authentication-Results field and removing the
 * ones a message brings that claim our authserv-id (see authres.h).
 *
 * The filter is a small per-byte machine over the header: a field whose
 * name is not Authentication-Results passes through as soon as its name
 * says so; one that is is held until its authserv-id is known (the ';'
 * after it, or the end of the field), then passed or dropped whole,
 * continuation lines included. */
#include "mail/authres.h"
#include "lib/str.h"
#include <string.h>

#define NAME "authentication-results"
#define NAME_LEN 22

enum { M_PASS, M_HOLD, M_DROP };

/* ---- building --------------------------------------------------------- */

static int atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 128) return 1;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != 0;
}

/* A dot-atom: atext runs separated by single dots. */
static int dotatom(const char *s, size_t n)
{
	size_t i;
	if (!n || s[0] == '.' || s[n - 1] == '.') return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') { if (s[i + 1] == '.') return 0; }
		else if (!atext((unsigned char)s[i])) return 0;
	}
	return 1;
}

/* value as RFC 8601's pvalue when it is one, else as a quoted-string. */
static int putvalue(buf *b, const char *v)
{
	size_t n = strlen(v), at = byte_rchr(v, n, '@'), i;

	if (at == n && dotatom(v, n)) return buf_puts(b, v);
	if (at < n && dotatom(v + at + 1, n - at - 1)) {
		if (!dotatom(v, at)) return buf_put(b, v + at, n - at);   /* "@domain" */
		return buf_puts(b, v);
	}
	if (buf_putc(b, '"') < 0) return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 32 || c == 127) c = '?';
		if ((c == '"' || c == '\\') && buf_putc(b, '\\') < 0) return -1;
		if (buf_putc(b, (char)c) < 0) return -1;
	}
	return buf_putc(b, '"');
}

int authres_addp(struct authres *a, const char *method, const char *result,
                 const char *comment, const char *const *props)
{
	size_t old = a->res.len;

	if (buf_puts(&a->res, method) < 0 || buf_putc(&a->res, '=') < 0 || buf_puts(&a->res, result) < 0)
		goto fail;
	if (comment) {
		const char *c;
		if (buf_puts(&a->res, " (") < 0) goto fail;
		for (c = comment; *c; c++) {
			unsigned char u = (unsigned char)*c;
			if (u < 32 || u == 127) u = ' ';
			if ((u == '(' || u == ')' || u == '\\') && buf_putc(&a->res, '\\') < 0) goto fail;
			if (buf_putc(&a->res, (char)u) < 0) goto fail;
		}
		if (buf_putc(&a->res, ')') < 0) goto fail;
	}
	for (; props && props[0] && props[1]; props += 2) {
		if (buf_putc(&a->res, ' ') < 0 || buf_puts(&a->res, props[0]) < 0 || buf_putc(&a->res, '=') < 0 ||
		    putvalue(&a->res, props[1]) < 0) goto fail;
	}
	if (buf_put0(&a->res) < 0) goto fail;
	return 0;
fail:
	buf_trunc(&a->res, old);
	return -1;
}

int authres_add(struct authres *a, const char *method, const char *result,
                const char *comment, const char *prop, const char *value)
{
	const char *props[3];
	props[0] = prop;
	props[1] = value;
	props[2] = 0;
	return authres_addp(a, method, result, comment, prop && value ? props : 0);
}

void authres_clear(struct authres *a) { a->res.len = 0; }
void authres_free(struct authres *a) { buf_free(&a->res); }

int authres_header(buf *out, const char *authservid, const struct authres *a)
{
	size_t i;

	if (buf_puts(out, "Authentication-Results: ") < 0 || buf_puts(out, authservid) < 0) return -1;
	if (!a->res.len) return buf_puts(out, "; none\n");
	for (i = 0; i < a->res.len; i += strlen(a->res.s + i) + 1)
		if (buf_puts(out, ";\n\t") < 0 || buf_puts(out, a->res.s + i) < 0) return -1;
	return buf_putc(out, '\n');
}

/* ---- recognising our own ------------------------------------------------ */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int authres_ours(const char *s, size_t n, const char *id, int complete)
{
	size_t i = byte_chr(s, n, ':'), j = 0, idlen = strlen(id);
	int depth, same = 1;
	const int more = complete ? 0 : -1;    /* what running out means */

	if (i == n) return more;
	/* CFWS before the authserv-id */
	for (i++; ; ) {
		if (i >= n) return more;
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') { i++; continue; }
		if (s[i] != '(') break;
		for (depth = 0; i < n; i++) {
			if (s[i] == '\\') { i++; continue; }
			if (s[i] == '(') depth++;
			else if (s[i] == ')' && --depth == 0) break;
		}
		if (i >= n) return more;
		i++;
	}
	/* the authserv-id, compared as it goes by */
	if (s[i] == '"') {
		for (i++; i < n && s[i] != '"'; i++) {
			if (s[i] == '\\' && ++i >= n) break;
			if (j < idlen && lower((unsigned char)s[i]) == lower((unsigned char)id[j])) j++;
			else same = 0;
		}
		if (i >= n && !complete) return -1;
	} else {
		for (; i < n && !strchr(" \t\r\n;(", s[i]); i++) {
			if (j < idlen && lower((unsigned char)s[i]) == lower((unsigned char)id[j])) j++;
			else same = 0;
		}
		if (i >= n && !complete) return -1;
	}
	return same && j == idlen;
}

/* ---- the filter ------------------------------------------------------------ */

void authres_filter_init(struct authres_filter *f, const char *id)
{
	memset(f, 0, sizeof *f);
	f->id = id;
	f->bol = 1;
	f->mode = M_PASS;
}

void authres_filter_free(struct authres_filter *f) { buf_free(&f->hold); }

/* Settle what is held: pass it or drop it. 0 ok (or still undecided),
 * -1 out of memory. */
static int decide(struct authres_filter *f, buf *out, int complete)
{
	int r = authres_ours(f->hold.s, f->hold.len, f->id, complete);

	if (r < 0 && !complete && f->hold.len < AUTHRES_HOLD_MAX) return 0;
	if (r == 0) {
		f->mode = M_PASS;
		if (buf_put(out, f->hold.s, f->hold.len) < 0) return -1;
	} else f->mode = M_DROP;     /* ours, or hiding whose it is */
	f->hold.len = 0;
	return 0;
}

static int pass(struct authres_filter *f, buf *out)
{
	f->mode = M_PASS;
	if (buf_put(out, f->hold.s, f->hold.len) < 0) return -1;
	f->hold.len = 0;
	return 0;
}

int authres_filter_feed(struct authres_filter *f, const char *p, size_t n, buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = p[i];
		if (f->done) return buf_put(out, p + i, n - i);
		if (f->bol) {
			f->bol = 0;
			if (c != ' ' && c != '\t') {
				/* a new field (or the end of the header) ends the last */
				if (f->mode == M_HOLD && decide(f, out, 1) < 0) return -1;
				if (c == '\n') {
					f->done = 1;
					if (buf_putc(out, c) < 0) return -1;
					continue;
				}
				f->mode = M_HOLD;
				f->name = 0;
				f->hold.len = 0;
			}
		}
		switch (f->mode) {
		case M_PASS:
			if (buf_putc(out, c) < 0) return -1;
			break;
		case M_DROP:
			break;
		default:
			if (buf_putc(&f->hold, c) < 0) return -1;
			if (f->name < NAME_LEN) {
				if (lower((unsigned char)c) == NAME[f->name]) f->name++;
				else if (pass(f, out) < 0) return -1;
			} else if (f->name == NAME_LEN) {
				if (c == ':') f->name++;
				else if (c != ' ' && c != '\t') { if (pass(f, out) < 0) return -1; }
				else if (f->hold.len >= AUTHRES_HOLD_MAX) { f->mode = M_DROP; f->hold.len = 0; }
			} else if ((c == ';' || f->hold.len >= AUTHRES_HOLD_MAX) && decide(f, out, 0) < 0) return -1;
		}
		if (c == '\n') f->bol = 1;
	}
	return 0;
}

int authres_filter_end(struct authres_filter *f, buf *out)
{
	if (f->mode == M_HOLD && !f->done) return decide(f, out, 1);
	return 0;
}
