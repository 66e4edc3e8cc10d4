/* logparse: stamps and events of qmail-send's log lines (logparse.h).
 * Every scan is bounded by the line's length; numbers that do not fit
 * make a line "other", never a wrong value. */
#include "mail/logparse.h"
#include <string.h>
#include <time.h>

#define MAXSECS 253402300799LL      /* 9999-12-31 23:59:59 */
#define TAI_UNIX 4611686018427387914ULL   /* TAI64 label of 1970, as daemontools writes it */

/* Decimal digits at s[0..n): count used, 0 when none or too large. */
static size_t num(const char *s, size_t n, unsigned long long *v)
{
	size_t i = 0;
	unsigned long long x = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');
		if (x > (~0ULL - d) / 10) return 0;
		x = x * 10 + d;
		i++;
	}
	*v = x;
	return i;
}

/* Exactly k digits at s (n bytes available). */
static int digits(const char *s, size_t n, size_t k, int *v)
{
	size_t i;
	int x = 0;
	if (n < k) return 0;
	for (i = 0; i < k; i++) {
		if (s[i] < '0' || s[i] > '9') return 0;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Fraction digits after a '.': microseconds; *used gets the digits taken. */
static long long frac_us(const char *s, size_t n, size_t *used)
{
	long long us = 0;
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (i < 6) us = us * 10 + (s[i] - '0');
		i++;
	}
	for (size_t k = i; k < 6; k++) us *= 10;
	*used = i;
	return us;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (mon 1-12). */
static long long days_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

long long logparse_local(struct logctx *c, int year, int mon, int day, int hour, int min, int sec)
{
	long long key = (((long long)year * 100 + mon) * 100 + day) * 100 + hour;
	if (year < 1970 || year > 9999 || mon < 0 || mon > 11 || day < 1 || day > 31 ||
	    hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
		return -1;
	if (key != c->ckey) {
		struct tm tm;
		time_t t;
		memset(&tm, 0, sizeof tm);
		tm.tm_year = year - 1900;
		tm.tm_mon = mon;
		tm.tm_mday = day;
		tm.tm_hour = hour;
		tm.tm_isdst = -1;
		t = mktime(&tm);
		if (t == (time_t)-1) return -1;
		c->ckey = key;
		c->cval = (long long)t;
	}
	return c->cval + min * 60 + sec;
}

/* "seconds.fraction" followed by ' ' or '+': accustamp and splogger. */
static size_t decstamp(const char *s, size_t n, struct logline *l)
{
	unsigned long long secs;
	size_t i = num(s, n, &secs), k;
	long long us;
	if (!i || i > 12 || i >= n || s[i] != '.') return 0;
	i++;
	us = frac_us(s + i, n - i, &k);
	if (!k) return 0;
	i += k;
	if (i >= n || (s[i] != ' ' && s[i] != '+')) return 0;
	if (secs > (unsigned long long)MAXSECS) return 0;
	l->t = (long long)secs * 1000000 + us;
	l->hast = 1;
	l->cont = s[i] == '+';
	return i + 1;
}

/* @ + 24 hex digits + ' ': multilog's TAI64N. */
static size_t taistamp(const char *s, size_t n, struct logline *l)
{
	unsigned long long label = 0, nano = 0;
	size_t i;
	if (n < 25 || s[0] != '@') return 0;
	for (i = 1; i <= 24; i++) {
		int h = hexval(s[i]);
		if (h < 0) return 0;
		if (i <= 16) label = label << 4 | (unsigned)h;
		else nano = nano << 4 | (unsigned)h;
	}
	if (n > 25 && s[25] != ' ') return 0;
	if (label >= TAI_UNIX && label - TAI_UNIX <= (unsigned long long)MAXSECS && nano < 1000000000ULL) {
		l->t = (long long)(label - TAI_UNIX) * 1000000 + (long long)(nano / 1000);
		l->hast = 1;
	}
	return n > 25 ? 26 : 25;
}

/* YYYY-MM-DD[ T]HH:MM:SS[.frac]: fills the fields; returns bytes used. */
static size_t isodate(const char *s, size_t n, int *f, long long *us, char *sep)
{
	size_t i, k = 0;
	if (n < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':')
		return 0;
	if (!digits(s, n, 4, &f[0]) || !digits(s + 5, 2, 2, &f[1]) || !digits(s + 8, 2, 2, &f[2]) ||
	    !digits(s + 11, 2, 2, &f[3]) || !digits(s + 14, 2, 2, &f[4]) || !digits(s + 17, 2, 2, &f[5]))
		return 0;
	*sep = s[10];
	i = 19;
	*us = 0;
	if (i < n && s[i] == '.') {
		*us = frac_us(s + i + 1, n - i - 1, &k);
		if (!k) return 0;
		i += 1 + k;
	}
	return i;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* "Mmm dd HH:MM:SS": returns bytes used, fields in f (month 0-11). */
static size_t bsddate(const char *s, size_t n, int *f)
{
	size_t i;
	int m;
	if (n < 15 || s[3] != ' ') return 0;
	for (m = 0; m < 12; m++)
		if (!memcmp(s, months + 3 * m, 3)) break;
	if (m == 12) return 0;
	f[1] = m;
	i = 4;
	if (s[i] == ' ') i++;
	if (i < n && s[i] >= '0' && s[i] <= '9') {
		f[2] = s[i++] - '0';
		if (i < n && s[i] >= '0' && s[i] <= '9') f[2] = f[2] * 10 + (s[i++] - '0');
	} else
		return 0;
	if (i + 9 > n || s[i] != ' ' || s[i + 3] != ':' || s[i + 6] != ':') return 0;
	if (!digits(s + i + 1, 2, 2, &f[3]) || !digits(s + i + 4, 2, 2, &f[4]) || !digits(s + i + 7, 2, 2, &f[5]))
		return 0;
	return i + 9;
}

/* After a syslog date: " host tag: " and perhaps splogger's stamp. */
static void syslogrest(const char *s, size_t n, size_t i, struct logline *l)
{
	size_t k, lim;
	if (i < n && s[i] == ' ') i++;
	while (i < n && s[i] != ' ') i++;           /* host */
	if (i < n) i++;
	lim = n - i < 128 ? n - i : 128;            /* a tag is short */
	for (k = 0; k + 1 < lim; k++)
		if (s[i + k] == ':' && s[i + k + 1] == ' ') { i += k + 2; break; }
	l->body = s + i;
	l->bodylen = n - i;
	k = decstamp(l->body, l->bodylen, l);
	l->body += k;
	l->bodylen -= k;
}

void logparse_stamp(struct logctx *c, const char *s, size_t n, struct logline *l)
{
	size_t i;
	int f[6];
	long long us, t;
	char sep;

	l->hast = 0;
	l->cont = 0;
	l->t = 0;
	l->body = s;
	l->bodylen = n;
	if (!n) return;
	if (s[0] == '@') {
		i = taistamp(s, n, l);
		l->body += i;
		l->bodylen -= i;
		return;
	}
	if (s[0] >= '0' && s[0] <= '9') {
		if ((i = decstamp(s, n, l))) {
			l->body += i;
			l->bodylen -= i;
			return;
		}
		if ((i = isodate(s, n, f, &us, &sep))) {
			if (sep == ' ') {           /* tai64nlocal: local time, then the text */
				t = logparse_local(c, f[0], f[1] - 1, f[2], f[3], f[4], f[5]);
				if (t >= 0) { l->t = t * 1000000 + us; l->hast = 1; }
				if (i < n && s[i] == ' ') i++;
				l->body = s + i;
				l->bodylen = n - i;
				return;
			}
			/* RFC 3339 syslog: a zone, or local time without one */
			if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60)
				t = -1;
			else if (i < n && s[i] == 'Z') {
				t = days_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
				i++;
			} else if (i < n && (s[i] == '+' || s[i] == '-')) {
				int oh, om = 0, sign = s[i] == '-' ? -1 : 1;
				if (!digits(s + i + 1, n - i - 1, 2, &oh)) t = -1;
				else {
					i += 3;
					if (i < n && s[i] == ':') i++;
					if (digits(s + i, n - i, 2, &om)) i += 2;
					t = days_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5]
					    - sign * (oh * 3600 + om * 60);
				}
			} else
				t = logparse_local(c, f[0], f[1] - 1, f[2], f[3], f[4], f[5]);
			if (t >= 0 && t <= MAXSECS) { l->t = t * 1000000 + us; l->hast = 1; }
			syslogrest(s, n, i, l);
			return;
		}
		return;
	}
	if ((i = bsddate(s, n, f))) {
		syslogrest(s, n, i, l);
		if (l->hast) {
			/* splogger's stamp has the year that syslog's lacks: lines
			 * of other programs in the same file take it from there */
			if (f[1] != c->lastmon || !c->year) {
				time_t tt = (time_t)(l->t / 1000000);
				struct tm tm;
				if (localtime_r(&tt, &tm)) { c->year = tm.tm_year + 1900; c->lastmon = tm.tm_mon; }
			}
			return;
		}
		if (!c->year) {
			time_t now = time(0);
			struct tm tm;
			localtime_r(&now, &tm);
			c->year = tm.tm_year + 1900;
			if (f[1] > tm.tm_mon) c->year--;    /* a log from last year */
		} else if (c->lastmon >= 0 && f[1] + 6 < c->lastmon)
			c->year++;                          /* December, then January */
		c->lastmon = f[1];
		t = logparse_local(c, c->year, f[1], f[2], f[3], f[4], f[5]);
		if (t >= 0) { l->t = t * 1000000; l->hast = 1; }
	}
}

/* ---- events ---------------------------------------------------------- */

struct cur { const char *p, *e; };

static int lit(struct cur *c, const char *w)
{
	size_t k = strlen(w);
	if ((size_t)(c->e - c->p) < k || memcmp(c->p, w, k)) return 0;
	c->p += k;
	return 1;
}

static int number(struct cur *c, unsigned long long *v)
{
	size_t k = num(c->p, (size_t)(c->e - c->p), v);
	if (!k) return 0;
	c->p += k;
	return 1;
}

static void rest(struct cur *c, struct logline *l)
{
	l->text = c->p;
	l->textlen = (size_t)(c->e - c->p);
}

static int info(struct cur *c, struct logline *l)
{
	const char *q;
	if (!number(c, &l->msg) || !lit(c, ": bytes ") || !number(c, &l->bytes) || !lit(c, " from <"))
		return LE_OTHER;
	/* The sender may hold '>' (qmail only makes line ends safe), so its
	 * end is the last "> qp " on the line, or a final '>' in the old form. */
	for (q = c->e - 5; q >= c->p; q--)
		if (!memcmp(q, "> qp ", 5)) break;
	if (q >= c->p) {
		struct cur t = {q + 5, c->e};
		l->text = c->p;
		l->textlen = (size_t)(q - c->p);
		if (number(&t, &l->qp)) {
			l->hasqp = 1;
			if (lit(&t, " uid ") && number(&t, &l->uid)) l->hasuid = 1;
		}
		return LE_INFO;
	}
	if (c->e > c->p && c->e[-1] == '>') {
		l->text = c->p;
		l->textlen = (size_t)(c->e - 1 - c->p);
		return LE_INFO;
	}
	return LE_OTHER;
}

static int delivery(struct cur *c, struct logline *l)
{
	if (!number(c, &l->del) || !lit(c, ": ")) return LE_OTHER;
	if (lit(c, "success")) { if (!lit(c, ": ")) lit(c, ":"); rest(c, l); return LE_SUCCESS; }
	if (lit(c, "failure")) { if (!lit(c, ": ")) lit(c, ":"); rest(c, l); return LE_FAILURE; }
	if (lit(c, "deferral")) { if (!lit(c, ": ")) lit(c, ":"); rest(c, l); return LE_DEFERRAL; }
	if (lit(c, "report mangled")) { rest(c, l); l->text = "report mangled"; l->textlen = 14; return LE_DEFERRAL; }
	return LE_OTHER;
}

static int status(struct cur *c, struct logline *l)
{
	unsigned long long a, b, x, y;
	if (lit(c, "exiting")) return LE_EXITING;
	if (!lit(c, "local ") || !number(c, &a) || !lit(c, "/") || !number(c, &b) ||
	    !lit(c, " remote ") || !number(c, &x) || !lit(c, "/") || !number(c, &y))
		return LE_OTHER;
	if (a > 1000000 || b > 1000000 || x > 1000000 || y > 1000000) return LE_OTHER;
	l->lused = (unsigned long)a; l->lmax = (unsigned long)b;
	l->rused = (unsigned long)x; l->rmax = (unsigned long)y;
	return LE_STATUS;
}

static int classify(struct cur *c, struct logline *l)
{
	switch (c->p < c->e ? *c->p : 0) {
	case 'n':
		if (lit(c, "new msg ") && number(c, &l->msg)) return LE_NEW;
		break;
	case 'i':
		if (lit(c, "info msg ")) return info(c, l);
		break;
	case 's':
		if (lit(c, "starting delivery ")) {
			if (!number(c, &l->del) || !lit(c, ": msg ") || !number(c, &l->msg) || !lit(c, " to "))
				return LE_OTHER;
			if (lit(c, "local ")) l->chan = 0;
			else if (lit(c, "remote ")) l->chan = 1;
			rest(c, l);
			return LE_START;
		}
		if (lit(c, "status: ")) return status(c, l);
		break;
	case 'd':
		if (lit(c, "delivery ")) return delivery(c, l);
		break;
	case 'b':
		if (lit(c, "bounce msg ") && number(c, &l->msg)) {
			if (lit(c, " qp ") && number(c, &l->qp)) l->hasqp = 1;
			return LE_BOUNCE;
		}
		break;
	case 't':
		if (lit(c, "triple bounce: discarding ")) {
			const char *q = c->e;
			while (q > c->p && q[-1] >= '0' && q[-1] <= '9') q--;
			c->p = q;
			if (number(c, &l->msg)) return LE_TRIPLE;
			l->msg = 0;
			return LE_TRIPLE;
		}
		break;
	case 'e':
		if (lit(c, "end msg ") && number(c, &l->msg)) return LE_END;
		break;
	case 'a':
		if (lit(c, "alert: ")) { rest(c, l); return LE_ALERT; }
		break;
	case 'w':
		if (lit(c, "warning: ")) { rest(c, l); return LE_WARNING; }
		break;
	}
	return LE_OTHER;
}

void logparse_event(struct logline *l)
{
	struct cur c = {l->body, l->body + l->bodylen};
	l->msg = l->del = l->bytes = l->qp = l->uid = 0;
	l->hasqp = l->hasuid = 0;
	l->chan = -1;
	l->lused = l->lmax = l->rused = l->rmax = 0;
	l->text = l->body;
	l->textlen = 0;
	/* a CR left by a file that went through a DOS editor is not text */
	if (c.e > c.p && c.e[-1] == '\r') c.e--;
	l->ev = classify(&c, l);
	if (l->ev == LE_OTHER) { l->text = l->body; l->textlen = 0; }
}

void logparse_line(struct logctx *c, const char *s, size_t n, struct logline *l)
{
	logparse_stamp(c, s, n, l);
	logparse_event(l);
}
