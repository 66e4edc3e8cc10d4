/* addrlist: badmailfrom-style address lists (see addrlist.h). */
#include "mail/addrlist.h"
#include "mail/control.h"
#include "lib/str.h"

int addrlist_load(addrlist *l, const char *name)
{
	if (control_readlines(&l->lines, name) < 0) return -1;
	return cmap_init(&l->map, &l->lines, 0);
}

int addrlist_match(const addrlist *l, const char *addr, size_t n)
{
	size_t at;

	if (!l->map.n) return 0;
	if (cmap_get(&l->map, addr, n)) return 1;
	at = byte_rchr(addr, n, '@');
	return at < n && cmap_get(&l->map, addr + at, n - at) != 0;
}

void addrlist_free(addrlist *l)
{
	cmap_free(&l->map);
	buf_free(&l->lines);
}
