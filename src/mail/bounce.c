/* bounce: the bounce/N record format and the bounce message; see bounce.h. */
#include "mail/bounce.h"
#include "mail/date822.h"
#include "mail/qqclient.h"
#include "mail/remotediag.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int bounce_block(buf *b, const char *recip, const char *report, size_t rlen)
{
	size_t start = b->len, i;

	if (buf_putc(b, '<') < 0) return -1;
	for (; *recip; recip++)
		if (buf_putc(b, *recip == '\n' ? '_' : *recip) < 0) return -1;
	if (buf_puts(b, ">:\n") < 0) return -1;
	for (i = 0; i < rlen; i++)
		if (buf_putc(b, report[i] ? report[i] : '_') < 0) return -1;
	if (rlen && report[rlen - 1] != '\n' && buf_putc(b, '\n') < 0) return -1;
	/* An empty line ends a block: inside the text it becomes "/". */
	for (i = b->len - 1; i > start + 1; i--)
		if (b->s[i - 1] == '\n' && b->s[i - 2] == '\n') b->s[i - 1] = '/';
	return buf_putc(b, '\n');
}

static int isdig(char c) { return c >= '0' && c <= '9'; }

/* Length of a "d.d{1,3}.d{1,3}" status code at s, or 0. */
static size_t code(const char *s, size_t n)
{
	size_t i = 1, k;
	int part;

	if (!n || (s[0] != '2' && s[0] != '4' && s[0] != '5')) return 0;
	for (part = 0; part < 2; part++) {
		if (i >= n || s[i] != '.') return 0;
		i++;
		for (k = 0; k < 3 && i < n && isdig(s[i]); k++) i++;
		if (!k) return 0;
	}
	if (i < n && isdig(s[i])) return 0;
	return i;
}

void bounce_status(const char *text, size_t n, char *s)
{
	size_t i, found = 0, flen = 0;

	for (i = 0; i < n; i++)
		if (text[i] == '#') {
			size_t k = code(text + i + 1, n - i - 1);
			if (k) { found = i + 1; flen = k; }
		}
	if (!flen) { memcpy(s, "5.0.0", 6); return; }
	memcpy(s, text + found, flen);
	s[flen] = 0;
}

/* --- writing ------------------------------------------------------------ */

typedef struct w {
	io_out *out;
	int err;
} w;

static void put(w *o, const char *p, size_t n)
{
	if (!o->err && out_put(o->out, p, n) < 0) o->err = errno ? errno : EIO;
}
static void puts_(w *o, const char *s) { put(o, s, strlen(s)); }

static int atext(unsigned char c)
{
	if (c >= 128) return 1;   /* UTF-8 addresses (RFC 6531) go unquoted */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isdig((char)c)) return 1;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != 0;
}

/* An address as a header shows it: the local part quoted when it is not
 * a dot-atom (RFC 5322 3.4.1), so "a b@c" stays one address. */
static void putaddr(w *o, const char *a)
{
	size_t n = strlen(a), at = byte_rchr(a, n, '@'), i;
	int q = at == 0 || a[0] == '.' || (at && a[at - 1] == '.');

	for (i = 0; i < at && !q; i++)
		if (!atext((unsigned char)a[i]) && !(a[i] == '.' && a[i + 1] != '.')) q = 1;
	if (!q) { put(o, a, n); return; }
	put(o, "\"", 1);
	for (i = 0; i < at; i++) {
		if (a[i] == '"' || a[i] == '\\') put(o, "\\", 1);
		put(o, a[i] == '\n' ? "_" : a + i, 1);
	}
	put(o, "\"", 1);
	put(o, a + at, n - at);
}

/* A header field value on one logical line: control and 8-bit bytes
 * become '?', long values are folded at spaces near 76 columns and cut at
 * a bound, so the field stays within RFC 5322's line limit. */
static void putfield(w *o, const char *name, const char *v, size_t n)
{
	size_t col = strlen(name) + 2, i, cut = n > 900 ? 900 : n;

	puts_(o, name);
	puts_(o, ": ");
	for (i = 0; i < cut; i++) {
		char c = v[i];
		if ((unsigned char)c < 32 || (unsigned char)c > 126) c = '?';
		if (c == ' ' && col > 72) { puts_(o, "\n "); col = 1; continue; }
		put(o, &c, 1);
		col++;
	}
	puts_(o, "\n");
}

/* Copy fd from its offset to its end, or only lim bytes when lim > 0. */
static int copyfd(w *o, int fd, unsigned long long lim)
{
	char tmp[IO_BUFSIZE];
	unsigned long long left = lim;
	for (;;) {
		size_t want = lim && left < sizeof tmp ? (size_t)left : sizeof tmp;
		ssize_t r;
		if (lim && !left) return 0;
		r = read(fd, tmp, want);
		if (r < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		if (r == 0) return 0;
		put(o, tmp, (size_t)r);
		if (o->err) return 0;
		left -= (unsigned long long)r;
	}
}

/* One recipient group of the delivery-status part. A failure that
 * qmail-remote reported (raw: the block's text, line ends kept) names
 * the server and its SMTP reply (RFC 3464 Remote-MTA, Diagnostic-Code
 * "smtp;"); any other keeps qmail's text as an x-qmail diagnostic. */
static void group(w *o, const buf *addr, const buf *diag, const buf *raw, const char *status)
{
	remotediag rd = REMOTEDIAG_INIT;
	buf d = BUF_INIT;
	char st[12];
	size_t i;
	int remote = remotediag_parse(raw->s ? raw->s : "", raw->len, &rd);

	if (remote < 0) { if (!o->err) o->err = ENOMEM; remote = 0; }
	puts_(o, "\nFinal-Recipient: rfc822; ");
	for (i = 0; i < addr->len && i < 900; i++) {
		char c = addr->s[i];
		if ((unsigned char)c < 33 || (unsigned char)c > 126) c = '?';
		put(o, &c, 1);
	}
	if (remote) {
		/* Action "failed" is a permanent status (RFC 3464 2.3.4): a
		 * 4xx reply that ended in a bounce (queuelifetime) is class 5. */
		memcpy(st, rd.status, sizeof st);
		if (st[0] == '4') st[0] = '5';
		status = st;
	}
	puts_(o, "\nAction: failed\nStatus: ");
	puts_(o, status);
	puts_(o, "\n");
	if (remote && rd.mta[0]) { puts_(o, "Remote-MTA: dns; "); puts_(o, rd.mta); puts_(o, "\n"); }
	if (buf_puts(&d, remote ? "smtp; " : "x-qmail; ") < 0 ||
	    (remote ? buf_put(&d, rd.smtp.s, rd.smtp.len) : buf_put(&d, diag->s, diag->len)) < 0) {
		if (!o->err) o->err = ENOMEM;
	} else
		putfield(o, "Diagnostic-Code", d.s, d.len);
	buf_free(&d);
	remotediag_free(&rd);
}

#define RAW_MAX 16384   /* bytes of one block's text examined for a remote reply */

/* The delivery-status groups, one per block of the bounce/N file from
 * its offset on (only the first block when one is set). */
static int dsn(w *o, int fd, int one)
{
	io_in in;
	buf line = BUF_INIT, addr = BUF_INIT, diag = BUF_INIT, raw = BUF_INIT;
	char status[12] = "5.0.0", s[12];
	int have = 0, r = 0;

	in_init(&in, fd, 0);
	while (!o->err) {
		int k;
		line.len = 0;
		k = in_getline(&in, &line, '\n', BOUNCE_LINE_MAX);
		if (k < 0 && errno != ERANGE) { r = -1; break; }   /* ERANGE: line cut */
		if (k == 0 && !line.len) break;
		if (line.len && line.s[line.len - 1] == '\n') line.len--;
		if (!line.len) {                     /* end of a block */
			if (have) group(o, &addr, &diag, &raw, status);
			if (have && one) { have = 0; break; }
			have = 0;
			continue;
		}
		if (!have) {                         /* "<addr>:" starts a block */
			size_t n = line.len;
			int e = n >= 3 && line.s[0] == '<' && line.s[n - 2] == '>' && line.s[n - 1] == ':';
			if (buf_copy(&addr, line.s + e, e ? n - 3 : n) < 0) { o->err = ENOMEM; break; }
			diag.len = 0;
			raw.len = 0;
			memcpy(status, "5.0.0", 6);
			have = 1;
			continue;
		}
		bounce_status(line.s, line.len, s);  /* the last code in the text wins */
		if (!str_eq(s, "5.0.0")) memcpy(status, s, sizeof s);
		/* the text with its line ends, for remotediag_parse: our
		 * spawns' reports are far shorter than this bound */
		if (raw.len < RAW_MAX &&
		    (buf_put(&raw, line.s, line.len > RAW_MAX ? RAW_MAX : line.len) < 0 || buf_putc(&raw, '\n') < 0)) {
			o->err = ENOMEM;
			break;
		}
		if (diag.len < 1000 &&
		    ((diag.len && buf_putc(&diag, ' ') < 0) ||
		     buf_put(&diag, line.s, line.len > 1000 ? 1000 : line.len) < 0)) { o->err = ENOMEM; break; }
	}
	if (have && !o->err && r == 0) group(o, &addr, &diag, &raw, status);
	buf_free(&line);
	buf_free(&addr);
	buf_free(&diag);
	buf_free(&raw);
	return r;
}

int bounce_write(io_out *out, const bounce_msg *m, int fdfail, int fdmess)
{
	w o = {out, 0};
	char date[DATE822_MAX], num[24];

	date822_fmt(date, m->now);
	puts_(&o, "Date: "); puts_(&o, date);
	puts_(&o, "\nFrom: "); putaddr(&o, m->fromuser); puts_(&o, "@"); puts_(&o, m->host);
	puts_(&o, "\nTo: "); putaddr(&o, m->to);
	puts_(&o, "\nSubject: failure notice\nMessage-ID: <");
	fmt_ulong(num, (unsigned long long)m->now); puts_(&o, num);
	puts_(&o, ".");
	fmt_ulong(num, m->id); puts_(&o, num);
	puts_(&o, ".bounce@"); puts_(&o, m->host);
	puts_(&o, ">\nMIME-Version: 1.0\n"
	      "Content-Type: multipart/report; report-type=delivery-status;\n"
	      "\tboundary=\""); puts_(&o, m->boundary);
	puts_(&o, "\"\n\nThis is a MIME-formatted message: a delivery status report.\n");

	puts_(&o, "\n--"); puts_(&o, m->boundary);
	puts_(&o, "\nContent-Type: text/plain; charset=utf-8\n\n"
	      "Hi. This is the qmail-send program at "); puts_(&o, m->host);
	puts_(&o, m->dbl ? ".\nI tried to deliver a bounce message to this address, but the bounce bounced!\n\n"
	      : ".\nI'm afraid I wasn't able to deliver your message to the following addresses.\n"
	        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n");
	if (lseek(fdfail, (off_t)m->blkoff, SEEK_SET) < 0 || copyfd(&o, fdfail, m->blklen) < 0) return -1;
	puts_(&o, m->dbl ? "--- Below this line is the original bounce.\n"
	      : "--- Below this line is a copy of the message.\n");

	puts_(&o, "\n--"); puts_(&o, m->boundary);
	puts_(&o, "\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; ");
	puts_(&o, m->host);
	date822_fmt(date, m->arrival);
	puts_(&o, "\nArrival-Date: "); puts_(&o, date); puts_(&o, "\n");
	if (lseek(fdfail, (off_t)m->blkoff, SEEK_SET) < 0 || dsn(&o, fdfail, m->blklen != 0) < 0) return -1;

	puts_(&o, "\n--"); puts_(&o, m->boundary);
	puts_(&o, "\nContent-Type: message/rfc822\n\nReturn-Path: <");
	puts_(&o, m->sender);   /* the envelope's bytes, as qmail-local writes it */
	puts_(&o, ">\n");
	if (copyfd(&o, fdmess, 0) < 0) return -1;
	puts_(&o, "\n--"); puts_(&o, m->boundary); puts_(&o, "--\n");
	if (!o.err && out_flush(out) < 0) o.err = errno;
	if (o.err) { errno = o.err; return -1; }
	return 0;
}

int bounce_only_to(int fd, const char *addr)
{
	io_in in;
	buf line = BUF_INIT;
	size_t al = strlen(addr);
	int start = 1, r = 1, k;

	in_init(&in, fd, 0);
	for (;;) {
		line.len = 0;
		k = in_getline(&in, &line, '\n', BOUNCE_LINE_MAX);
		if (k < 0 && errno != ERANGE) { r = -1; break; }
		if (k == 0 && !line.len) break;
		if (line.len && line.s[line.len - 1] == '\n') line.len--;
		if (!line.len) { start = 1; continue; }
		/* the first line of a block is "<addr>:" */
		if (start && !(line.len == al + 3 && line.s[0] == '<' && case_eqn(line.s + 1, addr, al) &&
		               line.s[al + 1] == '>' && line.s[al + 2] == ':')) { r = 0; break; }
		start = 0;
		if (k == 0) break;
	}
	buf_free(&line);
	return r;
}

/* One line of in: its bytes counted into *n (the '\n' included), the
 * first max of them (without the '\n') appended to keep when keep is set.
 * 1 a line ended by '\n', 0 end of file (*n says whether a partial last
 * line was there), -1 a read error or out of memory. */
static int getline_(io_in *in, buf *keep, size_t max, unsigned long long *n)
{
	*n = 0;
	for (;;) {
		ssize_t r = in_fill(in);
		const char *p, *z;
		size_t k;
		if (r < 0) return -1;
		if (r == 0) return 0;
		p = in->b + in->pos;
		z = memchr(p, '\n', in->len - in->pos);
		k = z ? (size_t)(z - p) : in->len - in->pos;
		if (keep && keep->len < max &&
		    buf_put(keep, p, k < max - keep->len ? k : max - keep->len) < 0) return -1;
		in->pos += k + (z != 0);
		*n += k + (z != 0);
		if (z) return 1;
	}
}

int bounce_nextblk(io_in *in, unsigned long long *pos, bounce_blk *b)
{
	unsigned long long n;
	size_t len;
	int r;

	for (;;) {                       /* the address line, after any empty lines */
		b->addr.len = 0;
		b->off = *pos;
		r = getline_(in, &b->addr, BOUNCE_LINE_MAX, &n);
		if (r < 0) return -1;
		if (!n) return 0;
		*pos += n;
		if (n > 1 || r == 0) break;
	}
	len = b->addr.len;
	b->sent = len && b->addr.s[0] == BOUNCE_SENT;
	if (len >= 3 && (b->addr.s[0] == '<' || b->sent) && b->addr.s[len - 2] == '>' && b->addr.s[len - 1] == ':') {
		memmove(b->addr.s, b->addr.s + 1, len - 3);
		buf_trunc(&b->addr, len - 3);
	}
	while (r == 1) {                 /* the text, up to the empty line */
		r = getline_(in, 0, 0, &n);
		if (r < 0) return -1;
		*pos += n;
		if (n == 1 && r == 1) break;
	}
	b->len = *pos - b->off;
	return 1;
}

int bounce_marksent(int fd, unsigned long long off)
{
	char c = BOUNCE_SENT;
	return pwrite(fd, &c, 1, (off_t)off) == 1 ? 0 : -1;
}

void bounce_boundary(char *b, unsigned long id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[12];
	size_t n, i;

	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
		/* no entropy yet: time and pid still differ between bounces */
		unsigned long long x = (unsigned long long)time(0) * 1000003u ^ (unsigned long long)getpid() << 20 ^ id;
		for (i = 0; i < sizeof rnd; i++) rnd[i] = (unsigned char)(x >> (i % 8 * 8) ^ i * 37u);
	}
	memcpy(b, "nqmail-", 7);
	n = 7 + fmt_ulong(b + 7, id);
	b[n++] = '-';
	for (i = 0; i < sizeof rnd; i++) {
		b[n++] = hex[rnd[i] >> 4];
		b[n++] = hex[rnd[i] & 15];
	}
	b[n] = 0;
}

int bounce_queue(const bounce_msg *m, int fdfail, int fdmess, unsigned long *qp, buf *why)
{
	qq q;

	if (qq_open(&q, 0) < 0) {
		if (buf_copys(why, "unable to start qmail-queue") < 0) why->len = 0;
		return 'Z';
	}
	*qp = (unsigned long)q.pid;
	if (bounce_write(&q.mess, m, fdfail, fdmess) < 0) q.failed = 1;
	qq_from(&q, "");
	qq_to(&q, m->to, strlen(m->to));
	return qq_close(&q, why);
}
