/* dotqmail: .qmail candidate names and the line parser (see dotqmail.h).
 * Nothing here touches the file system; local.c opens the candidates. */
#include "mail/dotqmail.h"
#include <string.h>

int dq_safeext(buf *out, const char *ext, size_t n)
{
	size_t i;

	if (buf_copy(out, ext, n) < 0) return -1;
	for (i = 0; i < out->len; i++) {
		char c = out->s[i];
		if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
		/* '.' keeps "..", ".qmail" look-alikes and dot files out of
		 * reach; '/' keeps every candidate a plain name in the home. */
		if (c == '.' || c == '/') c = ':';
		out->s[i] = c;
	}
	return 0;
}

/* *iter walks: 0 = the exact name; then k = 1.. stands for the cut at
 * position safeext->len + 1 - k, tried where that cut is 0 or follows a
 * dash, so that the longest prefix comes first. */
int dq_candidate(buf *name, const char *dash, const buf *safeext,
                 size_t *iter, size_t *defat)
{
	const char *e = safeext->s ? safeext->s : "";
	size_t n = safeext->len;

	if (*iter == 0) {
		*iter = 1;
		if (buf_copys(name, ".qmail") < 0 || buf_puts(name, dash) < 0 ||
		    buf_put(name, e, n) < 0) return -1;
		*defat = DQ_NODEFAULT;
		if (n >= 7 && memcmp(e + n - 7, "default", 7) == 0) *defat = n - 7;
		return 1;
	}
	/* With an empty extension there is no default to fall back to:
	 * ".qmail<dash>" itself was the only candidate. */
	if (n == 0) return 0;
	while (*iter <= n + 1) {
		size_t cut = n + 1 - *iter;
		(*iter)++;
		if (cut != 0 && e[cut - 1] != '-') continue;
		if (buf_copys(name, ".qmail") < 0 || buf_puts(name, dash) < 0 ||
		    buf_put(name, e, cut) < 0 || buf_puts(name, "default") < 0) return -1;
		*defat = cut;
		return 1;
	}
	return 0;
}

int dq_parse(const char *s, size_t n, size_t *pos, dq_line *l, const char **why)
{
	size_t start = *pos, end, k;
	const char *nl;

	if (start >= n) return 0;
	l->lineno++;
	nl = memchr(s + start, '\n', n - start);
	end = nl ? (size_t)(nl - s) : n;
	*pos = nl ? end + 1 : n;
	if (end - start > DQ_LINE_MAX) { *why = "line too long"; return -1; }
	if (memchr(s + start, 0, end - start)) { *why = "NUL byte in line"; return -1; }
	k = end;
	while (k > start && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r')) k--;
	l->text = s + start;
	l->len = k - start;
	if (l->len == 0) {
		if (start == 0) { *why = DQ_WHY_BLANKFIRST; return -1; }
		l->type = DQ_BLANK;
		return 1;
	}
	switch (s[start]) {
	case '#':
		l->type = DQ_COMMENT;
		break;
	case '.':
	case '/':
		l->type = s[k - 1] == '/' ? DQ_MAILDIR : DQ_MBOX;
		break;
	case '|':
		l->type = DQ_PROGRAM;
		l->text++;
		l->len--;
		break;
	case '+':
		/* qmail knows "+list" and ignores any other '+' line */
		l->type = (l->len == 5 && memcmp(l->text, "+list", 5) == 0) ? DQ_LIST : DQ_COMMENT;
		break;
	case '&':
		l->text++;
		l->len--;
		if (l->len == 0) { *why = "empty forward address"; return -1; }
		/* fall through */
	default:
		l->type = DQ_FORWARD;
		break;
	}
	return 1;
}
