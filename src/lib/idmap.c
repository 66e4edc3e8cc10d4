/* idmap: open addressing with linear probing; a removal shifts the
 * entries that follow back into the hole, so lookups never walk over
 * dead slots and a long run of puts and removals keeps the table small. */
#include "lib/idmap.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static size_t hash(unsigned long long k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

static int grow(idmap *m)
{
	size_t nslots = m->slot ? (m->mask + 1) * 2 : 16;
	struct idmap_slot *s;
	size_t i;

	if (nslots > SIZE_MAX / sizeof *s) { errno = ENOMEM; return -1; }
	s = calloc(nslots, sizeof *s);
	if (!s) return -1;
	if (m->slot)
		for (i = 0; i <= m->mask; i++) {
			size_t j;
			if (!m->slot[i].v) continue;
			for (j = hash(m->slot[i].k) & (nslots - 1); s[j].v; j = (j + 1) & (nslots - 1)) ;
			s[j] = m->slot[i];
		}
	free(m->slot);
	m->slot = s;
	m->mask = nslots - 1;
	return 0;
}

static size_t find(const idmap *m, unsigned long long k)
{
	size_t i = hash(k) & m->mask;
	while (m->slot[i].v && m->slot[i].k != k) i = (i + 1) & m->mask;
	return i;
}

int idmap_put(idmap *m, unsigned long long k, void *v)
{
	size_t i;
	if (!m->slot || (m->n + 1) * 4 > (m->mask + 1) * 3)   /* keep under 3/4 full */
		if (grow(m) < 0) return -1;
	i = find(m, k);
	if (!m->slot[i].v) m->n++;
	m->slot[i].k = k;
	m->slot[i].v = v;
	return 0;
}

void *idmap_get(const idmap *m, unsigned long long k)
{
	if (!m->slot) return 0;
	return m->slot[find(m, k)].v;
}

void *idmap_del(idmap *m, unsigned long long k)
{
	size_t i, j;
	void *v;

	if (!m->slot) return 0;
	i = find(m, k);
	v = m->slot[i].v;
	if (!v) return 0;
	/* Backward shift: move every later entry of the probe run that may
	 * live at i into the hole, until an empty slot ends the run. */
	for (j = (i + 1) & m->mask; m->slot[j].v; j = (j + 1) & m->mask) {
		size_t home = hash(m->slot[j].k) & m->mask;
		/* j's entry may move to i when its home is not in (i, j] */
		if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
			m->slot[i] = m->slot[j];
			i = j;
		}
	}
	m->slot[i].v = 0;
	m->n--;
	return v;
}

int idmap_next(const idmap *m, size_t *i, unsigned long long *k, void **v)
{
	if (!m->slot) return 0;
	for (; *i <= m->mask; (*i)++)
		if (m->slot[*i].v) {
			*k = m->slot[*i].k;
			*v = m->slot[*i].v;
			(*i)++;
			return 1;
		}
	return 0;
}

void idmap_free(idmap *m)
{
	free(m->slot);
	m->slot = 0;
	m->mask = 0;
	m->n = 0;
}
