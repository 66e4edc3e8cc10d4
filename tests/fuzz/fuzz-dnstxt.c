/* fuzz-dnstxt: the TXT answer parser (src/mail/dnstxt.c) on arbitrary
 * DNS messages, and the From scanner of src/mail/dmarc.c on the same
 * bytes taken as a header. Promises checked: no crash or overread; at
 * most DNSTXT_RECORDS_MAX records, each NUL-terminated, none longer than
 * DNSTXT_LEN_MAX; a From domain, when found, is a plain lower-case
 * domain name. */
#include "mail/dnstxt.h"
#include "mail/dmarc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	buf out = BUF_INIT, dom = BUF_INIT;
	size_t n = 0, i, k, nul = 0;
	int r;

	if (size > 65536) return 0;
	r = dnstxt_parse(data, size, &out, &n);
	if (r == -2) abort();
	if (r == 0) {
		if (n > DNSTXT_RECORDS_MAX) abort();
		for (i = 0, k = 0; i < out.len; i++) {
			if (out.s[i]) { if (++k > DNSTXT_LEN_MAX) abort(); continue; }
			nul++;
			k = 0;
		}
		if (nul != n || (out.len && out.s[out.len - 1])) abort();
	}
	r = dmarc_fromdomain((const char *)data, size, &dom);
	if (r < 0) abort();
	for (i = 0; i < dom.len; i++) {
		char c = dom.s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) abort();
	}
	buf_free(&out);
	buf_free(&dom);
	return 0;
}
