/* fuzz-addr: the address-list reader and writer (addr_list) and the
 * command-line address parser (addr_arg) on arbitrary bytes. The first
 * byte picks the starting column. Promises checked: a list that was
 * accepted is written back in a form that is itself accepted and yields
 * as many addresses; a refused one leaves nothing behind; unfolded input
 * gives envelope addresses without line breaks; addr_arg's result holds
 * no control character. */
#include "mail/addr.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t count(const buf *b)
{
	size_t i, n = 0;
	for (i = 0; i < b->len; i++) if (!b->s[i]) n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static addr_cfg cfg;
	static int ready;
	buf out = BUF_INIT, addrs = BUF_INIT, out2 = BUF_INIT, addrs2 = BUF_INIT, arg = BUF_INIT;
	const char *s = (const char *)data + 1;
	size_t n, col, i;
	int r;

	if (!ready) {
		if (addr_cfg_init(&cfg, "mammoth", "berkeley.edu", "plus.example") != 1) abort();
		ready = 1;
	}
	if (!size) return 0;
	col = data[0] % 80;
	n = size - 1;
	r = addr_list(&cfg, s, n, col, &out, &addrs);
	if (r < 0) abort();               /* no limits set: only memory can fail */
	if (r == 1) {
		if (memchr(out.s, 0, out.len)) abort();
		if (!memchr(s, '\n', n))    /* unfolded input: no line break comes out */
			for (i = 0; i < addrs.len; i++)
				if (addrs.s[i] == '\n') abort();
		if (addr_list(&cfg, out.s, out.len, col, &out2, &addrs2) != 1) abort();
		if (count(&addrs) != count(&addrs2)) abort();
	} else if (out.len || addrs.len) {
		abort();                      /* a refusal leaves nothing behind */
	}
	r = addr_arg(&cfg, s, n, &arg);
	if (r < 0) abort();
	if (r == 1)
		for (i = 0; i < arg.len; i++)
			if ((unsigned char)arg.s[i] < 32 || arg.s[i] == 127) abort();
	buf_free(&out); buf_free(&addrs); buf_free(&out2); buf_free(&addrs2); buf_free(&arg);
	return 0;
}
