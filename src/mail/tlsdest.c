/* tlsdest: control/tlsdestinations and control/smtpauth (see tlsdest.h). */
#include "mail/tlsdest.h"
#include "mail/control.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

static const char *names[] = { "none", "may", "encrypt", "verify", "dane", "dane-only" };

const char *tlsdest_name(int level)
{
	return level >= 0 && level <= TLS_DANE_ONLY ? names[level] : "?";
}

int tlsdest_load(tlsdest *t)
{
	if (control_readlines(&t->lines, "tlsdestinations") < 0) return -1;
	return cmap_init(&t->map, &t->lines, 1);
}

/* Suffix lookup as smtproutes: name, ".parent" suffixes, no catch-all. */
static const char *lookup(const tlsdest *t, const char *name)
{
	size_t n = strlen(name), i;
	const char *v;
	for (i = 0; i < n; i++) {
		if (i && name[i] != '.') continue;
		v = cmap_get(&t->map, name + i, n - i);
		if (v) return v;
	}
	return 0;
}

int tlsdest_find(const tlsdest *t, const char *name1, const char *name2, tlspolicy *out, buf *why)
{
	const char *v = 0;
	size_t n, k;
	int i;

	out->level = TLS_MAY;
	out->cafile = 0;
	if (name1 && *name1) v = lookup(t, name1);
	if (!v && name2 && *name2) v = lookup(t, name2);
	if (!v) v = cmap_get(&t->map, "", 0);
	if (!v) return 0;
	n = strlen(v);
	k = byte_chr(v, n, ':');
	for (i = TLS_NONE; i <= TLS_DANE_ONLY; i++)
		if (strlen(names[i]) == k && case_eqn(v, names[i], k)) break;
	if (i > TLS_DANE_ONLY) {
		if (buf_copys(why, "unknown policy in control/tlsdestinations: ") < 0 || buf_puts(why, v) < 0) why->len = 0;
		return -1;
	}
	out->level = i;
	if (k < n && v[k + 1]) out->cafile = v + k + 1;
	return 0;
}

int smtpauth_find(const char *key, buf *user, buf *pass, buf *why)
{
	buf lines = BUF_INIT;
	const char *p;
	size_t kl = strlen(key);
	int r = control_readlines(&lines, "smtpauth");

	if (r < 0) {
		if (buf_copys(why, "unable to read control/smtpauth: ") < 0 || buf_puts(why, strerror(errno)) < 0) why->len = 0;
		return -1;
	}
	r = 0;
	for (p = 0; (p = list_next(&lines, p)); ) {
		size_t n = strlen(p), c1, c2;
		/* the key may be "[addr]" with colons inside */
		c1 = p[0] == '[' ? byte_chr(p, n, ']') + 1 : 0;
		if (c1 > n) c1 = n;
		c1 += byte_chr(p + c1, n - c1, ':');
		if (c1 != kl || !case_eqn(p, key, kl)) continue;
		if (c1 == n) break;
		c2 = c1 + 1 + byte_chr(p + c1 + 1, n - c1 - 1, ':');
		if (c2 >= n) break;
		r = buf_copy(user, p + c1 + 1, c2 - c1 - 1) < 0 || buf_copys(pass, p + c2 + 1) < 0 ? -1 : 1;
		p = 0;
		break;
	}
	if (r == 0 && p) {
		if (buf_copys(why, "malformed line in control/smtpauth for ") < 0 || buf_puts(why, key) < 0) why->len = 0;
		r = -1;
	}
	/* the buffer held passwords: do not leave them in freed memory */
	buf_wipe(&lines);
	return r;
}
