/* Unit tests for src/mail/envelope.c: the streaming check qmail-queue
 * applies to its fd 1 and the parser of stored envelopes. */
#include "tap.h"
#include "mail/envelope.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Scan s[0..n) in pieces of step bytes (0: all at once), then end of
 * input; returns the result and the bytes used in *used. */
static int scan(const char *s, size_t n, size_t step, size_t *used)
{
	envscan e;
	size_t i = 0, u;
	int r = ENV_MORE;

	envscan_init(&e);
	*used = 0;
	while (i < n) {
		size_t k = step && step < n - i ? step : n - i;
		r = envscan_feed(&e, s + i, k, &u);
		*used += u;
		i += k;
		if (r != ENV_MORE) return r;
	}
	return envscan_eof(&e);
}

#define S(lit) lit, sizeof lit - 1

/* Same answer whether fed whole, byte by byte or 3 bytes at a time;
 * a complete envelope uses exactly want_used bytes. */
static int all(const char *s, size_t n, int want, size_t want_used)
{
	size_t steps[] = {0, 1, 3}, u, i;
	for (i = 0; i < 3; i++) {
		int r = scan(s, n, steps[i], &u);
		if (r != want) return 0;
		if (r == ENV_DONE && u != want_used) return 0;
	}
	return 1;
}

static char *addr_env(char type_first, size_t len, size_t *n)
{
	/* "F" + len x 'a' + NUL + "Tb" NUL NUL, or the long one as recipient */
	char *p = malloc(len + 16);
	size_t i = 0;
	if (!p) exit(2);
	if (type_first == 'F') {
		p[i++] = 'F'; memset(p + i, 'a', len); i += len; p[i++] = 0;
		p[i++] = 'T'; p[i++] = 'b'; p[i++] = 0; p[i++] = 0;
	} else {
		p[i++] = 'F'; p[i++] = 0;
		p[i++] = 'T'; memset(p + i, 'a', len); i += len; p[i++] = 0; p[i++] = 0;
	}
	*n = i;
	return p;
}

int main(void)
{
	size_t n, u, pos;
	char *p;
	envelope e;
	envrec r;
	int k;

	ok(all(S("Fa@b\0Tc@d\0\0"), ENV_DONE, 11), "simple envelope is complete");
	ok(all(S("F\0Tc@d\0Te@f\0\0"), ENV_DONE, 13), "empty sender, two recipients");
	ok(scan(S("Fa\0Tb\0\0garbage"), 0, &u) == ENV_DONE && u == 7, "bytes after the final NUL are not used");
	ok(scan(S("Fa\0Tb\0\0garbage"), 1, &u) == ENV_DONE && u == 7, "... also byte by byte");
	ok(all(S(""), ENV_ETRUNC, 0), "empty input is cut short");
	ok(all(S("Ta\0Tb\0\0"), ENV_EFORMAT, 0), "no F first");
	ok(all(S("Fa\0\0"), ENV_EFORMAT, 0), "no recipient");
	ok(all(S("Fa\0Xb\0\0"), ENV_EFORMAT, 0), "garbage type letter");
	ok(all(S("Fa\0Tb\0Fc\0\0"), ENV_EFORMAT, 0), "second F");
	ok(all(S("Fa\0Tb\0"), ENV_ETRUNC, 0), "missing final NUL");
	ok(all(S("Fa\0Tb"), ENV_ETRUNC, 0), "truncated inside an address");
	ok(all(S("Fa"), ENV_ETRUNC, 0), "truncated sender");
	ok(all(S("Fa\0\0Tb\0\0"), ENV_EFORMAT, 0), "final NUL before any recipient");
	{
		envscan s;
		envscan_init(&s);
		ok(envscan_feed(&s, S("Fa\0Tb\0"), &u) == ENV_MORE && u == 6, "partial envelope wants more");
		ok(envscan_feed(&s, S("\0"), &u) == ENV_DONE && u == 1, "... and completes");
		ok(envscan_feed(&s, S("x"), &u) == ENV_DONE && u == 0, "done stays done");
		envscan_init(&s);
		ok(envscan_feed(&s, S("Q"), &u) == ENV_EFORMAT && u == 1, "error uses the bad byte");
		ok(envscan_feed(&s, S("Fa\0"), &u) == ENV_EFORMAT && u == 0, "error stays error");
	}

	p = addr_env('F', ENVELOPE_ADDR_MAX, &n);
	ok(all(p, n, ENV_DONE, n), "sender of the maximum length is accepted");
	free(p);
	p = addr_env('F', ENVELOPE_ADDR_MAX + 1, &n);
	ok(all(p, n, ENV_ETOOLONG, 0), "sender one byte over is too long");
	free(p);
	p = addr_env('T', ENVELOPE_ADDR_MAX, &n);
	ok(all(p, n, ENV_DONE, n), "recipient of the maximum length is accepted");
	free(p);
	p = addr_env('T', ENVELOPE_ADDR_MAX + 1, &n);
	ok(all(p, n, ENV_ETOOLONG, 0), "recipient one byte over is too long");
	free(p);
	{
		/* An endless address is refused before its end is read. */
		envscan s;
		static char big[1 << 20];
		memset(big, 'x', sizeof big);
		big[0] = 'F';
		envscan_init(&s);
		ok(envscan_feed(&s, big, sizeof big, &u) == ENV_ETOOLONG && u <= ENVELOPE_ADDR_MAX + 2,
		   "endless address stops at the limit");
	}

	ok(envelope_parse(&e, S("u1000\0p42\0Fa@b\0Tc@d\0Te@f\0\0")) == 0, "parse stored envelope");
	ok(e.has_uid && e.uid == 1000 && e.has_pid && e.pid == 42, "... uid and pid");
	ok(e.senderlen == 3 && memcmp(e.sender, "a@b", 3) == 0, "... sender");
	ok(e.nrcpts == 2 && e.rcptslen == 10 && memcmp(e.rcpts, "Tc@d\0Te@f\0", 10) == 0, "... recipients");
	pos = 0;
	k = env_next(e.rcpts, e.rcptslen, &pos, &r);
	ok(k == 1 && r.type == 'T' && r.len == 3 && memcmp(r.s, "c@d", 3) == 0, "env_next first");
	k = env_next(e.rcpts, e.rcptslen, &pos, &r);
	ok(k == 1 && r.len == 3 && memcmp(r.s, "e@f", 3) == 0, "env_next second");
	ok(env_next(e.rcpts, e.rcptslen, &pos, &r) == 0, "env_next end");
	ok(envelope_parse(&e, S("u0\0p1\0F\0Tx\0")) == 0 && e.senderlen == 0 && e.nrcpts == 1,
	   "qmail's stored form without the final NUL");
	ok(envelope_parse(&e, S("Fa\0Tb\0\0")) == 0 && !e.has_uid && !e.has_pid, "u and p are optional");
	ok(envelope_parse(&e, S("u1\0p1\0Fa\0Tb\0\0x")) < 0 && errno == EINVAL, "bytes after the final NUL");
	ok(envelope_parse(&e, S("u1\0p1\0Fa\0\0")) < 0, "no recipient");
	ok(envelope_parse(&e, S("u1\0p1\0Tb\0\0")) < 0, "no sender");
	ok(envelope_parse(&e, S("ux\0p1\0Fa\0Tb\0\0")) < 0, "uid not a number");
	ok(envelope_parse(&e, S("p1\0u1\0Fa\0Tb\0\0")) < 0, "u after p");
	ok(envelope_parse(&e, S("u1\0p1\0Fa\0Tb")) < 0, "truncated record");
	ok(envelope_parse(&e, S("u1\0p1\0Fa\0Tb\0Xc\0\0")) < 0, "garbage type");
	ok(envelope_parse(&e, "", 0) < 0, "empty file");
	p = addr_env('T', ENVELOPE_ADDR_MAX + 1, &n);
	ok(envelope_parse(&e, p, n) < 0 && errno == ERANGE, "stored address over the limit");
	free(p);
	return done_testing();
}
