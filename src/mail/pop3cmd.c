/* pop3cmd: POP3 command lines into keyword and argument (see pop3cmd.h). */
#include "mail/pop3cmd.h"
#include "lib/str.h"
#include <limits.h>
#include <string.h>

static const struct { const char *name; enum pop3verb verb; } verbs[] = {
	{"USER", P3_USER}, {"PASS", P3_PASS}, {"APOP", P3_APOP}, {"QUIT", P3_QUIT},
	{"NOOP", P3_NOOP}, {"CAPA", P3_CAPA}, {"STLS", P3_STLS}, {"STAT", P3_STAT},
	{"LIST", P3_LIST}, {"UIDL", P3_UIDL}, {"TOP", P3_TOP}, {"RETR", P3_RETR},
	{"DELE", P3_DELE}, {"RSET", P3_RSET}, {"LAST", P3_LAST},
};

void pop3cmd_parse(pop3cmd *c, const char *line, size_t n)
{
	size_t k, i;

	c->verb = P3_BAD;
	c->arg = line;
	c->arglen = 0;
	if (n && line[n - 1] == '\n') n--;
	if (n && line[n - 1] == '\r') n--;
	if (!n || memchr(line, 0, n)) return;
	for (k = 0; k < n && line[k] != ' '; k++) {}
	/* RFC 1939 keywords are 3 or 4 letters; RFC 2449 allows up to 4. */
	if (k < 3 || k > 4) return;
	for (i = 0; i < k; i++) {
		unsigned char ch = (unsigned char)line[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))) return;
	}
	c->verb = P3_UNKNOWN;
	for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i].name) == k && case_eqn(line, verbs[i].name, k)) {
			c->verb = verbs[i].verb;
			break;
		}
	if (k < n) {
		c->arg = line + k + 1;
		c->arglen = n - k - 1;
	}
}

int pop3_num(const char *s, size_t n, unsigned long *num)
{
	unsigned long u = 0;
	size_t i;

	if (!n || n > 10) return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') return -1;
		u = u * 10 + (unsigned long)(s[i] - '0');
	}
	if (u == 0 || u > UINT_MAX) return -1;
	*num = u;
	return 0;
}

int pop3_twonum(const char *s, size_t n, unsigned long *a, unsigned long *b)
{
	size_t sp = byte_chr(s, n, ' ');
	unsigned long u = 0;
	size_t i, m;

	if (sp == n || pop3_num(s, sp, a) < 0) return -1;
	s += sp + 1;
	m = n - sp - 1;
	/* the line count may be 0, unlike a message number */
	if (!m || m > 10) return -1;
	for (i = 0; i < m; i++) {
		if (s[i] < '0' || s[i] > '9') return -1;
		u = u * 10 + (unsigned long)(s[i] - '0');
	}
	*b = u;
	return 0;
}
