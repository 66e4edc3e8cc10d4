/* smtpreply: SMTP reply lines in, code and text out (see smtpreply.h). */
#include "mail/smtpreply.h"
#include "lib/str.h"
#include <string.h>

void smtpreply_reset(smtpreply *r)
{
	r->code = 0;
	r->total = 0;
	r->text.len = 0;
	r->more = 0;
}

void smtpreply_free(smtpreply *r) { buf_free(&r->text); }

static int isdig(char c) { return c >= '0' && c <= '9'; }

int smtpreply_line(smtpreply *r, const char *line, size_t n)
{
	size_t i, keep;
	unsigned code;
	int last;

	if (n > SMTPREPLY_MAX - r->total) return -1;
	r->total += n;
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
	if (n < 3 || !isdig(line[0]) || !isdig(line[1]) || !isdig(line[2])) return -1;
	code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 + (unsigned)(line[2] - '0');
	if (code < 200 || code > 599) return -1;
	if (n > 3 && line[3] != ' ' && line[3] != '-') return -1;
	last = n == 3 || line[3] == ' ';
	if (!r->more) r->code = code;

	/* the text: this line without CR, and its LF */
	keep = 0;
	if (r->text.len < SMTPREPLY_TEXT_MAX) {
		keep = SMTPREPLY_TEXT_MAX - r->text.len;
		if (keep > n + 1) keep = n + 1;
	}
	for (i = 0; i < keep; i++) {
		char c = i < n ? line[i] : '\n';
		if (c == '\r') continue;
		if (c == 0) c = '?';
		if (buf_putc(&r->text, c) < 0) return -1;
	}
	r->more = !last;
	return last ? 1 : 0;
}

/* Does the keyword kw start the line (ASCII case ignored), followed by
 * the end, a space or (for AUTH's old form) '='? */
static int kw(const char *l, size_t n, const char *k)
{
	size_t m = strlen(k);
	return n >= m && case_eqn(l, k, m) && (n == m || l[m] == ' ' || l[m] == '=');
}

/* AUTH's mechanisms: the words after the keyword. */
static unsigned mechs(const char *l, size_t n)
{
	unsigned f = 0;
	size_t i = 5;
	while (i < n) {
		size_t s;
		while (i < n && (l[i] == ' ' || l[i] == '=')) i++;
		s = i;
		while (i < n && l[i] != ' ') i++;
		if (i - s == 5 && case_eqn(l + s, "PLAIN", 5)) f |= EHLO_AUTH_PLAIN;
		if (i - s == 5 && case_eqn(l + s, "LOGIN", 5)) f |= EHLO_AUTH_LOGIN;
	}
	return f;
}

void smtpreply_ehlo(const smtpreply *r, smtpext *e)
{
	const char *t = r->text.s;
	size_t len = r->text.len, i = 0, first = 1;

	e->flags = 0;
	e->size = 0;
	while (t && i < len) {
		size_t n = byte_chr(t + i, len - i, '\n');
		const char *l = t + i + 4;
		size_t ll = n >= 4 ? n - 4 : 0;
		if (!first && n >= 4) {
			if (kw(l, ll, "PIPELINING")) e->flags |= EHLO_PIPELINING;
			else if (kw(l, ll, "8BITMIME")) e->flags |= EHLO_8BITMIME;
			else if (kw(l, ll, "SMTPUTF8")) e->flags |= EHLO_SMTPUTF8;
			else if (kw(l, ll, "STARTTLS")) e->flags |= EHLO_STARTTLS;
			else if (kw(l, ll, "ENHANCEDSTATUSCODES")) e->flags |= EHLO_ENHANCED;
			else if (kw(l, ll, "AUTH")) e->flags |= mechs(l, ll);
			else if (kw(l, ll, "SIZE")) {
				unsigned long s = 0;
				e->flags |= EHLO_SIZE;
				if (ll > 5 && scan_ulong(l + 5, ll - 5, &s)) e->size = s;
			}
		}
		first = 0;
		i += n + 1;
	}
}
