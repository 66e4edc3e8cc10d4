/* err: one-line diagnostics on stderr, then exit. */
#include "lib/err.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *err_prog = "nqmail";

static void emit(const char *first, va_list ap, int withErr, int e)
{
	char line[2048];
	size_t n = 0;
	const char *s;

#define ADD(str) do { const char *a_ = (str); size_t k_ = strlen(a_); \
	if (k_ > sizeof line - 2 - n) k_ = sizeof line - 2 - n; \
	memcpy(line + n, a_, k_); n += k_; } while (0)
	ADD(err_prog);
	ADD(": ");
	for (s = first; s; s = va_arg(ap, const char *)) ADD(s);
	if (withErr) { ADD(": "); ADD(strerror(e)); }
#undef ADD
	line[n++] = '\n';
	(void)!write(2, line, n);
}

void err_warn(const char *s, ...)
{
	va_list ap;
	va_start(ap, s);
	emit(s, ap, 0, 0);
	va_end(ap);
}

void err_warnerr(const char *s, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, s);
	emit(s, ap, 1, e);
	va_end(ap);
}

void err_die(int code, const char *s, ...)
{
	va_list ap;
	va_start(ap, s);
	emit(s, ap, 0, 0);
	va_end(ap);
	_exit(code);
}

void err_dieerr(int code, const char *s, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, s);
	emit(s, ap, 1, e);
	va_end(ap);
	_exit(code);
}

void err_nomem(void) { err_die(EXIT_TEMP, "out of memory", (char *)0); }
