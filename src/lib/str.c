/* str: small string helpers that never read past a length. */
#include "lib/str.h"
#include <string.h>

size_t scan_ulong(const char *s, size_t n, unsigned long *u)
{
	unsigned long r = 0;
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');
		if (r > ((unsigned long)-1 - d) / 10) return 0;
		r = r * 10 + d;
		i++;
	}
	if (i) *u = r;
	return i;
}

int str_toul(const char *s, unsigned long *u)
{
	size_t n = strlen(s);
	if (!n || scan_ulong(s, n, u) != n) return -1;
	return 0;
}

size_t fmt_ulong(char *s, unsigned long long n)
{
	char tmp[24];
	size_t i = sizeof tmp, k;
	do { tmp[--i] = (char)('0' + n % 10); n /= 10; } while (n);
	k = sizeof tmp - i;
	memcpy(s, tmp + i, k);
	s[k] = 0;
	return k;
}

int str_eq(const char *a, const char *b) { return strcmp(a, b) == 0; }
int str_start(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

int case_eqn(const char *a, const char *b, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
	return 1;
}

int case_eq(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n == strlen(b) && case_eqn(a, b, n);
}

void case_lower(char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) s[i] = (char)lower((unsigned char)s[i]);
}

size_t byte_rchr(const char *s, size_t n, char c)
{
	size_t i = n;
	while (i > 0) if (s[--i] == c) return i;
	return n;
}

size_t byte_chr(const char *s, size_t n, char c)
{
	const char *p = memchr(s, c, n);
	return p ? (size_t)(p - s) : n;
}
