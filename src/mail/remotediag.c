/* remotediag: Remote-MTA, Diagnostic-Code and Status from qmail-remote's
 * report text (see remotediag.h). */
#include "mail/remotediag.h"
#include "lib/str.h"
#include <string.h>

static int dig(char c) { return c >= '0' && c <= '9'; }

/* An enhanced status code "c.d.e" at s (n bytes) whose class is cls:
 * its length, or 0. */
static size_t enhanced(const char *s, size_t n, char cls)
{
	size_t i = 0, parts = 0;
	if (!n || s[0] != cls) return 0;
	while (parts < 3) {
		size_t d = 0;
		while (i < n && dig(s[i]) && d < 3) { i++; d++; }
		if (!d) return 0;
		parts++;
		if (parts < 3) {
			if (i >= n || s[i] != '.') return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ' && s[i] != '\t') return 0;
	return i < 12 ? i : 0;
}

/* The address a first line names: "A does not like...", "A failed ...",
 * "A accepted ...", "Connected to A but ...", "Giving up on A.". */
static void mta(const char *l, size_t n, char *out)
{
	size_t s = 0, e;
	ipaddr ip;
	if (n > 13 && !memcmp(l, "Connected to ", 13)) s = 13;
	else if (n > 13 && !memcmp(l, "Giving up on ", 13)) s = 13;
	for (e = s; e < n && l[e] != ' '; e++) {}
	if (e > s && l[e - 1] == '.') e--;
	out[0] = 0;
	if (ipaddr_scan(&ip, l + s, e - s) == 0) ipaddr_fmt(out, &ip);
}

int remotediag_parse(const char *text, size_t n, remotediag *d)
{
	static const char said[] = "Remote host said: ";
	size_t i = 0, first = 1, lines = 0;
	int in = 0;

	d->mta[0] = 0;
	d->status[0] = 0;
	d->smtp.len = 0;
	while (i < n) {
		size_t k = byte_chr(text + i, n - i, '\n'), whole = k;
		const char *l = text + i;
		if (first) mta(l, k, d->mta);
		first = 0;
		if (k > sizeof said - 1 && !memcmp(l, said, sizeof said - 1)) {
			l += sizeof said - 1;
			k -= sizeof said - 1;
			in = 1;
		} else if (in && !(k >= 3 && dig(l[0]) && dig(l[1]) && dig(l[2]) && (k == 3 || l[3] == ' ' || l[3] == '-')))
			in = 0;
		if (in && k >= 3 && dig(l[0]) && dig(l[1]) && dig(l[2])) {
			size_t t = k > 4 ? 4 : k;
			if (!lines) {
				if (buf_put(&d->smtp, l, 3) < 0) return -1;
			}
			/* the line's text, without its code and separator */
			if (k > t) {
				size_t e = enhanced(l + t, k - t, l[0]);
				if (!d->status[0] && e) { memcpy(d->status, l + t, e); d->status[e] = 0; }
				/* the enhanced code is said once */
				if (lines && e && !strncmp(l + t, d->status, e)) { t += e; while (t < k && l[t] == ' ') t++; }
				if (t < k && (buf_putc(&d->smtp, ' ') < 0 || buf_put(&d->smtp, l + t, k - t) < 0)) return -1;
			}
			if (!d->status[0] && !lines) { d->status[0] = l[0]; memcpy(d->status + 1, ".0.0", 5); }
			lines++;
		}
		i += whole + 1;
	}
	if (!lines) return 0;
	/* the first line's class wins over a default */
	return 1;
}

void remotediag_free(remotediag *d) { buf_free(&d->smtp); }
