/* addr: tokenizing, reading, completing and writing back address lists.
 * The rules are in addr.h; qmail-header(5) is the authority. */
#include "mail/addr.h"
#include "lib/str.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FOLD_COL 78    /* lines of an address list stay within this many columns */

static const char special_chars[] = ",@.:;<>";
static const unsigned char special_types[] = {
	A_COMMA, A_AT, A_DOT, A_COLON, A_SEMI, A_LEFT, A_RIGHT
};

static int push(addr_toks *v, int type, int sp, const char *s, size_t n)
{
	if (v->len == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		addr_tok *t;
		if (cap > (size_t)-1 / 2 / sizeof *t) { errno = ERANGE; return -1; }
		t = realloc(v->t, cap * sizeof *t);
		if (!t) { errno = ENOMEM; return -1; }
		v->t = t;
		v->cap = cap;
	}
	v->t[v->len].type = (unsigned char)type;
	v->t[v->len].sp = (unsigned char)(sp != 0);
	v->t[v->len].s = s;
	v->t[v->len].n = n;
	v->len++;
	return 0;
}

static int pushv(addr_toks *v, const addr_tok *t, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (push(v, t[i].type, 0, t[i].s, t[i].n) < 0) return -1;
	return 0;
}

void addr_toks_free(addr_toks *v)
{
	free(v->t);
	v->t = 0;
	v->len = v->cap = 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int is_atom(char c)
{
	return c && !is_space(c) && !strchr("()\"[]", c) && !strchr(special_chars, c);
}

/* Skip a delimited token's body from s[i] (just past the opening char):
 * returns the index of the closing char, or n when unterminated or when a
 * NUL appears. Backslash quotes the next byte; comments nest. */
static size_t delimited(const char *s, size_t n, size_t i, char open, char close)
{
	int depth = 1;
	while (i < n) {
		if (!s[i]) return n;
		if (s[i] == '\\') {
			if (i + 1 >= n || !s[i + 1]) return n;
			i += 2;
			continue;
		}
		if (s[i] == close && !--depth) return i;
		if (s[i] == open && open != close) depth++;
		i++;
	}
	return n;
}

int addr_tokenize(addr_toks *v, const char *s, size_t n)
{
	size_t i = 0;
	int sp = 0;

	while (i < n) {
		char c = s[i];
		const char *sc;

		if (!c) return 0;
		if (is_space(c)) { sp = 1; i++; continue; }
		if (c == '(' || c == '"' || c == '[') {
			char close = c == '(' ? ')' : c == '"' ? '"' : ']';
			size_t start = i + 1;
			size_t end = delimited(s, n, start, c == '"' ? '"' : c, close);
			if (end >= n) return 0;
			if (push(v, c == '(' ? A_COMMENT : c == '"' ? A_QUOTE : A_LITERAL,
			         sp, s + start, end - start) < 0) return -1;
			i = end + 1;
		} else if (c == ')' || c == ']') {
			return 0;
		} else if ((sc = strchr(special_chars, c))) {
			if (push(v, special_types[sc - special_chars], sp, s + i, 1) < 0) return -1;
			i++;
		} else {
			size_t start = i;
			while (i < n && is_atom(s[i])) i++;
			if (push(v, A_ATOM, sp, s + start, i - start) < 0) return -1;
		}
		sp = 0;
	}
	return 1;
}

/* A host name for the settings: atoms, dots and literals only. */
static int host_toks(buf *b, addr_toks *v, const char *s)
{
	size_t i;
	int r;

	if (buf_copys(b, s) < 0) return -1;
	v->len = 0;
	r = addr_tokenize(v, b->s, b->len);
	if (r != 1) return r;
	if (!v->len) return 0;
	for (i = 0; i < v->len; i++)
		if (v->t[i].type != A_ATOM && v->t[i].type != A_DOT && v->t[i].type != A_LITERAL)
			return 0;
	return 1;
}

int addr_cfg_init(addr_cfg *c, const char *host, const char *domain, const char *plus)
{
	int r;
	memset(c, 0, sizeof *c);
	if ((r = host_toks(&c->host, &c->thost, host)) != 1) return r;
	if ((r = host_toks(&c->domain, &c->tdomain, domain)) != 1) return r;
	return host_toks(&c->plus, &c->tplus, plus);
}

void addr_cfg_free(addr_cfg *c)
{
	buf_free(&c->host); buf_free(&c->domain); buf_free(&c->plus);
	addr_toks_free(&c->thost); addr_toks_free(&c->tdomain); addr_toks_free(&c->tplus);
}

static void drop_front(addr_toks *v, size_t k)
{
	if (k > v->len) k = v->len;
	memmove(v->t, v->t + k, (v->len - k) * sizeof *v->t);
	v->len -= k;
}

static int last_is(const addr_toks *v, int type)
{
	return v->len && v->t[v->len - 1].type == type;
}

int addr_complete(const addr_cfg *c, addr_toks *v)
{
	size_t i;
	int seen_at = 0, dotted = 0;

	if (!v->len) return 0;                           /* <> */
	if (v->len >= 2 && last_is(v, A_LITERAL) && !v->t[v->len - 1].n
	    && v->t[v->len - 2].type == A_AT)
		return 0;                                /* foo@[]: a VERP marker */
	if (v->t[0].type == A_AT) {                      /* source route: @a,@b:user@host */
		for (i = 0; i < v->len && v->t[i].type != A_COLON; i++) ;
		drop_front(v, i + 1);
		if (!v->len) return 0;
	}
	if (last_is(v, A_DOT)) v->len--;
	if (last_is(v, A_AT)) v->len--;
	if (!v->len) return 0;

	for (i = 0; i < v->len; i++) if (v->t[i].type == A_AT) seen_at = 1;
	if (!seen_at) {
		if (push(v, A_AT, 0, "@", 1) < 0 || pushv(v, c->thost.t, c->thost.len) < 0) return -1;
	}
	if (last_is(v, A_ATOM) && v->t[v->len - 1].n
	    && v->t[v->len - 1].s[v->t[v->len - 1].n - 1] == '+') {
		if (!--v->t[v->len - 1].n) v->len--;     /* the atom was only "+" */
		if (!last_is(v, A_DOT) && !last_is(v, A_AT) && push(v, A_DOT, 0, ".", 1) < 0) return -1;
		if (pushv(v, c->tplus.t, c->tplus.len) < 0) return -1;
	}
	for (i = v->len; i > 0 && v->t[i - 1].type != A_AT; i--)
		if (v->t[i - 1].type == A_DOT || v->t[i - 1].type == A_LITERAL) dotted = 1;
	if (!dotted) {
		if (!last_is(v, A_AT) && push(v, A_DOT, 0, ".", 1) < 0) return -1;
		if (pushv(v, c->tdomain.t, c->tdomain.len) < 0) return -1;
	}
	return 0;
}

static const char type_chars[] = "\0\0\0\0,@.:;<>";

/* One token as header text. */
static int put_tok(buf *b, const addr_tok *t)
{
	switch (t->type) {
	case A_ATOM: return buf_put(b, t->s, t->n);
	case A_QUOTE: return buf_putc(b, '"') < 0 || buf_put(b, t->s, t->n) < 0 ? -1 : buf_putc(b, '"');
	case A_LITERAL: return buf_putc(b, '[') < 0 || buf_put(b, t->s, t->n) < 0 ? -1 : buf_putc(b, ']');
	case A_COMMENT: return buf_putc(b, '(') < 0 || buf_put(b, t->s, t->n) < 0 ? -1 : buf_putc(b, ')');
	default: return buf_putc(b, type_chars[t->type]);
	}
}

/* An address, compact: no spaces between its tokens. */
static int put_addr(buf *b, const addr_tok *t, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) if (put_tok(b, t + i) < 0) return -1;
	return 0;
}

/* A phrase or group name: spacing as in the input. */
static int put_phrase(buf *b, const addr_tok *t, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (i && t[i].sp && buf_putc(b, ' ') < 0) return -1;
		if (put_tok(b, t + i) < 0) return -1;
	}
	return 0;
}

/* An address in envelope form: quotes and backslashes removed. */
static int put_env(buf *b, const addr_tok *t, size_t n)
{
	size_t i, j;
	for (i = 0; i < n; i++) {
		if (t[i].type != A_QUOTE) {
			if (put_tok(b, t + i) < 0) return -1;
			continue;
		}
		for (j = 0; j < t[i].n; j++) {
			if (t[i].s[j] == '\\' && j + 1 < t[i].n) j++;
			if (buf_putc(b, t[i].s[j]) < 0) return -1;
		}
	}
	return 0;
}

/* Writing the list back: separators, folding, and the envelope forms. */
struct emit {
	const addr_cfg *c;
	buf *out, *addrs;
	size_t col;       /* column at the end of out */
	int need;         /* 0 nothing yet, 1 after an item (", "), 2 after "group:" (" ") */
	buf item;
	addr_toks a;      /* the address being completed */
};

static int emit_item(struct emit *e)
{
	size_t n = e->item.len;
	const char *sep = "";

	/* + 1: room for the comma that may end the line */
	if (e->need == 1) sep = e->col + 2 + n + 1 > FOLD_COL ? ",\n  " : ", ";
	if (e->need == 2) sep = e->col + 1 + n + 1 > FOLD_COL ? "\n  " : " ";
	if (buf_puts(e->out, sep) < 0 || buf_put(e->out, e->item.s, n) < 0) return -1;
	if (strchr(sep, '\n')) e->col = 2 + n;
	else e->col += strlen(sep) + n;
	e->need = 1;
	e->item.len = 0;
	return 0;
}

/* Complete the address tokens t[0..n) (comments skipped) into e->a,
 * append its header form to e->item and its envelope form to addrs.
 * A bare address that completion emptied (a lone route) is written <>. */
static int emit_addr(struct emit *e, const addr_tok *t, size_t n, int angled)
{
	size_t i;

	e->a.len = 0;
	for (i = 0; i < n; i++)
		if (t[i].type != A_COMMENT && push(&e->a, t[i].type, 0, t[i].s, t[i].n) < 0) return -1;
	if (addr_complete(e->c, &e->a) < 0) return -1;
	if (!angled && !e->a.len && buf_puts(&e->item, "<>") < 0) return -1;
	if (put_addr(&e->item, e->a.t, e->a.len) < 0) return -1;
	if (put_env(e->addrs, e->a.t, e->a.len) < 0 || buf_put0(e->addrs) < 0) return -1;
	return 0;
}

static int put_comments(buf *b, const addr_tok *t, size_t n, int lead)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (t[i].type != A_COMMENT) continue;
		if ((lead || b->len) && buf_putc(b, ' ') < 0) return -1;
		if (put_tok(b, t + i) < 0) return -1;
	}
	return 0;
}

static int is_word(int type) { return type == A_ATOM || type == A_QUOTE || type == A_LITERAL; }

/* An angle address: phrase t[i..left), address inside <...>, then
 * comments. Returns the index after the item, 0 on syntax error. */
static size_t angle(struct emit *e, const addr_toks *v, size_t i, size_t left, int *err)
{
	size_t right, end;

	for (right = left + 1; right < v->len && v->t[right].type != A_RIGHT; right++)
		if (v->t[right].type == A_LEFT) return 0;
	if (right >= v->len) return 0;
	for (end = right + 1; end < v->len && v->t[end].type == A_COMMENT; end++) ;
	if (put_phrase(&e->item, v->t + i, left - i) < 0
	    || (left > i && buf_putc(&e->item, ' ') < 0)
	    || buf_putc(&e->item, '<') < 0
	    || emit_addr(e, v->t + left + 1, right - left - 1, 1) < 0
	    || buf_putc(&e->item, '>') < 0
	    || put_comments(&e->item, v->t + left + 1, right - left - 1, 1) < 0
	    || put_comments(&e->item, v->t + right + 1, end - right - 1, 1) < 0
	    || emit_item(e) < 0) { *err = 1; return 0; }
	return end;
}

/* A bare address from t[i..k): it ends where a word follows a word.
 * Returns the index after it (> i), 0 on error. */
static size_t bare(struct emit *e, const addr_toks *v, size_t i, size_t k, int *err)
{
	size_t p, first = k, last = i;
	int lastword = 0;

	for (p = i; p < k; p++) {
		int type = v->t[p].type;
		if (type == A_COMMENT) continue;
		if (is_word(type) && lastword) break;
		if (first == k) first = p;
		last = p + 1;
		lastword = is_word(type);
	}
	if (first == k) {                     /* comments only: no address */
		if (put_comments(&e->item, v->t + i, k - i, 0) < 0 || emit_item(e) < 0) { *err = 1; return 0; }
		return k;
	}
	if (put_comments(&e->item, v->t + i, first - i, 0) < 0
	    || (e->item.len && buf_putc(&e->item, ' ') < 0)
	    || emit_addr(e, v->t + first, last - first, 0) < 0
	    || put_comments(&e->item, v->t + first, p - first, 1) < 0
	    || emit_item(e) < 0) { *err = 1; return 0; }
	return p;
}

int addr_list(const addr_cfg *c, const char *s, size_t n, size_t col, buf *out, buf *addrs)
{
	addr_toks v = {0, 0, 0};
	struct emit e;
	size_t i = 0, olen = out->len, alen = addrs->len;
	int r, group = 0, err = 0;

	memset(&e, 0, sizeof e);
	e.c = c;
	e.out = out;
	e.addrs = addrs;
	e.col = col;
	e.item.max = out->max;
	r = addr_tokenize(&v, s, n);
	if (r == 1 && (buf_put(out, "", 0) < 0 || buf_put(addrs, "", 0) < 0)) r = -1;
	while (r == 1 && i < v.len) {
		size_t k, left = 0, colon = 0, next;
		int type = v.t[i].type;

		if (type == A_COMMA) { i++; continue; }
		if (type == A_SEMI) {
			if (group) {
				if (buf_putc(out, ';') < 0) { r = -1; break; }
				e.col++;
				e.need = 1;
				group = 0;
			}
			i++;
			continue;
		}
		for (k = i; k < v.len; k++) {
			type = v.t[k].type;
			if (type == A_COMMA || type == A_SEMI) break;
			if (type == A_LEFT) { left = k + 1; break; }
			if (type == A_COLON) { colon = k + 1; break; }
			if (type == A_RIGHT) break;
		}
		if (k < v.len && v.t[k].type == A_RIGHT) { r = 0; break; }
		if (colon) {                              /* group: name ":" */
			if (group) { r = 0; break; }
			if (put_phrase(&e.item, v.t + i, colon - 1 - i) < 0
			    || buf_putc(&e.item, ':') < 0 || emit_item(&e) < 0) { r = -1; break; }
			e.need = 2;
			group = 1;
			i = colon;
			continue;
		}
		next = left ? angle(&e, &v, i, left - 1, &err) : bare(&e, &v, i, k, &err);
		if (err) { r = -1; break; }
		if (!next) { r = 0; break; }
		i = next;
	}
	if (r == 1 && group && buf_putc(out, ';') < 0) r = -1;
	if (r != 1) {
		int saved = errno;
		buf_trunc(out, olen);
		buf_trunc(addrs, alen);
		errno = saved;
	}
	buf_free(&e.item);
	addr_toks_free(&e.a);
	addr_toks_free(&v);
	return r;
}

static int is_atext(unsigned char c)
{
	return c > 32 && c != 127 && !strchr("()<>[]:;@\\,.\"", c);
}

int addr_put_local(buf *b, const char *s, size_t n)
{
	size_t i;
	int dotatom = n > 0 && s[0] != '.' && s[n - 1] != '.';

	for (i = 0; dotatom && i < n; i++) {
		if (s[i] == '.') { if (i + 1 < n && s[i + 1] == '.') dotatom = 0; }
		else if (!is_atext((unsigned char)s[i])) dotatom = 0;
	}
	if (dotatom) return buf_put(b, s, n);
	if (buf_putc(b, '"') < 0) return -1;
	for (i = 0; i < n; i++) {
		if ((s[i] == '"' || s[i] == '\\') && buf_putc(b, '\\') < 0) return -1;
		if (buf_putc(b, s[i]) < 0) return -1;
	}
	return buf_putc(b, '"');
}

static int put_escaped(buf *b, const char *s, size_t n, char open, const char *esc, char close)
{
	size_t i;
	if (buf_putc(b, open) < 0) return -1;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if ((unsigned char)ch < 32 || ch == 127) ch = ' ';
		if (strchr(esc, ch) && buf_putc(b, '\\') < 0) return -1;
		if (buf_putc(b, ch) < 0) return -1;
	}
	return buf_putc(b, close);
}

int addr_put_quoted(buf *b, const char *s, size_t n) { return put_escaped(b, s, n, '"', "\"\\", '"'); }
int addr_put_comment(buf *b, const char *s, size_t n) { return put_escaped(b, s, n, '(', "()\\", ')'); }

int addr_arg(const addr_cfg *c, const char *s, size_t n, buf *out)
{
	buf text = BUF_INIT;
	addr_toks v = {0, 0, 0};
	size_t at, i;
	int r;

	if (buf_copys(out, "") < 0) return -1;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') { s++; n -= 2; }
	if (!n) return 1;                                /* <>: the null address */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32 || s[i] == 127) return 0;
	at = byte_rchr(s, n, '@');
	if (addr_put_local(&text, s, at) < 0
	    || (at < n && buf_put(&text, s + at, n - at) < 0)) { buf_free(&text); return -1; }
	r = addr_tokenize(&v, text.s, text.len);
	for (i = 0; r == 1 && i < v.len; i++) {
		int type = v.t[i].type;
		if (!is_word(type) && type != A_DOT && type != A_AT) r = 0;
		else if (i && is_word(type) && is_word(v.t[i - 1].type)) r = 0;
	}
	if (r == 1 && (addr_complete(c, &v) < 0 || put_env(out, v.t, v.len) < 0)) r = -1;
	addr_toks_free(&v);
	buf_free(&text);
	return r;
}
