/* Unit tests for src/mail/dns.c's answer parser, on messages built here:
 * MX, A, AAAA, TLSA, CNAME chains (and loops), null MX, foreign owners,
 * malformed and truncated messages.
 *
 * Given arguments it is a lookup tool for the system tests in
 * tests/system/dns/ (NQMAIL_HOME names the instance whose
 * control/dnsservers applies):
 *     dns.t mx NAME | a NAME | aaaa NAME | tlsa NAME
 * prints one line per record, or "nodata", "nx", "soft: reason". */
#include "tap.h"
#include "mail/dns.h"
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static unsigned char m[4096];
static size_t ml;

static void put16(unsigned v) { m[ml++] = (unsigned char)(v >> 8); m[ml++] = (unsigned char)v; }
static void putname(const char *n)
{
	while (*n) {
		const char *d = strchr(n, '.');
		size_t l = d ? (size_t)(d - n) : strlen(n);
		m[ml++] = (unsigned char)l;
		memcpy(m + ml, n, l);
		ml += l;
		n += l;
		if (*n == '.') n++;
	}
	m[ml++] = 0;
}
static void header(const char *q, unsigned qtype, unsigned an, int ad)
{
	ml = 0;
	put16(0x1234);
	put16(0x8180 | (ad ? 0x20 : 0));
	put16(1); put16(an); put16(0); put16(0);
	putname(q); put16(qtype); put16(1);
}
/* A record's start; returns where rdlength goes. */
static size_t rr(const char *owner, unsigned type)
{
	size_t at;
	if (owner) putname(owner);
	else { m[ml++] = 0xc0; m[ml++] = 12; }   /* pointer to the question */
	put16(type); put16(1); put16(0); put16(300);
	at = ml;
	put16(0);
	return at;
}
static void rdend(size_t at) { size_t n = ml - at - 2; m[at] = (unsigned char)(n >> 8); m[at + 1] = (unsigned char)n; }

static int tool(int argc, char **argv)
{
	buf why = BUF_INIT;
	int r = DNS_SOFT;
	size_t i;
	char t[IPADDR_FMT];
	static dns_mxlist mx;
	static dns_iplist ip;
	static dns_tlsalist tl;
	int secure = 0;

	if (argc != 3) { fprintf(stderr, "usage: dns.t mx|a|aaaa|tlsa name\n"); return 100; }
	if (dns_init(&why) < 0) { printf("soft: %s\n", why.s); return 0; }
	if (!strcmp(argv[1], "mx")) r = dns_mx(argv[2], &mx, &why);
	else if (!strcmp(argv[1], "a") || !strcmp(argv[1], "aaaa")) {
		ip.n = 0;
		r = dns_ip(argv[2], argv[1][1] == 'a' ? AF_INET6 : AF_INET, &ip, &why);
	} else if (!strcmp(argv[1], "tlsa")) r = dns_tlsa(argv[2], &tl, &secure, &why);
	if (r == DNS_NX) { printf("nx\n"); return 0; }
	if (r == DNS_NODATA) { printf("nodata\n"); return 0; }
	if (r == DNS_SOFT) { printf("soft: %s\n", why.len ? why.s : "?"); return 0; }
	if (!strcmp(argv[1], "mx"))
		for (i = 0; i < mx.n; i++) printf("%u %s\n", mx.mx[i].pref, mx.mx[i].name[0] ? mx.mx[i].name : ".");
	else if (!strcmp(argv[1], "tlsa")) {
		printf("secure %d\n", secure);
		for (i = 0; i < tl.n; i++) printf("%u %u %u %zu\n", tl.t[i].usage, tl.t[i].selector, tl.t[i].mtype, tl.t[i].len);
	} else
		for (i = 0; i < ip.n; i++) { ipaddr_fmt(t, &ip.ip[i]); printf("%s\n", t); }
	return 0;
}

int main(int argc, char **argv)
{
	static dns_mxlist mx;
	static dns_iplist ip;
	static dns_tlsalist tl;
	size_t at, cut;
	int ad, r;

	if (argc > 1) return tool(argc, argv);

	/* two MX records, the second owner written out, the first compressed */
	header("example.test", T_MX, 2, 0);
	at = rr(0, T_MX); put16(10); putname("mx1.example.test"); rdend(at);
	at = rr("EXAMPLE.test", T_MX); put16(20); m[ml++] = 3; memcpy(m + ml, "mx2", 3); ml += 3; m[ml++] = 0xc0; m[ml++] = 12; rdend(at);
	r = dns_parse_mx(m, ml, "example.test", &mx);
	ok(r == DNS_FOUND && mx.n == 2, "two MX records");
	ok(mx.mx[0].pref == 10 && !strcmp(mx.mx[0].name, "mx1.example.test"), "first MX");
	ok(mx.mx[1].pref == 20 && !strcmp(mx.mx[1].name, "mx2.example.test"), "second MX, compressed, owner case ignored");
	ok(dns_parse_mx(m, ml, "example.test.", &mx) == DNS_FOUND && mx.n == 2, "final dot in qname ignored");

	/* truncated at every length: never FOUND with garbage, never a crash */
	for (cut = 0, r = 0; cut < ml; cut++)
		if (dns_parse_mx(m, cut, "example.test", &mx) == DNS_FOUND) r++;
	ok(r == 0, "truncated messages are malformed");

	/* null MX */
	header("nomail.test", T_MX, 1, 0);
	at = rr(0, T_MX); put16(0); m[ml++] = 0; rdend(at);
	r = dns_parse_mx(m, ml, "nomail.test", &mx);
	ok(r == DNS_FOUND && mx.n == 1 && mx.mx[0].pref == 0 && mx.mx[0].name[0] == 0, "null MX is an empty name");

	/* a record for another owner is not ours */
	header("a.test", T_A, 1, 0);
	at = rr("evil.test", T_A); m[ml++] = 1; m[ml++] = 2; m[ml++] = 3; m[ml++] = 4; rdend(at);
	ok(dns_parse_ip(m, ml, "a.test", AF_INET, &ip) == DNS_NODATA, "record of another owner ignored");

	/* CNAME chain a.test -> b.test -> c.test, then A for c.test */
	header("a.test", T_A, 4, 0);
	at = rr("c.test", T_A); m[ml++] = 10; m[ml++] = 0; m[ml++] = 0; m[ml++] = 3; rdend(at);
	at = rr("b.test", T_CNAME); putname("c.test"); rdend(at);
	at = rr(0, T_CNAME); putname("b.test"); rdend(at);
	at = rr("b.test", T_A); m[ml++] = 10; m[ml++] = 0; m[ml++] = 0; m[ml++] = 2; rdend(at);
	r = dns_parse_ip(m, ml, "a.test", AF_INET, &ip);
	ok(r == DNS_FOUND && ip.n == 1 && ip.ip[0].a[3] == 3, "CNAME chain followed to its end, in any order");

	/* CNAME loop */
	header("a.test", T_A, 2, 0);
	at = rr(0, T_CNAME); putname("b.test"); rdend(at);
	at = rr("b.test", T_CNAME); putname("a.test"); rdend(at);
	ok(dns_parse_ip(m, ml, "a.test", AF_INET, &ip) == DNS_SOFT, "CNAME loop is an error");

	/* AAAA, and an A record of the wrong length */
	header("six.test", T_AAAA, 1, 0);
	at = rr(0, T_AAAA);
	{ unsigned char a6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}; memcpy(m + ml, a6, 16); ml += 16; }
	rdend(at);
	r = dns_parse_ip(m, ml, "six.test", AF_INET6, &ip);
	ok(r == DNS_FOUND && ip.n == 1 && ip.ip[0].family == AF_INET6 && ip.ip[0].a[0] == 0xfd, "AAAA");
	header("bad.test", T_A, 1, 0);
	at = rr(0, T_A); m[ml++] = 1; m[ml++] = 2; m[ml++] = 3; rdend(at);
	ok(dns_parse_ip(m, ml, "bad.test", AF_INET, &ip) == DNS_SOFT, "A of 3 bytes is malformed");

	/* TLSA with the AD bit */
	header("_25._tcp.mx.test", 52, 1, 1);
	at = rr(0, 52); m[ml++] = 3; m[ml++] = 1; m[ml++] = 1; memset(m + ml, 0xab, 32); ml += 32; rdend(at);
	r = dns_parse_tlsa(m, ml, "_25._tcp.mx.test", &tl, &ad);
	ok(r == DNS_FOUND && tl.n == 1 && tl.t[0].usage == 3 && tl.t[0].selector == 1 &&
	   tl.t[0].mtype == 1 && tl.t[0].len == 32 && tl.t[0].data[31] == 0xab && ad == 1, "TLSA 3 1 1 with AD");

	/* a compression pointer loop in a name */
	header("loop.test", T_MX, 1, 0);
	at = rr(0, T_MX); put16(5); m[ml] = 0xc0; m[ml + 1] = (unsigned char)ml; ml += 2; rdend(at);
	ok(dns_parse_mx(m, ml, "loop.test", &mx) == DNS_SOFT, "compression loop is malformed");

	/* more records than kept: the first DNS_MX_MAX */
	header("many.test", T_MX, 100, 0);
	for (r = 0; r < 100; r++) { at = rr(0, T_MX); put16((unsigned)r); m[ml++] = 0xc0; m[ml++] = 12; rdend(at); }
	ok(dns_parse_mx(m, ml, "many.test", &mx) == DNS_FOUND && mx.n == DNS_MX_MAX, "MX list bounded");

	ok(dns_name_eq("Example.TEST.", "example.test") && !dns_name_eq("example.test", "xexample.test"), "name comparison");
	return done_testing();
}
