/* mxplan: routes, MX records and the loop rule make the list of addresses
 * qmail-remote tries (see mxplan.h). */
#include "mail/mxplan.h"
#include "mail/control.h"
#include "mail/ipme.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int mxroutes_load(mxroutes *r, const char **what)
{
	*what = "control/smtproutes";
	if (control_readlines(&r->routes, "smtproutes") < 0) return -1;
	if (cmap_init(&r->mroutes, &r->routes, 1) < 0) return -1;
	*what = "control/authsenders";
	if (control_readlines(&r->senders, "authsenders") < 0) return -1;
	if (cmap_init(&r->msenders, &r->senders, 1) < 0) return -1;
	return 0;
}

/* "relay", "relay:port", "[addr]" or "[addr]:port" into out. */
static int parse(const char *v, mxroute *out)
{
	size_t n = strlen(v), end, k;
	unsigned long port = 0;
	ipaddr ip;

	out->literal = 0;
	out->port = 0;
	if (v[0] == '[') {
		k = byte_chr(v, n, ']');
		if (k == n) return -1;
		if (ipaddr_scan(&ip, v + 1, k - 1) < 0) return -1;
		out->literal = 1;
		memcpy(out->relay, v + 1, k - 1);
		out->relay[k - 1] = 0;
		end = k + 1;
		if (end < n && v[end] != ':') return -1;
	} else {
		end = byte_chr(v, n, ':');
		if (end >= DNS_NAME_MAX - 1) return -1;
		memcpy(out->relay, v, end);
		out->relay[end] = 0;
	}
	if (end < n) {
		if (end + 1 == n || scan_ulong(v + end + 1, n - end - 1, &port) != n - end - 1 || !port || port > 65535)
			return -1;
		out->port = (unsigned)port;
	}
	return 0;
}

static int bad(buf *why, const char *file, const char *key)
{
	if (buf_copys(why, "malformed line in control/") < 0 || buf_puts(why, file) < 0 ||
	    buf_puts(why, " for ") < 0 || buf_puts(why, *key ? key : "the catch-all") < 0)
		why->len = 0;
	return -1;
}

int mxroutes_find(const mxroutes *r, const char *sender, const char *host, mxroute *out, buf *why)
{
	size_t n = strlen(host), i, at;
	const char *v;

	memset(out, 0, sizeof *out);
	/* per-sender relays first: the whole address, then @domain */
	n = strlen(sender);
	at = byte_rchr(sender, n, '@');
	if (n && n < DNS_NAME_MAX) {
		const char *key = sender;
		v = cmap_get(&r->msenders, sender, n);
		if (!v && at < n) { key = sender + at; v = cmap_get(&r->msenders, key, n - at); }
		if (v) {
			if (!*v) return 0;
			if (parse(v, out) < 0 || !out->relay[0]) return bad(why, "authsenders", key);
			memcpy(out->key, key, strlen(key) + 1);
			out->found = out->bysender = 1;
			return 0;
		}
	}
	n = strlen(host);
	for (i = 0; i <= n; i++) {
		if (i != 0 && i != n && host[i] != '.') continue;
		v = cmap_get(&r->mroutes, host + i, n - i);
		if (!v) continue;
		if (!*v) return 0;             /* "domain:": deliver by MX */
		if (parse(v, out) < 0) return bad(why, "smtproutes", host + i);
		if (!out->relay[0]) {          /* "domain::port": MX with another port */
			out->found = 0;
			return 0;
		}
		out->found = 1;
		return 0;
	}
	return 0;
}

void mxplan_order(dns_mxlist *l, unsigned long seed)
{
	size_t i, j;
	/* insertion sort by preference (lists are short), then shuffle runs */
	for (i = 1; i < l->n; i++) {
		dns_mxrec t = l->mx[i];
		for (j = i; j > 0 && l->mx[j - 1].pref > t.pref; j--) l->mx[j] = l->mx[j - 1];
		l->mx[j] = t;
	}
	for (i = 0; i < l->n; ) {
		size_t e = i + 1, k;
		while (e < l->n && l->mx[e].pref == l->mx[i].pref) e++;
		for (k = e - 1; k > i; k--) {
			size_t r = i + (size_t)(seed % (k - i + 1));
			dns_mxrec t = l->mx[k];
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			seed ^= seed >> 29;
			l->mx[k] = l->mx[r];
			l->mx[r] = t;
		}
		i = e;
	}
}

static int say(buf *why, const char *a, const char *b, const char *c)
{
	if (buf_copys(why, a) < 0 || buf_puts(why, b ? b : "") < 0 || buf_puts(why, c ? c : "") < 0)
		why->len = 0;
	return 0;
}

/* Host names in reports: printable ASCII only, as qmail's outsafe. */
static void safe(char *out, const char *s)
{
	size_t i;
	for (i = 0; s[i] && i < 255; i++) out[i] = (s[i] < 33 || s[i] > 126) ? '?' : s[i];
	out[i] = 0;
}

static int addhost(mxplan *p, const char *name)
{
	size_t n = strlen(name);
	if (p->nhosts == PLAN_HOST_MAX || n >= DNS_NAME_MAX) return -1;
	memcpy(p->hosts[p->nhosts], name, n + 1);
	return (int)p->nhosts++;
}

static void addip(mxplan *p, const ipaddr *ip, unsigned pref, size_t host)
{
	size_t i;
	for (i = 0; i < p->n; i++) if (ipaddr_eq(&p->a[i].ip, ip)) return;
	if (p->n == PLAN_ADDR_MAX) return;
	p->a[p->n].ip = *ip;
	p->a[p->n].pref = pref;
	p->a[p->n].host = host;
	p->n++;
}

/* AAAA and A of name: DNS_FOUND, DNS_NODATA, DNS_NX or DNS_SOFT. */
static int addrs(mxplan *p, const char *name, unsigned pref, buf *dnswhy)
{
	static dns_iplist l;
	int h, r6, r4;
	size_t i;

	h = addhost(p, name);
	if (h < 0) return DNS_NODATA;
	l.n = 0;
	r6 = dns_ip(name, AF_INET6, &l, dnswhy);
	if (r6 == DNS_NX) return DNS_NX;
	r4 = dns_ip(name, AF_INET, &l, dnswhy);
	for (i = 0; i < l.n; i++) addip(p, &l.ip[i], pref, (size_t)h);
	if (l.n) return DNS_FOUND;
	if (r6 == DNS_SOFT || r4 == DNS_SOFT) return DNS_SOFT;
	return r4;
}

int mxplan_make(mxplan *p, const char *host, const mxroute *rt, unsigned defport, buf *why)
{
	static dns_mxlist mx;
	buf dnswhy = BUF_INIT;
	char shown[256];
	unsigned prefme = (unsigned)-1;
	size_t i, k;
	int r, soft = 0;
	unsigned long seed;
	ipaddr ip;

	p->n = p->nhosts = 0;
	p->relay = rt->found;
	p->port = rt->port ? rt->port : defport;
	why->len = 0;

	if (rt->found) {
		safe(shown, rt->relay);
		if (rt->literal) {
			if (ipaddr_scan(&ip, rt->relay, strlen(rt->relay)) < 0) return say(why, "Sorry, the relay in smtproutes is not an address. (#5.3.5)", 0, 0), PLAN_PERM;
			addip(p, &ip, 0, (size_t)addhost(p, rt->relay));
			return PLAN_OK;
		}
		r = addrs(p, rt->relay, 0, &dnswhy);
		buf_free(&dnswhy);
		if (r == DNS_FOUND) return PLAN_OK;
		if (r == DNS_SOFT) return say(why, "Sorry, I couldn't find any host by that name. (#4.1.2)", 0, 0), PLAN_TEMP;
		if (r == DNS_NX) return say(why, "Sorry, I couldn't find any host named ", shown, ". (#5.1.2)"), PLAN_PERM;
		return say(why, "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", 0, 0), PLAN_PERM;
	}

	safe(shown, host);
	k = strlen(host);
	if (k > 2 && host[0] == '[' && host[k - 1] == ']') {
		if (ipaddr_scan(&ip, host + 1, k - 2) < 0)
			return say(why, "Sorry, I couldn't find any host named ", shown, ". (#5.1.2)"), PLAN_PERM;
		addip(p, &ip, 0, (size_t)addhost(p, host));
	} else {
		r = dns_mx(host, &mx, &dnswhy);
		if (r == DNS_SOFT) { buf_free(&dnswhy); return say(why, "Sorry, I couldn't find any host by that name. (#4.1.2)", 0, 0), PLAN_TEMP; }
		if (r == DNS_NX) { buf_free(&dnswhy); return say(why, "Sorry, I couldn't find any host named ", shown, ". (#5.1.2)"), PLAN_PERM; }
		if (r == DNS_FOUND) {
			for (i = 0; i < mx.n; i++)
				if (!mx.mx[i].name[0]) {
					buf_free(&dnswhy);
					return say(why, "Sorry, ", shown, " does not accept mail: its MX record is null. (#5.1.10)"), PLAN_PERM;
				}
			if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
				seed = (unsigned long)time(0) ^ ((unsigned long)getpid() << 16);
			mxplan_order(&mx, seed);
			for (i = 0; i < mx.n; i++) {
				r = addrs(p, mx.mx[i].name, mx.mx[i].pref, &dnswhy);
				if (r == DNS_SOFT) soft = 1;
			}
		} else {
			r = addrs(p, host, 0, &dnswhy);
			if (r == DNS_SOFT) soft = 1;
			if (r == DNS_NX) { buf_free(&dnswhy); return say(why, "Sorry, I couldn't find any host named ", shown, ". (#5.1.2)"), PLAN_PERM; }
		}
	}
	buf_free(&dnswhy);

	/* the loop rule */
	for (i = 0; i < p->n; i++)
		if (p->a[i].pref < prefme && ipme_is(&p->a[i].ip)) prefme = p->a[i].pref;
	for (i = k = 0; i < p->n; i++)
		if (p->a[i].pref < prefme) p->a[k++] = p->a[i];
	if (k == 0 && p->n) {
		p->n = 0;
		return say(why, "Sorry. Although I'm listed as a best-preference MX or A for that host,\n"
		           "it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)", 0, 0), PLAN_PERM;
	}
	p->n = k;
	if (p->n) return PLAN_OK;
	if (soft) return say(why, "Sorry, I couldn't find any host by that name. (#4.1.2)", 0, 0), PLAN_TEMP;
	return say(why, "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)", 0, 0), PLAN_PERM;
}
