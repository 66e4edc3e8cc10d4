/* ipme: this host's own addresses (see ipme.h). */
#include "mail/ipme.h"
#include "mail/control.h"
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#define IPME_MAX 4096

static ipaddr *mine;
static size_t nmine;
static int ready;

static int add(const ipaddr *ip)
{
	static size_t cap;
	if (nmine == IPME_MAX) return 0;
	if (nmine == cap) {
		size_t nc = cap ? cap * 2 : 16;
		ipaddr *n = realloc(mine, nc * sizeof *n);
		if (!n) { errno = ENOMEM; return -1; }
		mine = n;
		cap = nc;
	}
	mine[nmine++] = *ip;
	return 0;
}

static int readlist(const char *name, int remove)
{
	buf lines = BUF_INIT;
	const char *p;
	ipaddr ip;
	size_t i;
	int r = control_readlines(&lines, name);

	if (r < 0) return -1;
	for (p = 0; (p = list_next(&lines, p)); ) {
		size_t n = strlen(p);
		if (n > 2 && p[0] == '[' && p[n - 1] == ']') { p++; n -= 2; }
		if (ipaddr_scan(&ip, p, n) < 0) { buf_free(&lines); errno = EINVAL; return -1; }
		if (!remove) {
			if (add(&ip) < 0) { buf_free(&lines); return -1; }
			continue;
		}
		for (i = 0; i < nmine; )
			if (ipaddr_eq(&mine[i], &ip)) mine[i] = mine[--nmine];
			else i++;
	}
	buf_free(&lines);
	return 0;
}

int ipme_init(const char **what)
{
	struct ifaddrs *ifa, *a;
	ipaddr ip;

	if (ready) return 0;
	nmine = 0;
	memset(&ip, 0, sizeof ip);
	ip.family = AF_INET;
	if (add(&ip) < 0) { *what = "memory"; return -1; }
	ip.family = AF_INET6;
	if (add(&ip) < 0) { *what = "memory"; return -1; }
	*what = "the list of network interfaces";
	if (getifaddrs(&ifa) < 0) return -1;
	for (a = ifa; a; a = a->ifa_next)
		if (a->ifa_addr && ipaddr_from_sockaddr(&ip, a->ifa_addr) == 0 && add(&ip) < 0) {
			freeifaddrs(ifa);
			return -1;
		}
	freeifaddrs(ifa);
	*what = "control/moreipme";
	if (readlist("moreipme", 0) < 0) return -1;
	*what = "control/notipme";
	if (readlist("notipme", 1) < 0) return -1;
	ready = 1;
	return 0;
}

int ipme_is(const ipaddr *ip)
{
	size_t i;
	for (i = 0; i < nmine; i++)
		if (ipaddr_eq(&mine[i], ip)) return 1;
	return 0;
}
