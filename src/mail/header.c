/* header: field names, the fields qmail knows, unfolding, a bounded header
 * reader, CR LF to LF in the body, and the Date and Message-ID stamps.
 * See header.h for the promises; qmail-header(5) for the rules. */
#include "mail/header.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

size_t header_field(const char *s, size_t n, size_t *namelen)
{
	size_t i = 0, name;

	while (i < n && (unsigned char)s[i] > 32 && (unsigned char)s[i] < 127 && s[i] != ':') i++;
	name = i;
	if (!name) return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
	if (i >= n || s[i] != ':') return 0;
	if (namelen) *namelen = name;
	return i + 1;
}

static const struct { const char *name; enum header_kind kind; } known[] = {
	{"To", H_TO}, {"Cc", H_CC}, {"Bcc", H_BCC}, {"Apparently-To", H_APPARENTLYTO},
	{"Resent-To", H_RTO}, {"Resent-Cc", H_RCC}, {"Resent-Bcc", H_RBCC},
	{"Return-Path", H_RETURNPATH},
	{"Sender", H_SENDER}, {"From", H_FROM}, {"Reply-To", H_REPLYTO},
	{"Return-Receipt-To", H_RETURNRECEIPTTO}, {"Errors-To", H_ERRORSTO},
	{"Resent-Sender", H_RSENDER}, {"Resent-From", H_RFROM},
	{"Resent-Reply-To", H_RREPLYTO},
	{"Date", H_DATE}, {"Resent-Date", H_RDATE},
	{"Message-ID", H_MESSAGEID}, {"Resent-Message-ID", H_RMESSAGEID},
	{"Content-Length", H_CONTENTLENGTH}, {"Mail-Followup-To", H_MAILFOLLOWUPTO},
};

enum header_kind header_kind(const char *s, size_t n)
{
	size_t len, i;

	if (!header_field(s, n, &len)) return H_OTHER;
	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i].name) == len && case_eqn(s, known[i].name, len))
			return known[i].kind;
	return H_OTHER;
}

int header_is_addrlist(enum header_kind k)
{
	switch (k) {
	case H_TO: case H_CC: case H_BCC: case H_APPARENTLYTO:
	case H_RTO: case H_RCC: case H_RBCC: case H_RETURNPATH:
	case H_SENDER: case H_FROM: case H_REPLYTO: case H_RETURNRECEIPTTO:
	case H_ERRORSTO: case H_RSENDER: case H_RFROM: case H_RREPLYTO:
		return 1;
	default:
		return 0;
	}
}

int header_unfold(buf *out, const char *s, size_t n)
{
	size_t i = 0;

	if (buf_ready(out, 0) < 0) return -1;
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t k = nl ? (size_t)(nl - (s + i)) : n - i;
		size_t keep = k;
		if (nl && keep && s[i + keep - 1] == '\r') keep--;
		if (buf_put(out, s + i, keep) < 0) return -1;
		i += k + (nl ? 1 : 0);
	}
	return 0;
}

/* Read one line of at most max bytes into line. Returns 1 with a line
 * (ending in LF, CR LF made LF, unless *cut: then max bytes without LF and
 * the rest stays in the stream), 0 at end of input with nothing read, -1
 * on error. A last line without LF gets one, as qmail does. */
static int getline_max(io_in *in, buf *line, size_t max, int *cut)
{
	line->len = 0;
	*cut = 0;
	if (buf_ready(line, 0) < 0) return -1;
	for (;;) {
		ssize_t r = in_fill(in);
		const char *start, *end;
		size_t k;

		if (r < 0) return -1;
		if (r == 0) {
			if (!line->len) return 0;
			if (buf_putc(line, '\n') < 0) return -1;
			break;
		}
		start = in->b + in->pos;
		end = memchr(start, '\n', in->len - in->pos);
		k = end ? (size_t)(end - start) + 1 : in->len - in->pos;
		if (k > max - line->len) { k = max - line->len; end = 0; }
		if (buf_put(line, start, k) < 0) return -1;
		in->pos += k;
		if (end) break;
		if (line->len == max) { *cut = 1; return 1; }
	}
	if (line->len >= 2 && line->s[line->len - 2] == '\r') {
		line->s[line->len - 2] = '\n';
		buf_trunc(line, line->len - 1);
	}
	return 1;
}

void header_in_init(header_in *h, io_in *in)
{
	memset(h, 0, sizeof *h);
	h->in = in;
	h->next.max = HEADER_FIELD_MAX + 16;
}

void header_in_free(header_in *h) { buf_free(&h->next); }

static int readnext(header_in *h)
{
	int r;

	if (h->eof) { h->next.len = 0; h->partial = 0; return 0; }
	r = getline_max(h->in, &h->next, HEADER_FIELD_MAX, &h->partial);
	if (r == 0) h->eof = 1;
	if (r < 0) h->err = errno == ENOMEM ? HIN_NOMEM : HIN_READ;
	return r;
}

static int fail(header_in *h, int why) { h->err = why; return -1; }

int header_in_field(header_in *h, buf *f)
{
	f->len = 0;
	if (h->done) return 0;
	if (!h->have) {
		int r = readnext(h);
		if (r < 0) return -1;
		if (r == 0) { h->done = 1; return 0; }
	}
	h->have = 0;
	if (!h->partial && h->next.len == 1) { h->done = 1; return 0; }
	if (buf_starts(&h->next, "From ")) {
		if (buf_copys(f, "MBOX-Line: ") < 0) return fail(h, HIN_NOMEM);
	} else if (!header_field(h->next.s, h->next.len, 0)) {
		/* Not a field: the body begins here, after an inserted empty line. */
		h->done = 1;
		h->blank = 1;
		return 0;
	}
	if (h->partial) return fail(h, HIN_FIELD_TOO_LONG);
	if (f->len + h->next.len > HEADER_FIELD_MAX) return fail(h, HIN_FIELD_TOO_LONG);
	if (buf_put(f, h->next.s, h->next.len) < 0) return fail(h, HIN_NOMEM);
	for (;;) {
		int r = readnext(h);
		if (r < 0) return -1;
		if (r == 0) break;
		if (h->next.s[0] != ' ' && h->next.s[0] != '\t') { h->have = 1; break; }
		if (h->partial || f->len + h->next.len > HEADER_FIELD_MAX)
			return fail(h, HIN_FIELD_TOO_LONG);
		if (buf_put(f, h->next.s, h->next.len) < 0) return fail(h, HIN_NOMEM);
	}
	h->total += f->len;
	if (h->total > HEADER_MAX) return fail(h, HIN_HEADER_TOO_LONG);
	return 1;
}

int header_lf_put(io_out *out, int *cr, char *last, const char *p, size_t n)
{
	while (n) {
		const char *q;
		size_t k;

		if (*cr) {
			*cr = 0;
			if (*p != '\n') {
				if (out_put(out, "\r", 1) < 0) return -1;
				*last = '\r';
			}
		}
		q = memchr(p, '\r', n);
		k = q ? (size_t)(q - p) : n;
		if (k) {
			if (out_put(out, p, k) < 0) return -1;
			*last = p[k - 1];
		}
		if (!q) break;
		/* p[k] is a CR: dropped when an LF follows, kept otherwise. */
		if (k + 1 == n) *cr = 1;
		else if (p[k + 1] != '\n') {
			if (out_put(out, "\r", 1) < 0) return -1;
			*last = '\r';
		}
		p += k + 1;
		n -= k + 1;
	}
	return 0;
}

int header_lf_end(io_out *out, int *cr, char *last)
{
	if (!*cr) return 0;
	*cr = 0;
	*last = '\r';
	return out_put(out, "\r", 1);
}

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int put2(buf *b, int n)
{
	char d[2];
	d[0] = (char)('0' + n / 10 % 10);
	d[1] = (char)('0' + n % 10);
	return buf_put(b, d, 2);
}

int header_date(buf *b, time_t t)
{
	struct tm tm;
	long off;

	if (!localtime_r(&t, &tm)) return -1;
	off = tm.tm_gmtoff / 60;
	if (buf_puts(b, days[tm.tm_wday % 7]) < 0 || buf_puts(b, ", ") < 0
	    || buf_putnum(b, (unsigned long long)tm.tm_mday) < 0 || buf_putc(b, ' ') < 0
	    || buf_puts(b, months[tm.tm_mon % 12]) < 0 || buf_putc(b, ' ') < 0
	    || buf_putnum(b, (unsigned long long)(tm.tm_year + 1900)) < 0 || buf_putc(b, ' ') < 0
	    || put2(b, tm.tm_hour) < 0 || buf_putc(b, ':') < 0
	    || put2(b, tm.tm_min) < 0 || buf_putc(b, ':') < 0
	    || put2(b, tm.tm_sec) < 0 || buf_putc(b, ' ') < 0
	    || buf_putc(b, off < 0 ? '-' : '+') < 0)
		return -1;
	if (off < 0) off = -off;
	if (put2(b, (int)(off / 60 % 100)) < 0 || put2(b, (int)(off % 60)) < 0) return -1;
	return 0;
}

int header_msgid(buf *b, time_t t, pid_t pid, const char *idhost)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm)) return -1;
	if (buf_putc(b, '<') < 0
	    || buf_putnum(b, (unsigned long long)(tm.tm_year + 1900)) < 0
	    || put2(b, tm.tm_mon + 1) < 0 || put2(b, tm.tm_mday) < 0
	    || put2(b, tm.tm_hour) < 0 || put2(b, tm.tm_min) < 0 || put2(b, tm.tm_sec) < 0
	    || buf_putc(b, '.') < 0 || buf_putnum(b, (unsigned long long)pid) < 0
	    || buf_puts(b, ".qmail@") < 0 || buf_puts(b, idhost) < 0 || buf_putc(b, '>') < 0)
		return -1;
	return 0;
}
