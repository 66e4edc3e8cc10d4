/* senders: envelope senders an authenticated login may use (senders.h). */
#include "mail/senders.h"
#include "mail/control.h"
#include "lib/str.h"
#include <string.h>

/* local[0..n) is "login" or "login-..." */
static int ownlocal(const char *local, size_t n, const char *login, size_t ll)
{
	if (n < ll || !case_eqn(local, login, ll)) return 0;
	return n == ll || local[ll] == '-';
}

static int pattern(const char *pat, const char *addr, size_t n)
{
	size_t pl = strlen(pat), at;

	if (str_eq(pat, "*")) return 1;
	if (pat[0] == '@') {
		at = byte_rchr(addr, n, '@');
		return at < n && n - at == pl && case_eqn(addr + at, pat, pl);
	}
	return pl == n && case_eqn(pat, addr, n);
}

int senders_owns(const route *r, const buf *lines, const char *login, const char *addr)
{
	size_t n = strlen(addr), ll = strlen(login), at, lat;
	const char *p;
	buf rw = BUF_INIT;
	int k;

	if (n == 0 || ll == 0) return 0;
	at = byte_rchr(addr, n, '@');
	lat = byte_rchr(login, ll, '@');
	if (lat < ll) {
		/* virtual login: same domain, own local part */
		if (at < n && n - at == ll - lat && case_eqn(addr + at, login + lat, ll - lat) &&
		    ownlocal(addr, at, login, lat))
			return 1;
	} else if (at < n) {
		k = route_rewrite(r, addr, n, &rw);
		if (k < 0) return -1;
		if (k == ROUTE_LOCAL) {
			size_t rat = byte_rchr(rw.s, rw.len, '@');
			k = ownlocal(rw.s, rat, login, ll);
			buf_free(&rw);
			if (k) return 1;
		}
		buf_free(&rw);
	}
	for (p = 0; (p = list_next(lines, p)); ) {
		size_t c = byte_chr(p, strlen(p), ':');
		if (p[c] != ':') continue;
		if (!(c == 1 && p[0] == '*') && !(c == ll && case_eqn(p, login, ll))) continue;
		if (pattern(p + c + 1, addr, n)) return 1;
	}
	return 0;
}
