/* aliases: sendmail's aliases, :include: and .forward syntax; see
 * aliases.h. Addresses are cut into tokens by addr.h's tokenizer and
 * completed by its addr_complete(), so that an address in /etc/aliases
 * means what it would mean in a header given to qmail-inject. */
#include "mail/aliases.h"
#include "mail/control.h"
#include "mail/fwdb.h"
#include "lib/str.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- entries ------------------------------------------------------------- */

static int blankline(const char *s, size_t n, size_t i)
{
	/* at i starts a line: is it empty (or only a CR)? */
	return i >= n || s[i] == '\n' || (s[i] == '\r' && (i + 1 >= n || s[i + 1] == '\n'));
}

int al_entry(const char *s, size_t n, size_t *pos, size_t *line,
             const char **e, size_t *elen, size_t *eline)
{
	for (;;) {
		size_t i = *pos, start = i, k;
		const char *nl;

		if (i >= n) return 0;
		*eline = *line;
		for (;;) {
			nl = memchr(s + i, '\n', n - i);
			if (!nl) { i = n; break; }
			i = (size_t)(nl - s);
			/* the next line continues this entry? */
			if (i + 1 < n && (s[i + 1] == ' ' || s[i + 1] == '\t' || blankline(s, n, i + 1))) {
				++*line;
				i++;
				continue;
			}
			break;
		}
		*pos = i < n ? i + 1 : n;
		if (i < n) ++*line;
		if (s[start] == '#') continue;
		for (k = start; k < i; k++)
			if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r' && s[k] != '\n') break;
		if (k == i) continue;
		*e = s + start;
		*elen = i - start;
		return 1;
	}
}

/* --- tokens ---------------------------------------------------------------- */

static int tpush(addr_toks *v, const addr_tok *t)
{
	if (v->len == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		addr_tok *x;
		if (cap > (size_t)-1 / 2 / sizeof *x) { errno = ENOMEM; return -1; }
		x = realloc(v->t, cap * sizeof *x);
		if (!x) { errno = ENOMEM; return -1; }
		v->t = x;
		v->cap = cap;
	}
	v->t[v->len++] = *t;
	return 0;
}

static int isword(int type) { return type == A_ATOM || type == A_QUOTE || type == A_LITERAL; }

static const char specials[] = "\0\0\0\0,@.:;<>";

/* The envelope form of t[0..n) (comments skipped): quotes and the
 * backslashes inside them removed, nothing between the tokens. */
static int envform(buf *b, const addr_tok *t, size_t n)
{
	size_t i, j;
	for (i = 0; i < n; i++) {
		switch (t[i].type) {
		case A_COMMENT:
			break;
		case A_ATOM:
			if (buf_put(b, t[i].s, t[i].n) < 0) return -1;
			break;
		case A_QUOTE:
			for (j = 0; j < t[i].n; j++) {
				if (t[i].s[j] == '\\' && j + 1 < t[i].n) j++;
				if (buf_putc(b, t[i].s[j]) < 0) return -1;
			}
			break;
		case A_LITERAL:
			if (buf_putc(b, '[') < 0 || buf_put(b, t[i].s, t[i].n) < 0 || buf_putc(b, ']') < 0) return -1;
			break;
		default:
			if (buf_putc(b, specials[t[i].type]) < 0) return -1;
			break;
		}
	}
	return 0;
}

/* --- targets ------------------------------------------------------------------ */

int al_target(const char *s, size_t n, buf *target, size_t *rest, const char **why)
{
	addr_toks v = {0, 0, 0};
	size_t i, end = 0, restat = n;
	int r, lastword = 0;

	r = addr_tokenize(&v, s, n);
	if (r != 1) {
		if (r == 0) *why = "unbalanced quote, comment or bracket, or a NUL byte";
		goto out;
	}
	/* the alias: up to the colon, else the first address */
	for (i = 0; i < v.len; i++) {
		int type = v.t[i].type;
		if (type == A_COLON) { end = i; restat = (size_t)(v.t[i].s - s) + 1; break; }
		if (type == A_COMMENT) continue;
		if (type == A_COMMA || (isword(type) && lastword) || type == A_LEFT || type == A_RIGHT ||
		    type == A_SEMI) {
			end = i;
			restat = (size_t)(v.t[i].s - s) - (type == A_QUOTE || type == A_LITERAL);
			break;
		}
		lastword = isword(type);
	}
	if (i == v.len) end = v.len;
	target->len = 0;
	if (envform(target, v.t, end) < 0) { r = -1; goto out; }
	if (target->len == 0) { *why = "missing alias name before the colon"; r = 0; goto out; }
	if (target->len > FWDB_ADDR_MAX) { *why = "alias name longer than 800 bytes"; r = 0; goto out; }
	if (memchr(target->s, 0, target->len)) { *why = "NUL byte in alias name"; r = 0; goto out; }
	if (!memchr(target->s, '@', target->len) && buf_putc(target, '@') < 0) { r = -1; goto out; }
	case_lower(target->s, target->len);
	*rest = restat;
	r = 1;
out:
	addr_toks_free(&v);
	return r;
}

/* --- recipients ------------------------------------------------------------------ */

struct lst {
	const al_opts *o;
	buf *cmds;
	size_t *count;
	const char **why;
	addr_toks a;      /* one address being completed */
	buf tmp;
};

static int emit(struct lst *l, char type, const char *s, size_t n)
{
	if (buf_putc(l->cmds, type) < 0 || buf_put(l->cmds, s, n) < 0 || buf_put0(l->cmds) < 0) return -1;
	++*l->count;
	return 0;
}

/* One address t[0..n), comments already removed. 1 ok, 0 error, -1 no memory. */
static int address(struct lst *l, const addr_tok *t, size_t n)
{
	const al_opts *o = l->o;
	addr_tok first;
	size_t i;
	int hasat = 0;

	if (n == 0) return 1;                               /* <>: nobody */
	l->a.len = 0;
	for (i = 0; i < n; i++) {
		if (t[i].type == A_AT) hasat = 1;
		if (tpush(&l->a, t + i) < 0) return -1;
	}
	/* sendmail's \user: the same as user here */
	first = l->a.t[0];
	if (first.type == A_ATOM && first.n && first.s[0] == '\\') {
		l->a.t[0].s++;
		l->a.t[0].n--;
		if (!l->a.t[0].n) {
			memmove(l->a.t, l->a.t + 1, (l->a.len - 1) * sizeof *l->a.t);
			if (!--l->a.len) { *l->why = "a lone backslash is not an address"; return 0; }
		}
	}
	l->tmp.len = 0;
	/* buf_put of nothing still leaves a NUL-terminated buffer */
	if (envform(&l->tmp, l->a.t, l->a.len) < 0 || buf_put(&l->tmp, "", 0) < 0) return -1;
	if (memchr(l->tmp.s, 0, l->tmp.len)) { *l->why = "NUL byte in an address"; return 0; }
	if (!hasat && l->tmp.len && l->tmp.s[0] == '|') {
		if (!(o->flags & AL_PROGRAM)) { *l->why = "programs are not supported here"; return 0; }
		if (l->tmp.len == 1) { *l->why = "empty program after |"; return 0; }
		if (l->tmp.len > FWDB_CMD_MAX) { *l->why = "program too long"; return 0; }
		return emit(l, '!', l->tmp.s + 1, l->tmp.len - 1) < 0 ? -1 : 1;
	}
	if (!hasat && l->tmp.len && l->tmp.s[0] == '/') {
		if (!(o->flags & AL_FILE)) { *l->why = "file deliveries are not supported here"; return 0; }
		if (l->tmp.len > FWDB_CMD_MAX) { *l->why = "file name too long"; return 0; }
		return emit(l, '>', l->tmp.s, l->tmp.len) < 0 ? -1 : 1;
	}
	if (o->user) {
		size_t ul = strlen(o->user), hl = o->host ? strlen(o->host) : 0;
		if (!hasat && case_eq(l->tmp.s, o->user)) return emit(l, '=', "", 0) < 0 ? -1 : 1;
		if (hasat && o->host && l->tmp.len == ul + 1 + hl && case_eqn(l->tmp.s, o->user, ul) &&
		    l->tmp.s[ul] == '@' && case_eqn(l->tmp.s + ul + 1, o->host, hl))
			return emit(l, '=', "", 0) < 0 ? -1 : 1;
	}
	if (addr_complete(o->cfg, &l->a) < 0) return -1;
	l->tmp.len = 0;
	if (envform(&l->tmp, l->a.t, l->a.len) < 0) return -1;
	if (l->tmp.len == 0) return 1;
	if (l->tmp.len > FWDB_ADDR_MAX) { *l->why = "address longer than 800 bytes"; return 0; }
	return emit(l, '&', l->tmp.s, l->tmp.len) < 0 ? -1 : 1;
}

/* Non-comment tokens t[i..k) into l->a-free scratch, then address(). */
static int collect(struct lst *l, const addr_toks *v, size_t i, size_t k, addr_toks *out)
{
	out->len = 0;
	for (; i < k; i++)
		if (v->t[i].type != A_COMMENT && tpush(out, v->t + i) < 0) return -1;
	return 0;
}

static int include(struct lst *l, const addr_toks *v, size_t i, size_t k)
{
	addr_toks p = {0, 0, 0};
	int r = -1;

	if (!(l->o->flags & AL_INCLUDE)) { *l->why = ":include: is not supported here"; r = 0; goto out; }
	if (collect(l, v, i, k, &p) < 0) goto out;
	l->tmp.len = 0;
	if (envform(&l->tmp, p.t, p.len) < 0) goto out;
	if (l->tmp.len == 0) { *l->why = "missing file name after :include:"; r = 0; goto out; }
	if (l->tmp.len > FWDB_CMD_MAX) { *l->why = "file name too long"; r = 0; goto out; }
	if (memchr(l->tmp.s, 0, l->tmp.len)) { *l->why = "NUL byte in a file name"; r = 0; goto out; }
	/* fastforward reads the binary list newinclude made beside it;
	 * a relative name stays relative (to fastforward's directory) */
	if (buf_putc(l->cmds, l->tmp.s[0] == '/' ? '/' : '.') < 0 ||
	    (l->tmp.s[0] != '/' && buf_putc(l->cmds, '/') < 0) ||
	    buf_put(l->cmds, l->tmp.s + (l->tmp.s[0] == '/'), l->tmp.len - (l->tmp.s[0] == '/')) < 0 ||
	    buf_puts(l->cmds, ".bin") < 0 || buf_put0(l->cmds) < 0) goto out;
	++*l->count;
	r = 1;
out:
	addr_toks_free(&p);
	return r;
}

int al_list(const al_opts *o, const char *s, size_t n, buf *cmds, size_t *count, const char **why)
{
	struct lst l;
	addr_toks v = {0, 0, 0}, piece = {0, 0, 0};
	size_t i = 0, olen = cmds->len, ocount = *count;
	int r;

	memset(&l, 0, sizeof l);
	l.o = o;
	l.cmds = cmds;
	l.count = count;
	l.why = why;
	r = addr_tokenize(&v, s, n);
	if (r == 0) *why = "unbalanced quote, comment or bracket, or a NUL byte";
	while (r == 1 && i < v.len) {
		size_t k;
		int type = v.t[i].type;

		if (type == A_COMMA || type == A_COMMENT) { i++; continue; }
		if (type == A_COLON && i + 2 < v.len && v.t[i + 1].type == A_ATOM &&
		    v.t[i + 1].n == 7 && case_eqn(v.t[i + 1].s, "include", 7) && v.t[i + 2].type == A_COLON) {
			for (k = i + 3; k < v.len && v.t[k].type != A_COMMA; k++) ;
			r = include(&l, &v, i + 3, k);
			i = k;
			continue;
		}
		for (k = i; k < v.len; k++) {
			type = v.t[k].type;
			if (type == A_COMMA || type == A_LEFT) break;
			if (type == A_COLON || type == A_SEMI) { *why = "address groups are not permitted"; r = 0; break; }
			if (type == A_RIGHT) { *why = "a > without its <"; r = 0; break; }
		}
		if (r != 1) break;
		if (k < v.len && v.t[k].type == A_LEFT) {
			/* phrase <address>: the phrase is only a name */
			size_t right;
			for (right = k + 1; right < v.len && v.t[right].type != A_RIGHT; right++)
				if (v.t[right].type == A_LEFT) break;
			if (right >= v.len || v.t[right].type != A_RIGHT) { *why = "a < without its >"; r = 0; break; }
			if (collect(&l, &v, k + 1, right, &piece) < 0) { r = -1; break; }
			/* a source route (@a,@b:) inside the brackets is dropped */
			{
				size_t c;
				for (c = 0; c < piece.len && piece.t[0].type == A_AT && piece.t[c].type != A_COLON; c++) ;
				if (piece.len && piece.t[0].type == A_AT && c < piece.len) {
					memmove(piece.t, piece.t + c + 1, (piece.len - c - 1) * sizeof *piece.t);
					piece.len -= c + 1;
				}
			}
			r = address(&l, piece.t, piece.len);
			i = right + 1;
			continue;
		}
		/* bare addresses: a word right after a word starts another one */
		{
			size_t p, start = i;
			int lastword = 0;
			piece.len = 0;
			for (p = i; p <= k && r == 1; p++) {
				int t2 = p < k ? v.t[p].type : -1;
				if (t2 == A_COMMENT) continue;
				if (p == k || (isword(t2) && lastword)) {
					r = address(&l, piece.t, piece.len);
					piece.len = 0;
					start = p;
					if (p == k) break;
				}
				if (tpush(&piece, v.t + p) < 0) { r = -1; break; }
				lastword = isword(t2);
			}
			(void)start;
		}
		i = k;
	}
	if (r != 1) {
		buf_trunc(cmds, olen);
		*count = ocount;
	}
	addr_toks_free(&v);
	addr_toks_free(&piece);
	addr_toks_free(&l.a);
	buf_free(&l.tmp);
	return r;
}

/* --- the completion settings ------------------------------------------------- */

static int readdef(buf *b, const char *name)
{
	int r = control_readline(b, name, 0);
	if (r < 0) return -1;
	if (r == 1 && b->len) return 0;
	if (control_readline(b, "me", name) < 0) return -1;
	if (!b->len && buf_copys(b, name) < 0) return -1;
	return 0;
}

int al_cfg_load(addr_cfg *c)
{
	buf host = BUF_INIT, domain = BUF_INIT, plus = BUF_INIT;
	int r = -1;

	if (readdef(&host, "defaulthost") == 0 && readdef(&domain, "defaultdomain") == 0 &&
	    readdef(&plus, "plusdomain") == 0)
		r = addr_cfg_init(c, host.s, domain.s, plus.s);
	buf_free(&host);
	buf_free(&domain);
	buf_free(&plus);
	return r;
}
