/* rcpthosts: which domains we accept mail for (see rcpthosts.h). */
#include "mail/rcpthosts.h"
#include "mail/control.h"
#include "mail/instance.h"
#include "lib/cdbx.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

int rcpthosts_load(rcpthosts *r)
{
	int k = control_readlines(&r->list, "rcpthosts");
	if (k < 0) return -1;
	r->have = k > 0;
	if (cmap_init(&r->map, &r->list, 0) < 0) return -1;
	nq_path(&r->cdbpath, "control/morercpthosts.cdb");
	return 0;
}

/* One candidate: the list, then the cdb (keys are lowercase). */
static int known(const rcpthosts *r, const char *k, size_t n, buf *tmp)
{
	buf val = BUF_INIT;
	int f;

	if (cmap_get(&r->map, k, n)) return 1;
	if (buf_copy(tmp, k, n) < 0) return -1;
	case_lower(tmp->s, tmp->len);
	f = cdbx_get(r->cdbpath.s, tmp->s, tmp->len, &val);
	buf_free(&val);
	return f;
}

int rcpthosts_domain(const rcpthosts *r, const char *dom, size_t len)
{
	buf tmp = BUF_INIT;
	size_t i;
	int f = 0;

	if (len == 0) return 0;
	/* The name itself, then each parent as ".parent". */
	f = known(r, dom, len, &tmp);
	for (i = 0; f == 0 && i < len; i++)
		if (dom[i] == '.') f = known(r, dom + i, len - i, &tmp);
	buf_free(&tmp);
	return f;
}

int rcpthosts_allowed(const rcpthosts *r, const char *addr, size_t len)
{
	size_t at = byte_rchr(addr, len, '@');
	if (at == len) return 1;
	return rcpthosts_domain(r, addr + at + 1, len - at - 1);
}

void rcpthosts_free(rcpthosts *r)
{
	cmap_free(&r->map);
	buf_free(&r->list);
	buf_free(&r->cdbpath);
}
