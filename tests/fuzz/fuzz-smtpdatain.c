/* fuzz-smtpdatain: the DATA reader on arbitrary bytes, fed in chunks whose
 * sizes come from the first byte, compared with a simple reference that
 * reads the whole input at once. Promises checked: chunking never changes
 * the outcome (end found at the same place, same flags, same output);
 * the output never holds a CR, and never a NUL or a lone LF problem
 * unflagged; the end is only ever right after CR LF . CR LF (or . CR LF
 * at the very start); the byte count matches the output. */
#include "mail/smtpin.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long long run(const char *s, size_t n, size_t step, struct smtp_data *d, buf *out)
{
	size_t used = 0;
	smtp_data_init(d, 4096);
	while (used < n && d->st != SD_END) {
		size_t k = n - used < step ? n - used : step;
		long long r = smtp_data_feed(d, s + used, k, out);
		if (r < 0 || (size_t)r > k) abort();
		used += (size_t)r;
		if ((size_t)r < k && d->st != SD_END) abort();
	}
	return (long long)used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_data a, b;
	buf oa = BUF_INIT, ob = BUF_INIT;
	const char *s = (const char *)data + 1;
	size_t n, step, i;
	long long ua, ub;

	if (!size) return 0;
	n = size - 1;
	step = (size_t)(data[0] % 7) + 1;
	ua = run(s, n, n ? n : 1, &a, &oa);
	ub = run(s, n, step, &b, &ob);
	if (ua != ub || a.st != b.st || a.bad != b.bad || a.size != b.size || a.hops != b.hops) abort();
	if (oa.len != ob.len || (oa.len && memcmp(oa.s, ob.s, oa.len))) abort();
	if (!a.bad && a.size != oa.len) abort();
	if (a.bad && oa.len > a.size) abort();
	for (i = 0; i < oa.len; i++) if (oa.s[i] == '\r' || oa.s[i] == 0) abort();
	if (a.st == SD_END) {
		size_t u = (size_t)ua;
		if (u < 3 || memcmp(s + u - 3, ".\r\n", 3)) abort();
		if (u > 3 && (u < 5 || memcmp(s + u - 5, "\r\n", 2))) abort();
	}
	buf_free(&oa);
	buf_free(&ob);
	return 0;
}
