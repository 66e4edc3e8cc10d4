/* hdrscan: a tolerant, bounded header scanner (see hdrscan.h). */
#include "mail/hdrscan.h"
#include "mail/control.h"
#include "mail/header.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

void hdrscan_init(hdrscan *h, io_in *in, size_t max)
{
	memset(h, 0, sizeof *h);
	h->in = in;
	h->max = max ? max : 1;
}

/* Append bytes of the current line to f while f holds less than max;
 * with drop, read and discard the rest of the line past max. Stops after
 * the LF. Returns 1 line ended (LF seen), 0 end of input, 2 stopped at
 * max without drop (the rest of the line is still in the stream), -1
 * error. */
static int takeline(hdrscan *h, buf *f, int drop)
{
	io_in *in = h->in;
	for (;;) {
		ssize_t r = in_fill(in);
		const char *start, *nl;
		size_t k, room;

		if (r < 0) return -1;
		if (r == 0) return 0;
		start = in->b + in->pos;
		nl = memchr(start, '\n', in->len - in->pos);
		k = nl ? (size_t)(nl - start) + 1 : in->len - in->pos;
		room = f->len < h->max ? h->max - f->len : 0;
		if (k > room) {
			if (!drop) {
				if (room && buf_put(f, start, room) < 0) return -1;
				in->pos += room;
				return 2;
			}
			if (room && buf_put(f, start, room) < 0) return -1;
			h->cut = 1;
		} else if (buf_put(f, start, k) < 0) return -1;
		in->pos += k;
		if (nl) return 1;
	}
}

/* The next byte of the stream without taking it: 1, 0 at end, -1 error. */
static int peek(io_in *in, char *c)
{
	ssize_t r = in_fill(in);
	if (r <= 0) return (int)r;
	*c = in->b[in->pos];
	return 1;
}

int hdrscan_field(hdrscan *h, buf *f)
{
	char c = 0;
	int r;

	f->len = 0;
	h->cut = 0;
	if (buf_ready(f, 0) < 0) return -1;
	if (h->done) return 0;
	r = peek(h->in, &c);
	if (r < 0) return -1;
	if (r == 0) { h->done = 1; return 0; }
	/* First line: keep it whole in the stream's sense until we know
	 * whether it is a field; a line that is not one is the body's. */
	r = takeline(h, f, 0);
	if (r < 0) return -1;
	if ((f->len == 1 && f->s[0] == '\n') || (f->len == 2 && f->s[0] == '\r' && f->s[1] == '\n')) {
		f->len = 0;
		f->s[0] = 0;
		h->done = 1;
		return 0;
	}
	if (!header_field(f->s, f->len, 0)) {
		h->done = 1;
		h->bodyline = 1;
		return 0;
	}
	if (r == 2) {
		h->cut = 1;
		if (takeline(h, f, 1) < 0) return -1;
	}
	/* Continuation lines begin with a blank. */
	for (;;) {
		r = peek(h->in, &c);
		if (r < 0) return -1;
		if (r == 0 || (c != ' ' && c != '\t')) break;
		if (takeline(h, f, 1) < 0) return -1;
	}
	f->s[f->len] = 0;
	return 1;
}

int hdrscan_is(const buf *f, const char *name)
{
	size_t n, len = strlen(name);
	if (!header_field(f->s, f->len, &n)) return 0;
	return n == len && case_eqn(f->s, name, len);
}

int hdrscan_value(const buf *f, buf *v)
{
	size_t at = header_field(f->s, f->len, 0), i, j;

	v->len = 0;
	if (buf_ready(v, 0) < 0) return -1;
	if (!at) return 0;
	if (header_unfold(v, f->s + at, f->len - at) < 0) return -1;
	for (i = 0; i < v->len && (v->s[i] == ' ' || v->s[i] == '\t'); i++) ;
	for (j = v->len; j > i && (v->s[j - 1] == ' ' || v->s[j - 1] == '\t'); j--) ;
	memmove(v->s, v->s + i, j - i);
	buf_trunc(v, j - i);
	return 0;
}

/* qmail-inject's rule for these files: the file, else control/me, else
 * the file's own name. */
static int readdef(buf *b, const char *name)
{
	int r = control_readline(b, name, 0);
	if (r < 0) return -1;
	if (r == 1 && b->len) return 0;
	if (control_readline(b, "me", name) < 0) return -1;
	if (!b->len && buf_copys(b, name) < 0) return -1;
	return 0;
}

int hdrscan_cfg(addr_cfg *c)
{
	buf host = BUF_INIT, domain = BUF_INIT, plus = BUF_INIT;
	int r = -1;

	if (readdef(&host, "defaulthost") == 0 && readdef(&domain, "defaultdomain") == 0
	    && readdef(&plus, "plusdomain") == 0)
		r = addr_cfg_init(c, host.s, domain.s, plus.s);
	buf_free(&host);
	buf_free(&domain);
	buf_free(&plus);
	return r;
}

int hdrscan_addrs(const addr_cfg *c, const buf *f, buf *addrs)
{
	buf out = BUF_INIT;
	size_t at = header_field(f->s, f->len, 0);
	int r;

	if (!at) return 0;
	r = addr_list(c, f->s + at, f->len - at, 0, &out, addrs);
	buf_free(&out);
	return r;
}
