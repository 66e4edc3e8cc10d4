/* fuzz-spawnrep: the reader of spawn reports (src/mail/spawnrep.c) on
 * arbitrary bytes, as a broken or hostile qmail-rspawn could send them.
 * Besides not crashing: reading all at once and one byte at a time gives
 * the same reports, and no report text exceeds SPAWNREP_MAX. */
#include "mail/spawnrep.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct seen { unsigned long n, hash; };

static void rep(void *ctx, unsigned long slot, char st, const char *t, size_t n)
{
	struct seen *s = ctx;
	size_t i;
	if (n > SPAWNREP_MAX) abort();
	s->n++;
	s->hash = s->hash * 31 + slot + (unsigned char)st;
	for (i = 0; i < n; i++) s->hash = s->hash * 131 + (unsigned char)t[i];
	s->hash += n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	spawnrep a = SPAWNREP_INIT, b = SPAWNREP_INIT;
	struct seen sa = {0, 0}, sb = {0, 0};
	size_t i;
	buf req = BUF_INIT;

	spawnrep_feed(&a, (const char *)data, size, rep, &sa);
	for (i = 0; i < size; i++) spawnrep_feed(&b, (const char *)data + i, 1, rep, &sb);
	if (sa.n != sb.n || sa.hash != sb.hash) abort();
	spawnrep_free(&a);
	spawnrep_free(&b);

	/* a request written and read back field by field */
	if (size && !memchr(data, 0, size)) {
		char *s = malloc(size + 1);
		if (!s) return 0;
		memcpy(s, data, size);
		s[size] = 0;
		if (spawnreq_put(&req, 7, 12345, s, s) == 0 &&
		    req.len != 2 + 6 + 2 * (size + 1)) abort();
		free(s);
	}
	buf_free(&req);
	return 0;
}
