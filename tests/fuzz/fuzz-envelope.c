/* fuzz-envelope: the envelope scanner (what qmail-queue reads from its
 * caller) and the stored-envelope parser (what qmail-send reads from
 * todo/N) on arbitrary bytes. Besides not crashing, they must agree:
 * feeding in pieces gives the same answer as feeding at once, and an
 * envelope the scanner accepts, stored as qmail-queue stores it, parses. */
#include "mail/envelope.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int scan(const char *p, size_t n, size_t step, size_t *used)
{
	envscan e;
	size_t i = 0, u;
	int r = ENV_MORE;
	envscan_init(&e);
	*used = 0;
	while (i < n) {
		size_t k = step && step < n - i ? step : n - i;
		r = envscan_feed(&e, p + i, k, &u);
		if (u > k) abort();
		*used += u;
		i += k;
		if (r != ENV_MORE) return r;
	}
	return envscan_eof(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t u1, u2, pos;
	int r1 = scan(p, size, 0, &u1);
	int r2 = scan(p, size, 1, &u2);
	envelope e;
	envrec r;

	if (r1 != r2) abort();
	if (r1 == ENV_DONE) {
		char *st;
		if (u1 != u2 || u1 > size) abort();
		st = malloc(u1 + 8);
		if (!st) return 0;
		memcpy(st, "u1\0p2\0", 6);
		memcpy(st + 6, p, u1);
		if (envelope_parse(&e, st, u1 + 6) < 0) abort();
		free(st);
	}
	if (envelope_parse(&e, p, size) == 0) {
		unsigned long count = 0;
		pos = 0;
		while (env_next(e.rcpts, e.rcptslen, &pos, &r) == 1) {
			if (r.type != 'T' || r.len > ENVELOPE_ADDR_MAX) abort();
			count++;
		}
		if (count != e.nrcpts || pos != e.rcptslen) abort();
	}
	return 0;
}
