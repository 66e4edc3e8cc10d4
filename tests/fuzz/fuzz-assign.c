/* fuzz-assign: the users/assign parser (users_assign_line) on every line
 * of the input, and the user-record parser (users_parse, which reads
 * qmail-getpw's output and cdb values) on the whole input. An accepted
 * assign line must yield a key starting with '!' and a value that makes a
 * valid record once the extension's NUL is added; anything else aborts. */
#include "mail/users.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	buf key = BUF_INIT, val = BUF_INIT;
	users_ent e = USERS_ENT_INIT;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *why = 0;
		char wc;
		int r = users_assign_line(p, n, &key, &val, &wc, &why);
		if (r < 0 && (!why || !*why)) abort();
		if (r == 1) {
			if (key.len < 1 || key.s[0] != '!') abort();
			if (wc && (p[0] != '+' || key.len < 2)) abort();
			e.rec.len = 0;
			if (buf_put(&e.rec, val.s, val.len) < 0 || buf_put0(&e.rec) < 0) abort();
			if (users_parse(&e) < 0) abort();
			if (e.home[0] != '/' || !e.user[0]) abort();
		}
		p += n + 1;
	}
	e.rec.len = 0;
	if (buf_put(&e.rec, data, size) < 0) abort();
	if (users_parse(&e) == 0 && (e.rec.s[e.rec.len - 1] != 0 || e.home[0] != '/')) abort();
	users_free(&e);
	buf_free(&key);
	buf_free(&val);
	return 0;
}
