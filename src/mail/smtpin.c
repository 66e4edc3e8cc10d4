/* smtpin: the SMTP command, path and DATA readers (see smtpin.h). */
#include "mail/smtpin.h"
#include "lib/str.h"
#include <string.h>

/* ---- commands ------------------------------------------------------------ */

static const struct { const char *name; enum smtp_verb v; } verbs[] = {
	{"helo", SV_HELO}, {"ehlo", SV_EHLO}, {"mail", SV_MAIL}, {"rcpt", SV_RCPT},
	{"data", SV_DATA}, {"rset", SV_RSET}, {"noop", SV_NOOP}, {"vrfy", SV_VRFY},
	{"expn", SV_EXPN}, {"help", SV_HELP}, {"quit", SV_QUIT},
	{"starttls", SV_STARTTLS}, {"auth", SV_AUTH}, {"bdat", SV_BDAT},
};

static int blank(char c) { return c == ' ' || c == '\t'; }

enum smtp_verb smtp_verb(const char *s, size_t n, size_t *arg)
{
	size_t v = 0, i, k;

	while (v < n && !blank(s[v])) v++;
	for (i = v; i < n && blank(s[i]); i++) ;
	*arg = i;
	for (k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
		if (strlen(verbs[k].name) == v && case_eqn(s, verbs[k].name, v)) return verbs[k].v;
	return SV_UNKNOWN;
}

/* ---- paths ----------------------------------------------------------------- */

static int ctl(unsigned char c) { return c < 32 || c == 127; }

static int domainchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c >= 128;
}

/* The part after the last '@' must be a domain or an address literal. */
static int gooddomain(const char *d, size_t n)
{
	size_t i;

	if (n == 0) return 0;
	if (d[0] == '[') {
		if (n < 3 || d[n - 1] != ']') return 0;
		for (i = 1; i + 1 < n; i++)
			if (d[i] == '[' || d[i] == ']' || d[i] == '\\' || blank(d[i])) return 0;
		return 1;
	}
	for (i = 0; i < n; i++) if (!domainchar((unsigned char)d[i])) return 0;
	return 1;
}

/* Skip the source route "@a,@b:" starting at s[*i] == '@'. */
static int route(const char *s, size_t n, size_t *i)
{
	size_t k = *i;
	int lit = 0;

	for (; k < n; k++) {
		char c = s[k];
		if (ctl((unsigned char)c)) return SP_BADCHAR;
		if (lit) { if (c == ']') lit = 0; continue; }
		if (c == '[') lit = 1;
		else if (c == ':') { *i = k + 1; return SP_OK; }
		else if (c == '>' || c == '<' || blank(c) || c == '"') return SP_SYNTAX;
	}
	return SP_SYNTAX;
}

int smtp_path(const char *s, size_t n, const char *prefix, struct smtp_path *p)
{
	size_t i, pl = strlen(prefix), at;
	int br = 0, quote = 0, lit = 0, r, closed = 0;

	p->addr.len = 0;
	p->utf8 = 0;
	p->params = n;
	if (buf_ready(&p->addr, 0) < 0) return -1;
	p->addr.s[0] = 0;
	if (n < pl || !case_eqn(s, prefix, pl)) return SP_PREFIX;
	for (i = pl; i < n && blank(s[i]); i++) ;
	if (i < n && s[i] == '<') { br = 1; i++; }
	if (br && i < n && s[i] == '@') {
		r = route(s, n, &i);
		if (r != SP_OK) return r;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (ctl(c)) return SP_BADCHAR;
		if (c >= 128) p->utf8 = 1;
		if (lit) {
			if (c == ']') lit = 0;
		} else if (quote) {
			if (c == '"') { quote = 0; continue; }
			if (c == '\\') {
				if (++i >= n) return SP_SYNTAX;
				c = (unsigned char)s[i];
				if (ctl(c)) return SP_BADCHAR;
				if (c >= 128) p->utf8 = 1;
			}
		} else {
			if (c == '"') { quote = 1; continue; }
			if (c == '\\') {
				if (++i >= n) return SP_SYNTAX;
				c = (unsigned char)s[i];
				if (ctl(c)) return SP_BADCHAR;
				if (c >= 128) p->utf8 = 1;
			} else if (c == '[') lit = 1;
			else if (c == '>') {
				if (!br) return SP_SYNTAX;
				closed = 1;
				i++;
				break;
			} else if (blank((char)c)) {
				if (br) return SP_SYNTAX;
				break;
			} else if (c == '<') return SP_SYNTAX;
		}
		if (p->addr.len >= SMTP_ADDR_MAX) return SP_TOOLONG;
		if (buf_putc(&p->addr, (char)c) < 0) return -1;
	}
	if (quote || lit || (br && !closed)) return SP_SYNTAX;
	if (!br && p->addr.len == 0) return SP_SYNTAX;
	/* Parameters are separated from the path by blanks. */
	if (i < n && !blank(s[i])) return SP_SYNTAX;
	while (i < n && blank(s[i])) i++;
	p->params = i;
	at = byte_rchr(p->addr.s, p->addr.len, '@');
	if (at < p->addr.len) {
		if (at + 1 == p->addr.len) return SP_NODOMAIN;
		if (!gooddomain(p->addr.s + at + 1, p->addr.len - at - 1)) return SP_SYNTAX;
	}
	return SP_OK;
}

int smtp_param(const char *s, size_t n, size_t *pos,
               const char **key, size_t *kl, const char **val, size_t *vl)
{
	size_t i = *pos, k;

	while (i < n && blank(s[i])) i++;
	if (i >= n) { *pos = i; return 0; }
	k = i;
	while (i < n && (domainchar((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' &&
	                 (unsigned char)s[i] < 128)) i++;
	if (i == k || s[k] == '-') return -1;
	*key = s + k;
	*kl = i - k;
	*val = s + i;
	*vl = 0;
	if (i < n && s[i] == '=') {
		size_t v = ++i;
		while (i < n && !blank(s[i])) {
			unsigned char c = (unsigned char)s[i];
			if (ctl(c) || c == '=') return -1;
			i++;
		}
		if (i == v) return -1;
		*val = s + v;
		*vl = i - v;
	}
	if (i < n && !blank(s[i])) return -1;
	*pos = i;
	return 1;
}

/* ---- DATA ---------------------------------------------------------------- */

void smtp_data_init(struct smtp_data *d, unsigned long long max)
{
	memset(d, 0, sizeof *d);
	d->st = SD_BOL;
	d->max = max;
	d->inheader = 1;
	d->cand = 1;
}

static void header_byte(struct smtp_data *d, char c)
{
	if (c == '\n') {
		if (d->col == 0) d->inheader = 0;
		d->col = 0;
		d->cand = 1;
		return;
	}
	if (d->cand) {
		if (c == ':') {
			if ((d->col == 8 && memcmp(d->head, "received", 8) == 0) ||
			    (d->col == 12 && memcmp(d->head, "delivered-to", 12) == 0)) {
				if (++d->hops >= SMTP_HOPS_MAX) d->bad |= SD_HOPS;
			}
			d->cand = 0;
		} else if (d->col < sizeof d->head) {
			d->head[d->col] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		} else d->cand = 0;
	}
	d->col++;
}

/* Output n bytes of the message. */
static int put(struct smtp_data *d, const char *p, size_t n, buf *out)
{
	size_t i;

	if (d->inheader)
		for (i = 0; i < n && d->inheader; i++) header_byte(d, p[i]);
	if (d->max && (d->size + n > d->max || d->size + n < d->size)) d->bad |= SD_TOOBIG;
	d->size += n;
	if (d->bad) return 0;
	return buf_put(out, p, n);
}

long long smtp_data_feed(struct smtp_data *d, const char *p, size_t n, buf *out)
{
	size_t i = 0, j;

	while (i < n) {
		char c = p[i];
		switch (d->st) {
		case SD_TEXT:
			for (j = i; j < n && p[j] != '\r' && p[j] != '\n' && p[j] != 0; j++) ;
			if (j > i) {
				if (put(d, p + i, j - i, out) < 0) return -1;
				i = j;
				continue;
			}
			i++;
			if (c == '\r') d->st = SD_CR;
			else if (c == '\n') d->bad |= SD_BARELF;
			else d->bad |= SD_NUL;
			continue;
		case SD_BOL:
			if (c == '.') { d->st = SD_DOT; i++; continue; }
			d->st = SD_TEXT;
			continue;
		case SD_DOT:
			/* A line starting with a dot: the dot goes, unless it and a
			 * CR LF are all there is. */
			if (c == '\r') { d->st = SD_DOTCR; i++; continue; }
			d->st = SD_TEXT;
			continue;
		case SD_DOTCR:
			if (c == '\n') { d->st = SD_END; return (long long)(i + 1); }
			d->bad |= SD_BARECR;
			d->st = SD_TEXT;
			continue;
		case SD_CR:
			if (c == '\n') {
				if (put(d, "\n", 1, out) < 0) return -1;
				d->st = SD_BOL;
				i++;
				continue;
			}
			d->bad |= SD_BARECR;
			d->st = SD_TEXT;
			continue;
		case SD_END:
			return (long long)i;
		}
	}
	return (long long)i;
}
