/* Unit tests for src/mail/sched.c: heap order and qmail's retry times. */
#include "tap.h"
#include "mail/sched.h"
#include <stdlib.h>

int main(void)
{
	sched q = SCHED_INIT;
	sched_ent e;
	time_t last = 0;
	int i, sorted = 1, n = 0;

	ok(!sched_min(&q, &e), "empty");
	srand(7);
	for (i = 0; i < 10000; i++) sched_add(&q, (unsigned long)i, (time_t)(rand() % 100000));
	while (sched_min(&q, &e)) {
		if (e.when < last) sorted = 0;
		last = e.when;
		sched_delmin(&q);
		n++;
	}
	ok(sorted && n == 10000, "10000 entries come out in time order");
	sched_add(&q, 1, 50);
	sched_add(&q, 2, 10);
	sched_add(&q, 3, 30);
	ok(sched_min(&q, &e) && e.id == 2 && e.when == 10, "min");
	sched_setall(&q, 5);
	ok(sched_min(&q, &e) && e.when == 5 && q.n == 3, "setall");
	sched_free(&q);

	ok(sched_isqrt(0) == 0 && sched_isqrt(99) == 9 && sched_isqrt(100) == 10 &&
	   sched_isqrt(~0ULL) == 4294967295ULL, "isqrt");
	/* qmail's local schedule: 100 s, 400 s, 900 s ... after birth */
	ok(sched_retry(1000, 1000, SCHED_SKIP_LOCAL) == 1100, "local: first retry 100 s after birth");
	ok(sched_retry(1000, 1100, SCHED_SKIP_LOCAL) == 1400, "local: second at 400 s");
	ok(sched_retry(1000, 1400, SCHED_SKIP_LOCAL) == 1900, "local: third at 900 s");
	ok(sched_retry(1000, 1399, SCHED_SKIP_LOCAL) == 1000 + 29 * 29, "local: floor of the square root");
	ok(sched_retry(1000, 1000, SCHED_SKIP_REMOTE) == 1400, "remote: first retry 400 s after birth");
	ok(sched_retry(1000, 1400, SCHED_SKIP_REMOTE) == 1000 + 40 * 40, "remote: then 1600 s");
	ok(sched_retry(5000, 1000, SCHED_SKIP_LOCAL) == 5100, "birth in the future counts as age 0");
	ok(sched_retry(0, (time_t)0x7fffffffffffffffLL, SCHED_SKIP_LOCAL) > 0, "no overflow");
	return done_testing();
}
