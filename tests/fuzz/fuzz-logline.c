/* fuzz-logline: qmail-send log lines as qmail-report reads them
 * (src/mail/logparse.c, src/mail/logstat.c). The input is split at line
 * ends; every line is parsed and accounted for, as in a real log.
 * Besides not crashing: the body and text of a line lie inside the line,
 * and the totals agree with the number of lines. */
#include "mail/logparse.h"
#include "mail/logstat.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int inside(const char *p, size_t n, const char *s, size_t len)
{
	return p >= s && p <= s + len && n <= (size_t)(s + len - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *e = s + size;
	struct logctx c = LOGCTX_INIT;
	struct logline l;
	logstat st;
	unsigned long long lines = 0;

	if (logstat_init(&st, 8) < 0) return 0;
	while (s < e) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(e - s);
		logparse_line(&c, s, n, &l);
		if (!inside(l.body, l.bodylen, s, n)) abort();
		if (l.textlen && l.ev != LE_DEFERRAL && !inside(l.text, l.textlen, s, n)) abort();
		if (logstat_add(&st, &l) < 0) break;
		lines++;
		s += n + 1;
	}
	if (st.tot.lines != lines) abort();
	if (st.tot.success + st.tot.failure + st.tot.deferral != st.tot.attempts) abort();
	{
		long long oldest;
		size_t nb;
		if (logstat_inqueue(&st, &oldest, &nb) != st.msgs.n) abort();
	}
	logstat_free(&st);
	return 0;
}
