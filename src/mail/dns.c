/* dns: MX, A, AAAA, TLSA and PTR lookups through the C library's resolver,
 * and a careful parser of the answers (see dns.h).
 *
 * Why our own walk over the answer and not ns_initparse/ns_parserr: those
 * live in libresolv, the rest (res_nquery, dn_expand) in libc; the walk is
 * short, bounded at every step and fuzzed (tests/fuzz/fuzz-dns.c). */
#include "mail/dns.h"
#include "mail/control.h"
#include "lib/str.h"
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX 65536

static struct __res_state rs;
static int ready, configured;
static unsigned char answer[ANSWER_MAX];

/* ---- the parser ------------------------------------------------------- */

int dns_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.') la--;
	if (lb && b[lb - 1] == '.') lb--;
	return la == lb && case_eqn(a, b, la);
}

struct rr { size_t owner, rdata; unsigned type, rdlen; };

/* The answer section's records, at most ANSWER_RR_MAX of them. */
#define ANSWER_RR_MAX 512
struct walk {
	const unsigned char *msg;
	size_t len, n;
	struct rr rr[ANSWER_RR_MAX];
};

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Length of the (possibly compressed) name at pos, or 0 when malformed. */
static size_t skipname(const unsigned char *msg, size_t len, size_t pos)
{
	int n;
	if (pos >= len) return 0;
	n = dn_skipname(msg + pos, msg + len);
	return n > 0 ? (size_t)n : 0;
}

/* The name at pos in text form (lower case untouched); 0 ok, -1 malformed. */
static int expand(const unsigned char *msg, size_t len, size_t pos, char *out)
{
	if (pos >= len) return -1;
	return dn_expand(msg, msg + len, msg + pos, out, DNS_NAME_MAX) < 0 ? -1 : 0;
}

static int walk_init(struct walk *w, const unsigned char *msg, size_t len)
{
	size_t pos = 12, k, qd, an;

	w->msg = msg;
	w->len = len;
	w->n = 0;
	if (len < 12) return -1;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (k = 0; k < qd; k++) {
		size_t s = skipname(msg, len, pos);
		if (!s || len - pos < s + 4) return -1;
		pos += s + 4;
	}
	for (k = 0; k < an; k++) {
		size_t s = skipname(msg, len, pos);
		unsigned rdlen;
		if (!s || len - pos < s + 10) return -1;
		rdlen = get16(msg + pos + s + 8);
		if (len - pos - s - 10 < rdlen) return -1;
		if (w->n < ANSWER_RR_MAX) {
			w->rr[w->n].owner = pos;
			w->rr[w->n].type = get16(msg + pos + s);
			w->rr[w->n].rdata = pos + s + 10;
			w->rr[w->n].rdlen = rdlen;
			/* class: only IN counts */
			if (get16(msg + pos + s + 2) == C_IN) w->n++;
		}
		pos += s + 10 + rdlen;
	}
	return 0;
}

/* The name the records of interest belong to: qname, or the end of the
 * CNAME chain that starts there. -1 malformed or a loop too long. */
static int canonical(const struct walk *w, const char *qname, char *cur)
{
	char owner[DNS_NAME_MAX], target[DNS_NAME_MAX];
	size_t i, hops;

	if (strlen(qname) >= DNS_NAME_MAX) return -1;
	memcpy(cur, qname, strlen(qname) + 1);
	for (hops = 0; hops <= DNS_CNAME_MAX; hops++) {
		int moved = 0;
		for (i = 0; i < w->n; i++) {
			if (w->rr[i].type != T_CNAME) continue;
			if (expand(w->msg, w->len, w->rr[i].owner, owner) < 0) return -1;
			if (!dns_name_eq(owner, cur)) continue;
			if (expand(w->msg, w->len, w->rr[i].rdata, target) < 0) return -1;
			memcpy(cur, target, strlen(target) + 1);
			moved = 1;
			break;
		}
		if (!moved) return 0;
	}
	return -1;
}

/* Call f for every record of type t owned by the canonical name. Returns
 * DNS_FOUND when f accepted one, DNS_NODATA when none, DNS_SOFT when the
 * message is malformed or f failed. */
typedef int rr_fn(void *ctx, const unsigned char *msg, size_t len, const struct rr *r);

static int each(const unsigned char *msg, size_t len, const char *qname, unsigned t, rr_fn *f, void *ctx)
{
	static struct walk w;
	char cur[DNS_NAME_MAX], owner[DNS_NAME_MAX];
	size_t i;
	int found = 0, r;

	if (walk_init(&w, msg, len) < 0 || canonical(&w, qname, cur) < 0) return DNS_SOFT;
	for (i = 0; i < w.n; i++) {
		if (w.rr[i].type != t) continue;
		if (expand(msg, len, w.rr[i].owner, owner) < 0) return DNS_SOFT;
		if (!dns_name_eq(owner, cur)) continue;
		r = f(ctx, msg, len, &w.rr[i]);
		if (r < 0) return DNS_SOFT;
		if (r > 0) found = 1;
	}
	return found ? DNS_FOUND : DNS_NODATA;
}

static int onmx(void *ctx, const unsigned char *msg, size_t len, const struct rr *r)
{
	dns_mxlist *l = ctx;
	dns_mxrec *m;
	if (r->rdlen < 3) return -1;
	if (l->n >= DNS_MX_MAX) return 0;
	m = &l->mx[l->n];
	m->pref = get16(msg + r->rdata);
	if (expand(msg, len, r->rdata + 2, m->name) < 0) return -1;
	/* dn_expand writes the root as "" (some versions as "."): one form */
	if (!strcmp(m->name, ".")) m->name[0] = 0;
	l->n++;
	return 1;
}

struct ipctx { dns_iplist *l; int family; };

static int onip(void *ctx, const unsigned char *msg, size_t len, const struct rr *r)
{
	struct ipctx *c = ctx;
	size_t want = c->family == AF_INET6 ? 16 : 4;
	ipaddr *ip;
	(void)len;
	if (r->rdlen != want) return -1;
	if (c->l->n >= DNS_IP_MAX) return 0;
	ip = &c->l->ip[c->l->n++];
	memset(ip, 0, sizeof *ip);
	ip->family = c->family;
	memcpy(ip->a, msg + r->rdata, want);
	return 1;
}

static int ontlsa(void *ctx, const unsigned char *msg, size_t len, const struct rr *r)
{
	dns_tlsalist *l = ctx;
	dns_tlsarec *t;
	(void)len;
	if (r->rdlen < 3) return -1;
	/* a record too big to keep or past the limit: not usable, not an error */
	if (l->n >= DNS_TLSA_MAX || r->rdlen - 3 > DNS_TLSA_DATA_MAX) return 0;
	t = &l->t[l->n++];
	t->usage = msg[r->rdata];
	t->selector = msg[r->rdata + 1];
	t->mtype = msg[r->rdata + 2];
	t->len = r->rdlen - 3;
	memcpy(t->data, msg + r->rdata + 3, t->len);
	return 1;
}

int dns_parse_mx(const unsigned char *msg, size_t len, const char *qname, dns_mxlist *out)
{
	out->n = 0;
	return each(msg, len, qname, T_MX, onmx, out);
}

int dns_parse_ip(const unsigned char *msg, size_t len, const char *qname, int family, dns_iplist *out)
{
	struct ipctx c;
	out->n = 0;
	c.l = out;
	c.family = family;
	return each(msg, len, qname, family == AF_INET6 ? T_AAAA : T_A, onip, &c);
}

int dns_parse_tlsa(const unsigned char *msg, size_t len, const char *qname, dns_tlsalist *out, int *ad)
{
	out->n = 0;
	*ad = len >= 4 && (msg[3] & 0x20);
	return each(msg, len, qname, 52 /* T_TLSA */, ontlsa, out);
}

/* The first usable PTR wins: a host has one name for us, as tcpserver
 * and qmail's dns_ptr take it. */
static int onptr(void *ctx, const unsigned char *msg, size_t len, const struct rr *r)
{
	char *out = ctx;
	size_t n;
	if (*out) return 0;
	if (expand(msg, len, r->rdata, out) < 0) return -1;
	n = strlen(out);
	if (n && out[n - 1] == '.') out[--n] = 0;
	return n ? 1 : 0;      /* the root is no host name */
}

int dns_parse_ptr(const unsigned char *msg, size_t len, const char *qname, char *out)
{
	int r;
	out[0] = 0;
	r = each(msg, len, qname, T_PTR, onptr, out);
	if (r != DNS_FOUND) out[0] = 0;
	return r;
}

void dns_ptr_name(char *out, const ipaddr *ip)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	int i;
	if (ip->family == AF_INET) {
		for (i = 3; i >= 0; i--) {
			n += fmt_ulong(out + n, ip->a[i]);
			out[n++] = '.';
		}
		memcpy(out + n, "in-addr.arpa", 13);
		return;
	}
	for (i = 15; i >= 0; i--) {
		out[n++] = hex[ip->a[i] & 15];
		out[n++] = '.';
		out[n++] = hex[ip->a[i] >> 4];
		out[n++] = '.';
	}
	memcpy(out + n, "ip6.arpa", 9);
}

/* ---- the resolver ----------------------------------------------------- */

static int whys(buf *why, const char *a, const char *b)
{
	if (why && (buf_copys(why, a) < 0 || buf_puts(why, b ? b : "") < 0)) why->len = 0;
	return -1;
}

/* One line of control/dnsservers into server number i. */
static int server(const char *line, int i)
{
	size_t n = strlen(line), end = n, pstart = n;
	const char *a = line;
	unsigned long port = 53;
	ipaddr ip;

	if (line[0] == '[') {
		size_t k = byte_chr(line, n, ']');
		if (k == n) return -1;
		a = line + 1;
		end = k - 1;
		if (k + 1 < n) {
			if (line[k + 1] != ':') return -1;
			pstart = k + 2;
		}
	} else {
		size_t k = byte_chr(line, n, ':');
		/* one colon: IPv4 with a port; more: a bare IPv6 address */
		if (k < n && byte_chr(line + k + 1, n - k - 1, ':') == n - k - 1) {
			end = k;
			pstart = k + 1;
		}
	}
	if (pstart < n && (scan_ulong(line + pstart, n - pstart, &port) != n - pstart || !port || port > 65535))
		return -1;
	if (ipaddr_scan(&ip, a, end) < 0) return -1;
	if (ip.family == AF_INET) {
		memset(&rs.nsaddr_list[i], 0, sizeof rs.nsaddr_list[i]);
		rs.nsaddr_list[i].sin_family = AF_INET;
		rs.nsaddr_list[i].sin_port = htons((unsigned short)port);
		memcpy(&rs.nsaddr_list[i].sin_addr, ip.a, 4);
		rs._u._ext.nsaddrs[i] = 0;
	} else {
		struct sockaddr_in6 *s6 = calloc(1, sizeof *s6);
		if (!s6) return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		memcpy(&s6->sin6_addr, ip.a, 16);
		/* glibc takes an IPv6 server from _ext.nsaddrs when the IPv4
		 * slot's family is 0 */
		memset(&rs.nsaddr_list[i], 0, sizeof rs.nsaddr_list[i]);
		rs._u._ext.nsaddrs[i] = s6;
	}
	return 0;
}

int dns_init(buf *why)
{
	buf lines = BUF_INIT;
	const char *p;
	int r, i = 0;

	if (ready) return 0;
	memset(&rs, 0, sizeof rs);
	if (res_ninit(&rs) < 0) return whys(why, "unable to initialise the resolver", 0);
	r = control_readlines(&lines, "dnsservers");
	if (r < 0) { buf_free(&lines); return whys(why, "unable to read control/dnsservers: ", strerror(errno)); }
	if (r > 0 && lines.len) {
		/* our list replaces resolv.conf's */
		res_nclose(&rs);
		for (i = 0; i < MAXNS; i++) rs._u._ext.nsaddrs[i] = 0;
		i = 0;
		for (p = 0; (p = list_next(&lines, p)); ) {
			if (i >= DNS_SERVERS_MAX || i >= MAXNS) break;
			if (server(p, i) < 0) {
				whys(why, "malformed line in control/dnsservers: ", p);
				buf_free(&lines);
				return -1;
			}
			i++;
		}
		rs.nscount = i;
		rs._u._ext.nscount = 0;   /* the resolver sets its sockets up afresh */
		rs.options |= RES_TRUSTAD;
		configured = 1;
	}
	buf_free(&lines);
	rs.options |= RES_USE_EDNS0;
	rs.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	ready = 1;
	return 0;
}

int dns_configured(void) { return configured; }

/* Ask; the answer is in answer[0..*n). */
static int query(const char *name, int type, size_t *n, buf *why)
{
	int r;
	if (!ready && dns_init(why) < 0) return DNS_SOFT;
	if (!*name || strlen(name) >= DNS_NAME_MAX - 1) {
		whys(why, "bad domain name", 0);
		return DNS_NX;
	}
	rs.res_h_errno = 0;
	r = res_nquery(&rs, name, C_IN, type, answer, sizeof answer);
	if (r < 0) {
		switch (rs.res_h_errno) {
		case HOST_NOT_FOUND: return DNS_NX;
		case NO_DATA: return DNS_NODATA;
		case TRY_AGAIN: whys(why, "DNS server failure or timeout", 0); return DNS_SOFT;
		case NO_RECOVERY: whys(why, "DNS server refused or did not understand the query", 0); return DNS_SOFT;
		default: whys(why, "DNS lookup failed: ", strerror(errno ? errno : EIO)); return DNS_SOFT;
		}
	}
	*n = (size_t)r;
	if (*n > sizeof answer) *n = sizeof answer;   /* a truncated copy: the parser says so */
	return DNS_FOUND;
}

int dns_mx(const char *name, dns_mxlist *out, buf *why)
{
	size_t n;
	int r;
	out->n = 0;
	r = query(name, T_MX, &n, why);
	if (r != DNS_FOUND) return r;
	r = dns_parse_mx(answer, n, name, out);
	if (r == DNS_SOFT) whys(why, "malformed DNS answer", 0);
	return r;
}

int dns_ip(const char *name, int family, dns_iplist *out, buf *why)
{
	dns_iplist got;
	size_t n, i;
	int r;
	r = query(name, family == AF_INET6 ? T_AAAA : T_A, &n, why);
	if (r != DNS_FOUND) return r;
	r = dns_parse_ip(answer, n, name, family, &got);
	if (r == DNS_SOFT) whys(why, "malformed DNS answer", 0);
	for (i = 0; i < got.n && out->n < DNS_IP_MAX; i++) out->ip[out->n++] = got.ip[i];
	return r;
}

int dns_query(const char *name, int type, const unsigned char **msg, size_t *len, buf *why)
{
	int r = query(name, type, len, why);
	*msg = answer;
	if (r != DNS_FOUND) *len = 0;
	return r;
}

int dns_tlsa(const char *name, dns_tlsalist *out, int *secure, buf *why)
{
	size_t n;
	int r, ad = 0;
	out->n = 0;
	*secure = 0;
	r = query(name, 52 /* T_TLSA */, &n, why);
	if (r == DNS_NODATA || r == DNS_NX) {
		/* glibc does not tell us whether a denial was signed: the
		 * caller treats "no record" as "not secure" */
		return r;
	}
	if (r != DNS_FOUND) return r;
	r = dns_parse_tlsa(answer, n, name, out, &ad);
	if (r == DNS_SOFT) whys(why, "malformed DNS answer", 0);
	*secure = ad && (rs.options & RES_TRUSTAD);
	return r;
}

int dns_ptr(const ipaddr *ip, char *out, buf *why)
{
	char name[DNS_NAME_MAX];
	size_t n;
	int r;
	out[0] = 0;
	dns_ptr_name(name, ip);
	r = query(name, T_PTR, &n, why);
	if (r != DNS_FOUND) return r;
	r = dns_parse_ptr(answer, n, name, out);
	if (r == DNS_SOFT) whys(why, "malformed DNS answer", 0);
	return r;
}
