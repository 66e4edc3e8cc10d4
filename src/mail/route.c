/* route: local or remote, and the virtualdomains rewrite; see route.h. */
#include "mail/route.h"
#include "mail/control.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

void route_free(route *r)
{
	cmap_free(&r->mlocals);
	cmap_free(&r->mvdoms);
	cmap_free(&r->mpercent);
	buf_free(&r->locals);
	buf_free(&r->vdoms);
	buf_free(&r->percent);
	buf_free(&r->noathost);
}

int route_load(route *r, const char **what)
{
	buf me = BUF_INIT;
	int e, k;

	*what = "control/me";
	if (control_readline(&me, "me", 0) < 0) goto fail;
	*what = "control/locals";
	k = control_readlines(&r->locals, "locals");
	if (k < 0) goto fail;
	if (k == 0) {
		if (!me.len) { errno = ENOENT; goto fail; }
		if (buf_copy(&r->locals, me.s, me.len) < 0 || buf_put0(&r->locals) < 0) goto fail;
	}
	*what = "control/virtualdomains";
	if (control_readlines(&r->vdoms, "virtualdomains") < 0) goto fail;
	*what = "control/percenthack";
	if (control_readlines(&r->percent, "percenthack") < 0) goto fail;
	*what = "control/envnoathost";
	k = control_readline(&r->noathost, "envnoathost", 0);
	if (k < 0) goto fail;
	if (k == 0 && buf_copys(&r->noathost, me.len ? me.s : "envnoathost") < 0) goto fail;
	*what = "memory";
	if (cmap_init(&r->mlocals, &r->locals, 0) < 0) goto fail;
	if (cmap_init(&r->mvdoms, &r->vdoms, 1) < 0) goto fail;
	if (cmap_init(&r->mpercent, &r->percent, 0) < 0) goto fail;
	buf_free(&me);
	return 0;
fail:
	e = errno;
	buf_free(&me);
	route_free(r);
	errno = e;
	return -1;
}

/* The virtualdomains prepend for addr (len bytes, at = index of its last
 * '@'), or 0 when none applies (no entry, or an empty exception entry). */
static const char *vdom(const route *r, const char *addr, size_t len, size_t at)
{
	size_t i;
	for (i = 0; i <= len; i++) {
		const char *x;
		/* candidates in qmail's order: whole address, domain, .suffixes, "" */
		if (!(i == 0 || i == at + 1 || i == len || (i > at && addr[i] == '.'))) continue;
		x = cmap_get(&r->mvdoms, addr + i, len - i);
		if (x) return *x ? x : 0;
	}
	return 0;
}

int route_rewrite(const route *r, const char *addr, size_t len, buf *out)
{
	size_t at, j;
	const char *x;

	if (buf_copy(out, addr, len) < 0) return -1;
	at = byte_rchr(out->s, out->len, '@');
	if (at == out->len) {
		if (buf_putc(out, '@') < 0 || buf_put(out, r->noathost.s, r->noathost.len) < 0) return -1;
	}
	/* percenthack: "u%h@dom" -> "u@h", repeatedly while h is listed too */
	while (cmap_get(&r->mpercent, out->s + at + 1, out->len - at - 1)) {
		j = byte_rchr(out->s, at, '%');
		if (j == at) break;
		buf_trunc(out, at);
		out->s[j] = '@';
		at = j;
	}
	if (cmap_get(&r->mlocals, out->s + at + 1, out->len - at - 1)) return ROUTE_LOCAL;
	x = vdom(r, out->s, out->len, at);
	if (!x) return ROUTE_REMOTE;
	{
		size_t xl = strlen(x), n = out->len;
		/* prepend in place: grow, move the address right, write "x-" */
		if (buf_ready(out, xl + 1) < 0) return -1;
		memmove(out->s + xl + 1, out->s, n);
		memcpy(out->s, x, xl);
		out->s[xl] = '-';
		out->len = n + xl + 1;
		out->s[out->len] = 0;
	}
	return ROUTE_LOCAL;
}

const char *route_unprepend(const route *r, const char *recip)
{
	size_t len = strlen(recip), at = byte_rchr(recip, len, '@'), i;
	const char *x;

	if (at == len) return recip;
	if (cmap_get(&r->mlocals, recip + at + 1, len - at - 1)) return recip;
	/* Which address, rewritten, gives recip? Try each "prepend-" split of
	 * the local part: the rest must map back to exactly that prepend. */
	for (i = 0; i < at; i++) {
		if (recip[i] != '-') continue;
		x = vdom(r, recip + i + 1, len - i - 1, at - i - 1);
		if (x && strlen(x) == i && memcmp(x, recip, i) == 0) return recip + i + 1;
	}
	return recip;
}
