/* Unit tests for the PTR part of src/mail/dns.c (used by tcp-env): the
 * reverse names of IPv4 and IPv6 addresses, and the PTR answer parser on
 * messages built here (plain, RFC 2317 CNAME delegation, a final dot, the
 * root, a foreign owner, several records, malformed and truncated). */
#include "tap.h"
#include "mail/dns.h"
#include <arpa/nameser.h>
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
static void header(const char *q, unsigned an)
{
	ml = 0;
	put16(0x1234); put16(0x8180);
	put16(1); put16(an); put16(0); put16(0);
	putname(q); put16(T_PTR); put16(1);
}
/* A record whose rdata is one name. */
static void rrname(const char *owner, unsigned type, const char *target)
{
	size_t at, n;
	putname(owner);
	put16(type); put16(1); put16(0); put16(300);
	at = ml;
	put16(0);
	putname(target);
	n = ml - at - 2;
	m[at] = (unsigned char)(n >> 8);
	m[at + 1] = (unsigned char)n;
}

int main(void)
{
	char out[DNS_NAME_MAX];
	ipaddr ip;
	const char *q4 = "1.2.0.192.in-addr.arpa";

	ipaddr_scan(&ip, "192.0.2.1", 9);
	dns_ptr_name(out, &ip);
	ok(!strcmp(out, q4), "IPv4 reverse name");
	ipaddr_scan(&ip, "2001:db8::567:89ab", 18);
	dns_ptr_name(out, &ip);
	ok(!strcmp(out, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
	   "IPv6 reverse name: 32 nibbles, lowest first");
	ok(strlen(out) == 72, "IPv6 reverse name length");

	header(q4, 1);
	rrname(q4, T_PTR, "host.example.test");
	ok(dns_parse_ptr(m, ml, q4, out) == DNS_FOUND && !strcmp(out, "host.example.test"), "one PTR");
	ok(dns_parse_ptr(m, ml, "2.2.0.192.in-addr.arpa", out) == DNS_NODATA && !out[0],
	   "a PTR for another name is not ours");

	header(q4, 2);
	rrname(q4, T_CNAME, "1.0/25.2.0.192.in-addr.arpa");
	rrname("1.0/25.2.0.192.in-addr.arpa", T_PTR, "classless.example.test");
	ok(dns_parse_ptr(m, ml, q4, out) == DNS_FOUND && !strcmp(out, "classless.example.test"),
	   "RFC 2317: the PTR at the end of the CNAME");

	header(q4, 2);
	rrname(q4, T_PTR, "first.example.test");
	rrname(q4, T_PTR, "second.example.test");
	ok(dns_parse_ptr(m, ml, q4, out) == DNS_FOUND && !strcmp(out, "first.example.test"),
	   "several PTRs: the first");

	header(q4, 2);
	rrname(q4, T_PTR, "");
	rrname(q4, T_PTR, "after.root.test");
	ok(dns_parse_ptr(m, ml, q4, out) == DNS_FOUND && !strcmp(out, "after.root.test"),
	   "a PTR to the root is no host name");

	header(q4, 1);
	rrname(q4, T_PTR, "");
	ok(dns_parse_ptr(m, ml, q4, out) == DNS_NODATA && !out[0], "only the root: no name");

	header(q4, 0);
	ok(dns_parse_ptr(m, ml, q4, out) == DNS_NODATA, "no answer records");

	header(q4, 1);
	rrname(q4, T_PTR, "host.example.test");
	ok(dns_parse_ptr(m, ml - 3, q4, out) == DNS_SOFT && !out[0], "truncated: soft, no name");
	m[ml - 6] = 60;   /* the last label (4 "test") now runs past the end */
	ok(dns_parse_ptr(m, ml, q4, out) == DNS_SOFT, "malformed name: soft");
	ok(dns_parse_ptr(m, 5, q4, out) == DNS_SOFT, "shorter than a header: soft");
	return done_testing();
}
