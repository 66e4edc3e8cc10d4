/* sched: the retry schedule and its priority queue; see sched.h. */
#include "mail/sched.h"
#include <errno.h>
#include <stdlib.h>

int sched_add(sched *q, unsigned long id, time_t when)
{
	size_t i;

	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		sched_ent *e;
		if (cap > (size_t)-1 / sizeof *e) { errno = ENOMEM; return -1; }
		e = realloc(q->e, cap * sizeof *e);
		if (!e) { errno = ENOMEM; return -1; }
		q->e = e;
		q->cap = cap;
	}
	/* sift up */
	for (i = q->n++; i > 0; ) {
		size_t p = (i - 1) / 2;
		if (q->e[p].when <= when) break;
		q->e[i] = q->e[p];
		i = p;
	}
	q->e[i].when = when;
	q->e[i].id = id;
	return 0;
}

int sched_min(const sched *q, sched_ent *e)
{
	if (!q->n) return 0;
	*e = q->e[0];
	return 1;
}

void sched_delmin(sched *q)
{
	sched_ent last;
	size_t i = 0;

	if (!q->n) return;
	last = q->e[--q->n];
	/* sift the last entry down from the root */
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->n) break;
		if (c + 1 < q->n && q->e[c + 1].when < q->e[c].when) c++;
		if (last.when <= q->e[c].when) break;
		q->e[i] = q->e[c];
		i = c;
	}
	if (q->n) q->e[i] = last;
}

void sched_setall(sched *q, time_t when)
{
	size_t i;
	/* all equal: still a heap */
	for (i = 0; i < q->n; i++) q->e[i].when = when;
}

void sched_free(sched *q)
{
	free(q->e);
	q->e = 0;
	q->n = q->cap = 0;
}

unsigned long long sched_isqrt(unsigned long long x)
{
	unsigned long long r = 0, bit = 1ULL << 62;

	while (bit > x) bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else
			r >>= 1;
		bit >>= 2;
	}
	return r;
}

time_t sched_retry(time_t birth, time_t now, unsigned skip)
{
	unsigned long long n = 0, sq;
	/* A birth in the future (clock set back) counts as age 0; absurd
	 * ages are clamped rather than allowed to overflow. */
	if (now > birth) n = sched_isqrt((unsigned long long)now - (unsigned long long)birth);
	n += skip;
	if (n > 3037000000ULL) return (time_t)0x7fffffffffffffffLL;
	sq = n * n;
	if (sq > (unsigned long long)0x7fffffffffffffffLL - (unsigned long long)(birth > 0 ? birth : 0))
		return (time_t)0x7fffffffffffffffLL;
	return birth + (time_t)sq;
}
