/* Unit tests for src/mail/qctl.c (the request reader, "due now" in the
 * schedule) and qscan_domain. */
#include "tap.h"
#include "mail/qctl.h"
#include "mail/qscan.h"
#include "mail/sched.h"
#include <string.h>

static unsigned long got[16];
static int ngot;
static void f(void *ctx, unsigned long id) { (void)ctx; if (ngot < 16) got[ngot++] = id; }

/* Is q a heap, every parent due no later than its children? */
static int heap_ok(const sched *q)
{
	size_t i;
	for (i = 1; i < q->n; i++) if (q->e[(i - 1) / 2].when > q->e[i].when) return 0;
	return 1;
}

int main(void)
{
	qctl_in in;
	sched q = SCHED_INIT;
	sched_ent e;
	buf d = BUF_INIT;
	unsigned long i;

	memset(&in, 0, sizeof in);
	qctl_feed(&in, "12", 2, f, 0);
	ok(ngot == 0, "no request before its NUL");
	qctl_feed(&in, "3\0" "45\0", 5, f, 0);
	ok(ngot == 2 && got[0] == 123 && got[1] == 45, "requests split across reads");
	ngot = 0;
	{
		static const char junk[] = "1x2\0" "\0" "0\0" "99999999999999999999999999\0" "7\0";
		qctl_feed(&in, junk, sizeof junk - 1, f, 0);
	}
	ok(ngot == 1 && got[0] == 7, "garbage, empty, zero and overlong requests are dropped");

	for (i = 1; i <= 50; i++) sched_add(&q, i, (time_t)(1000 + i * 10));
	sched_add(&q, 30, 5000);             /* a second entry for 30 */
	ok(qctl_due(&q, 30, 100) == 2, "both entries of a message are made due");
	ok(heap_ok(&q), "the schedule is still a heap");
	ok(sched_min(&q, &e) && e.id == 30 && e.when == 100, "and the message is first");
	ok(qctl_due(&q, 40, 2000) == 0, "an entry due earlier is left alone");
	ok(qctl_due(&q, 999, 1) == 0, "an unknown message changes nothing");
	sched_delmin(&q);
	sched_delmin(&q);
	ok(sched_min(&q, &e) && e.id == 1, "the rest in order");
	ok(heap_ok(&q), "still a heap");

	qscan_domain(&d, "User@Example.COM.", 17);
	ok(d.len == 11 && !memcmp(d.s, "example.com", 11), "domain: lower case, no trailing dot");
	qscan_domain(&d, "a@b@c.example", 13);
	ok(d.len == 9 && !memcmp(d.s, "c.example", 9), "domain: after the last @");
	qscan_domain(&d, "nodomain", 8);
	ok(d.len == 8, "domain: an address without @ is its own domain");
	return done_testing();
}
