/* Fuzz target: the requests qmail-send reads from lock/qctl
 * (src/mail/qctl.h), fed in pieces of every size the input suggests. */
#include "mail/qctl.h"
#include <stddef.h>
#include <stdint.h>

static unsigned long sum;
static void f(void *ctx, unsigned long id) { (void)ctx; sum += id; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	qctl_in in = { {0}, 0, 0 };
	size_t step, off = 0;
	if (!size) return 0;
	step = (size_t)data[0] % 7 + 1;   /* read(2) returns any piece */
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		qctl_feed(&in, (const char *)data + off, n, f, 0);
		off += n;
	}
	return 0;
}
