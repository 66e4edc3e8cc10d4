/* Unit tests for src/lib/buf.c and src/lib/str.c */
#include "tap.h"
#include "lib/buf.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

int main(void)
{
	buf b = BUF_INIT;
	unsigned long u;
	char num[24];

	ok(buf_puts(&b, "abc") == 0 && b.len == 3 && strcmp(b.s, "abc") == 0, "puts");
	ok(buf_putnum(&b, 1234567890123ULL) == 0 && strcmp(b.s, "abc1234567890123") == 0, "putnum");
	b.max = 20;
	ok(buf_puts(&b, "0123456789") < 0 && errno == ERANGE && b.len == 16, "limit keeps buffer");
	ok(buf_ready(&b, (size_t)-1) < 0 && errno == ERANGE, "overflow refused");
	buf_free(&b);
	ok(str_toul("4294967296", &u) == 0 && u == 4294967296UL, "toul");
	ok(str_toul("99999999999999999999999", &u) < 0, "toul overflow");
	ok(str_toul("12x", &u) < 0, "toul junk");
	ok(fmt_ulong(num, 0) == 1 && num[0] == '0', "fmt 0");
	ok(case_eq("Example.COM", "example.com"), "case_eq");
	return done_testing();
}
