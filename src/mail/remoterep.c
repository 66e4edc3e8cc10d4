/* remoterep: one recipient's result from qmail-remote's reports (see
 * remoterep.h). */
#include "mail/remoterep.h"
#include <string.h>
#include <sys/wait.h>

/* The k-th report (0-based): start and length, or -1 when absent. */
static int nth(const char *s, size_t len, size_t k, size_t *at, size_t *n)
{
	size_t pos = 0, idx = 0;
	while (pos < len) {
		const char *z = memchr(s + pos, 0, len - pos);
		size_t l;
		if (!z) return -1;               /* a report without its NUL is not one */
		l = (size_t)(z - (s + pos));
		if (idx == k) { *at = pos; *n = l; return 0; }
		idx++;
		pos += l + 1;
	}
	return -1;
}

static int add(buf *t, const char *p, size_t n)
{
	if (t->len >= REMOTEREP_TEXT_MAX) return 0;
	if (n > REMOTEREP_TEXT_MAX - t->len) n = REMOTEREP_TEXT_MAX - t->len;
	return buf_put(t, p, n);
}

int remoterep_for(const char *s, size_t len, size_t i, int wstat, char *st, buf *text)
{
	size_t at, n, k, mat = 0, mn = 0;
	char rst = 0, mst = 0;

	text->len = 0;
	if (buf_ready(text, 0) < 0) return -1;
	if (!WIFEXITED(wstat)) { *st = 'Z'; return buf_copys(text, "qmail-remote crashed.\n"); }
	if (WEXITSTATUS(wstat) == 111) { *st = 'Z'; return buf_copys(text, "Unable to run qmail-remote.\n"); }
	if (WEXITSTATUS(wstat) != 0) { *st = 'D'; return buf_copys(text, "Unable to run qmail-remote.\n"); }

	/* the message report: the first K, Z or D */
	for (k = 0; nth(s, len, k, &at, &n) == 0; k++)
		if (n && (s[at] == 'K' || s[at] == 'Z' || s[at] == 'D')) { mst = s[at]; mat = at; mn = n; break; }
	if (!mst) { *st = 'Z'; return buf_copys(text, "qmail-remote produced no output.\n"); }

	/* recipient reports come before it */
	if (nth(s, len, i, &at, &n) == 0 && at < mat && n && (s[at] == 'r' || s[at] == 'h' || s[at] == 's'))
		rst = s[at];
	else
		at = n = 0;

	switch (rst) {
	case 'h':
		*st = 'D';
		if (add(text, s + at + 1, n - 1) < 0) return -1;
		if (mst == 'D' && add(text, s + mat + 1, mn - 1) < 0) return -1;
		return 0;
	case 's':
		*st = 'Z';
		if (add(text, s + at + 1, n - 1) < 0) return -1;
		if (mst != 'K' && add(text, s + mat + 1, mn - 1) < 0) return -1;
		return 0;
	default:
		*st = mst;
		if (rst == 'r' && add(text, s + at + 1, n - 1) < 0) return -1;
		return add(text, s + mat + 1, mn - 1);
	}
}
