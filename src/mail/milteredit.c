/* milteredit: what a milter may change at the end of a message, checked
 * and applied: header fields (ADDHEADER, INSHEADER, CHGHEADER), envelope
 * addresses (ADDRCPT, DELRCPT, CHGFROM) and its own SMTP reply
 * (REPLYCODE). No network here: these functions only see bytes, so the
 * unit tests and tests/fuzz/fuzz-milter.c can feed them anything.
 * The protocol itself is src/mail/milter.c. */
#include "mail/milter.h"
#include "lib/str.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REJECT_TEXT   "5.7.1 refused by a mail filter"
#define TEMPFAIL_TEXT "4.7.1 refused by a mail filter for now; try again later"

static unsigned long get32(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* ---- replies ---------------------------------------------------------------------------- */

int milter_replycode(const char *s, size_t n, buf *out)
{
	size_t i, tl;
	const char *t;
	int cls, clean = 1, enh = 0;

	if (n && s[n - 1] == 0) n--;
	if (n < 3 || (s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9') {
		errno = EINVAL;
		return -1;
	}
	if (n > 3 && s[3] != ' ') clean = 0;    /* "550-..." would be a multi-line reply */
	cls = s[0] - '0';
	t = s + 4;
	tl = n > 4 ? n - 4 : 0;
	for (i = 0; i < tl; i++)
		if ((unsigned char)t[i] < 32 || t[i] == 127) clean = 0;
	if (tl > 400) tl = 400;
	/* An enhanced status code of the same class: "5.x.y " */
	if (clean && tl >= 6 && t[0] == s[0] && t[1] == '.') {
		i = 2;
		while (i < tl && t[i] >= '0' && t[i] <= '9') i++;
		if (i > 2 && i < tl && t[i] == '.') {
			size_t j = ++i;
			while (i < tl && t[i] >= '0' && t[i] <= '9') i++;
			if (i > j && (i == tl || t[i] == ' ')) enh = 1;
		}
	}
	out->len = 0;
	if (buf_put(out, s, 3) < 0 || buf_putc(out, ' ') < 0) return -1;
	if (!clean) {
		if (buf_puts(out, cls == 5 ? REJECT_TEXT : TEMPFAIL_TEXT) < 0) return -1;
	} else {
		if (!enh && buf_puts(out, cls == 5 ? "5.7.1 " : "4.7.1 ") < 0) return -1;
		if (tl && buf_put(out, t, tl) < 0) return -1;
		else if (!tl && buf_puts(out, cls == 5 ? "refused by a mail filter" : "try again later") < 0) return -1;
	}
	return cls;
}

/* ---- header fields -------------------------------------------------------------------- */

void milter_hdrs_free(milter_hdrs *h)
{
	buf_free(&h->text);
	free(h->f);
	h->f = 0;
	h->nf = h->cap = 0;
}

static int addfield(milter_hdrs *h, size_t off, size_t nl)
{
	if (h->nf == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 64;
		size_t *f;
		if (nc > ((size_t)-1) / (2 * sizeof *f)) { errno = ENOMEM; return -1; }
		f = realloc(h->f, nc * 2 * sizeof *f);
		if (!f) return -1;
		h->f = f;
		h->cap = nc;
	}
	h->f[2 * h->nf] = off;
	h->f[2 * h->nf + 1] = nl;
	h->nf++;
	return 0;
}

/* Fields of text[0..text.len): a field is a line and the lines after
 * it that start with a blank. */
static int split(milter_hdrs *h)
{
	const char *s = h->text.s;
	size_t n = h->text.len, i = 0;

	h->nf = 0;
	while (i < n) {
		size_t start = i, nl;
		const char *lf;
		for (;;) {
			lf = memchr(s + i, '\n', n - i);
			i = lf ? (size_t)(lf - s) + 1 : n;
			if (i >= n || (s[i] != ' ' && s[i] != '\t')) break;
		}
		nl = byte_chr(s + start, i - start, ':');
		if (addfield(h, start, nl) < 0) return -1;
	}
	return 0;
}

long long milter_hdrs_parse(milter_hdrs *h, const char *s, size_t n)
{
	size_t end = 0;

	/* the fields end at an empty line */
	while (end < n && s[end] != '\n') {
		const char *lf = memchr(s + end, '\n', n - end);
		end = lf ? (size_t)(lf - s) + 1 : n;
	}
	h->text.max = 0;
	if (buf_copy(&h->text, s, end) < 0) return -1;
	/* a last field without its LF gets one */
	if (end && s[end - 1] != '\n' && buf_putc(&h->text, '\n') < 0) return -1;
	h->text.max = h->text.len + MILTER_HDR_GROWTH;
	if (split(h) < 0) return -1;
	return (long long)end;
}

size_t milter_hdrs_start(const milter_hdrs *h, size_t i) { return i < h->nf ? h->f[2 * i] : h->text.len; }

/* A field name is 1 to 256 printable characters without ':'. */
static int goodname(const char *s, size_t n)
{
	size_t i;
	if (!n || n > 256) return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 || s[i] == ':') return 0;
	return 1;
}

/* name ":" value "\n" into out, the value made safe: CR LF and lone CR
 * become LF, every line after the first starts with a blank (a tab is
 * put in front of one that does not: no field can be smuggled in), no
 * empty lines, no control characters but tab. */
static int field(buf *out, const char *name, size_t nl, const char *v, size_t vl, int leadspc)
{
	size_t i;
	int bol = 0;

	if (buf_put(out, name, nl) < 0 || buf_putc(out, ':') < 0) return -1;
	if (!leadspc && buf_putc(out, ' ') < 0) return -1;
	for (i = 0; i < vl; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < vl && v[i + 1] == '\n') i++;
			bol = 1;
			continue;
		}
		if (bol) {
			if (buf_putc(out, '\n') < 0) return -1;
			if (c != ' ' && c != '\t' && buf_putc(out, '\t') < 0) return -1;
			bol = 0;
		}
		if ((c < 32 && c != '\t') || c == 127) c = ' ';
		if (buf_putc(out, (char)c) < 0) return -1;
	}
	return buf_putc(out, '\n');
}

/* Split "name\0value\0". */
static int two(const char *d, size_t n, const char **name, size_t *nl, const char **v, size_t *vl)
{
	size_t a;
	if (!n || d[n - 1] != 0) return -1;
	a = byte_chr(d, n, 0);
	if (a + 1 >= n) return -1;
	*name = d;
	*nl = a;
	*v = d + a + 1;
	*vl = n - a - 2;
	if (memchr(*v, 0, *vl)) return -1;
	return 0;
}

/* Replace fields [i, j) with text ins[0..insl). */
static int hsplice(milter_hdrs *h, size_t i, size_t j, const char *ins, size_t insl)
{
	buf t = BUF_INIT;
	size_t a = milter_hdrs_start(h, i), b = milter_hdrs_start(h, j);
	t.max = h->text.max;
	if (buf_put(&t, h->text.s, a) < 0 || buf_put(&t, ins, insl) < 0 ||
	    buf_put(&t, h->text.s + b, h->text.len - b) < 0) {
		buf_free(&t);
		return -1;
	}
	buf_free(&h->text);
	h->text = t;
	return split(h);
}

int milter_hdrs_apply(milter_hdrs *h, char cmd, const char *data, size_t n)
{
	const char *name, *v;
	size_t nl, vl, i, idx = 0;
	buf f = BUF_INIT;
	int r;

	if (cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER) {
		if (n < 4) { errno = EINVAL; return -1; }
		idx = get32(data);
		data += 4;
		n -= 4;
	} else if (cmd != SMFIR_ADDHEADER) { errno = EINVAL; return -1; }
	if (two(data, n, &name, &nl, &v, &vl) < 0 || !goodname(name, nl)) { errno = EINVAL; return -1; }
	if (field(&f, name, nl, v, vl, h->leadspc) < 0) { buf_free(&f); return -1; }
	if (cmd == SMFIR_ADDHEADER) r = hsplice(h, h->nf, h->nf, f.s, f.len);
	else if (cmd == SMFIR_INSHEADER) {
		i = idx < h->nf ? idx : h->nf;
		r = hsplice(h, i, i, f.s, f.len);
	} else {
		/* the idx-th (from 1) field of that name; none: add one */
		size_t seen = 0;
		if (!idx) idx = 1;
		for (i = 0; i < h->nf; i++)
			if (h->f[2 * i + 1] == nl && case_eqn(h->text.s + h->f[2 * i], name, nl) && ++seen == idx) break;
		if (i < h->nf) r = hsplice(h, i, i + 1, f.s, vl ? f.len : 0);
		else r = vl ? hsplice(h, h->nf, h->nf, f.s, f.len) : 0;
	}
	buf_free(&f);
	return r;
}

/* ---- envelope changes ------------------------------------------------------------------ */

int milter_addr(const char *s, size_t n, buf *out)
{
	size_t i;
	if (n && s[n - 1] == 0) n--;
	while (n && (*s == ' ' || *s == '\t')) { s++; n--; }
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') { s++; n -= 2; }
	if (n > 1000) return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || s[i] == 127 || s[i] == '<' || s[i] == '>') return -1;
	return buf_copy(out, s, n);
}

