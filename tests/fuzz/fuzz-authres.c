/* fuzz-authres: the Authentication-Results header filter on arbitrary
 * message bytes. Promises checked: the output never grows; the result
 * does not depend on how the message is cut into chunks (all at once and
 * one byte at a time give the same bytes); everything after the end of
 * the header passes untouched; and filtering twice removes nothing more
 * (no field of ours survives the first pass). */
#include "mail/authres.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ID "mx.example.com"

static void run(const char *s, size_t n, size_t k, buf *out)
{
	struct authres_filter f;
	size_t i;
	authres_filter_init(&f, ID);
	out->len = 0;
	for (i = 0; i < n; i += k)
		if (authres_filter_feed(&f, s + i, n - i < k ? n - i : k, out) < 0) abort();
	if (authres_filter_end(&f, out) < 0) abort();
	authres_filter_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	buf whole = BUF_INIT, bytes = BUF_INIT, again = BUF_INIT;
	const char *end;

	if (size > 65536) return 0;
	run(s, size, size ? size : 1, &whole);
	run(s, size, 1, &bytes);
	if (whole.len > size) abort();
	if (whole.len != bytes.len || (whole.len && memcmp(whole.s, bytes.s, whole.len) != 0)) abort();
	/* the empty line that ends the header, and the body, pass */
	end = size && s[0] == '\n' ? s : memmem(s, size, "\n\n", 2);
	if (end && end != s) end++;
	if (end) {
		size_t body = size - (size_t)(end - s);
		if (whole.len < body || (body && memcmp(whole.s + whole.len - body, end, body) != 0)) abort();
	}
	run(whole.s ? whole.s : "", whole.len, whole.len ? whole.len : 1, &again);
	if (again.len != whole.len || (whole.len && memcmp(again.s, whole.s, whole.len) != 0)) abort();
	buf_free(&whole);
	buf_free(&bytes);
	buf_free(&again);
	return 0;
}
