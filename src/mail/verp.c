/* verp: per-recipient envelope senders; see verp.h. */
#include "mail/verp.h"
#include "lib/str.h"
#include <string.h>

/* The '@' of "prefix@host-@[]" (its index), or n when sender is not so. */
static size_t verp_at(const char *sender, size_t n)
{
	size_t j;
	if (n < 5 || memcmp(sender + n - 4, "-@[]", 4) != 0) return n;
	j = byte_rchr(sender, n - 4, '@');
	return j < n - 4 ? j : n;
}

int verp_is(const char *sender)
{
	size_t n = strlen(sender);
	return verp_at(sender, n) < n;
}

int verp_sender(buf *out, const char *sender, const char *recip)
{
	size_t n = strlen(sender), rl = strlen(recip), j = verp_at(sender, n), k;

	k = byte_rchr(recip, rl, '@');
	if (j == n || k == rl) return buf_copys(out, sender);
	/* prefix + box "=" dom + "@" host (host without its "-@[]") */
	if (buf_copy(out, sender, j) < 0 || buf_put(out, recip, k) < 0 ||
	    buf_putc(out, '=') < 0 || buf_put(out, recip + k + 1, rl - k - 1) < 0 ||
	    buf_putc(out, '@') < 0 || buf_put(out, sender + j + 1, n - 5 - j) < 0)
		return -1;
	return 0;
}

int verp_owner(buf *out, const char *sender)
{
	size_t n = strlen(sender);
	/* as qmail: any "...-@[]" loses its "-@[]", well-formed or not */
	if (n < 5 || memcmp(sender + n - 4, "-@[]", 4) != 0) return buf_copys(out, sender);
	return buf_copy(out, sender, n - 4);
}
