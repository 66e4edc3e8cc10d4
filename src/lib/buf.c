/* buf: growable byte buffers with checked growth. */
#include "lib/buf.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int buf_ready(buf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (n > (size_t)-1 - b->len - 1) { errno = ERANGE; return -1; }
	want = b->len + n + 1;
	if (b->max && b->len + n > b->max) { errno = ERANGE; return -1; }
	if (want <= b->cap) return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want) {
		if (cap > (size_t)-1 / 2) { cap = want; break; }
		cap *= 2;
	}
	p = realloc(b->s, cap);
	if (!p) { errno = ENOMEM; return -1; }
	b->s = p;
	b->cap = cap;
	return 0;
}

int buf_put(buf *b, const void *p, size_t n)
{
	if (buf_ready(b, n) < 0) return -1;
	if (n) memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

int buf_puts(buf *b, const char *s) { return buf_put(b, s, strlen(s)); }
int buf_putc(buf *b, char c) { return buf_put(b, &c, 1); }
int buf_put0(buf *b) { return buf_put(b, "", 1); }

int buf_putnum(buf *b, unsigned long long n)
{
	char tmp[24];
	size_t i = sizeof tmp;
	do { tmp[--i] = (char)('0' + n % 10); n /= 10; } while (n);
	return buf_put(b, tmp + i, sizeof tmp - i);
}

int buf_copy(buf *b, const void *p, size_t n)
{
	size_t old = b->len;
	b->len = 0;
	if (buf_put(b, p, n) < 0) { b->len = old; return -1; }
	return 0;
}

int buf_copys(buf *b, const char *s) { return buf_copy(b, s, strlen(s)); }

void buf_trunc(buf *b, size_t n)
{
	if (n < b->len) { b->len = n; b->s[n] = 0; }
}

void buf_free(buf *b)
{
	free(b->s);
	b->s = 0;
	b->len = b->cap = 0;
}

void buf_wipe(buf *b)
{
	if (b->s) memset(b->s, 0, b->cap);
	buf_free(b);
}

int buf_eq(const buf *a, const buf *b)
{
	return a->len == b->len && (!a->len || memcmp(a->s, b->s, a->len) == 0);
}

int buf_starts(const buf *b, const char *prefix)
{
	size_t n = strlen(prefix);
	return b->len >= n && memcmp(b->s, prefix, n) == 0;
}
