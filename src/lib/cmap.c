/* cmap: open-addressing hash table over a list of lines; see cmap.h. */
#include "lib/cmap.h"
#include "lib/str.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t hash(const char *k, size_t kl)
{
	size_t h = (size_t)14695981039346656037ULL;
	size_t i;
	for (i = 0; i < kl; i++) {
		unsigned char c = (unsigned char)k[i];
		if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
		h ^= c;
		h *= (size_t)1099511628211ULL;
	}
	return h;
}

static struct cmap_slot *find(const cmap *m, const char *k, size_t kl)
{
	size_t i = hash(k, kl) & m->mask;
	for (;;) {
		struct cmap_slot *s = &m->slot[i];
		if (!s->k) return s;
		if (s->kl == kl && case_eqn(s->k, k, kl)) return s;
		i = (i + 1) & m->mask;
	}
}

int cmap_init(cmap *m, const buf *list, int colon)
{
	const char *p, *end;
	size_t lines = 0, size = 8;

	m->slot = 0;
	m->mask = 0;
	m->n = 0;
	if (!list->len) return 0;
	end = list->s + list->len;
	for (p = list->s; p < end; p += strlen(p) + 1) lines++;
	/* at most half full, so probing stays short and always ends */
	while (size / 2 < lines) {
		if (size > (size_t)-1 / 2 / sizeof *m->slot) { errno = ENOMEM; return -1; }
		size *= 2;
	}
	m->slot = calloc(size, sizeof *m->slot);
	if (!m->slot) { errno = ENOMEM; return -1; }
	m->mask = size - 1;
	for (p = list->s; p < end; p += strlen(p) + 1) {
		size_t n = strlen(p), kl = n;
		const char *v = p + n;
		struct cmap_slot *s;
		if (colon) {
			kl = byte_chr(p, n, ':');
			if (kl < n) v = p + kl + 1;
		}
		s = find(m, p, kl);
		if (!s->k) m->n++;
		s->k = p;
		s->kl = kl;
		s->v = v;
	}
	return 0;
}

const char *cmap_get(const cmap *m, const char *k, size_t kl)
{
	struct cmap_slot *s;
	if (!m->slot) return 0;
	s = find(m, k, kl);
	return s->k ? s->v : 0;
}

void cmap_free(cmap *m)
{
	free(m->slot);
	m->slot = 0;
	m->mask = 0;
	m->n = 0;
}
