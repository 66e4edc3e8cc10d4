/* fuzz-dns: the DNS answer parser (src/mail/dns.c) on arbitrary bytes,
 * as a broken or hostile server could answer: MX, A, AAAA and TLSA
 * parsing for a few query names. Besides not crashing: list sizes stay
 * within their limits and a FOUND result has at least one record. */
#include "mail/dns.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static dns_mxlist mx;
	static dns_iplist ip;
	static dns_tlsalist tl;
	static const char *names[] = { "example.test", "a.test", "_25._tcp.mx.test", "." };
	size_t i;
	int ad;

	for (i = 0; i < sizeof names / sizeof *names; i++) {
		if (dns_parse_mx(data, size, names[i], &mx) == DNS_FOUND && !mx.n) abort();
		if (mx.n > DNS_MX_MAX) abort();
		if (dns_parse_ip(data, size, names[i], AF_INET, &ip) == DNS_FOUND && !ip.n) abort();
		if (dns_parse_ip(data, size, names[i], AF_INET6, &ip) == DNS_FOUND && !ip.n) abort();
		if (ip.n > DNS_IP_MAX) abort();
		if (dns_parse_tlsa(data, size, names[i], &tl, &ad) == DNS_FOUND && !tl.n) abort();
		if (tl.n > DNS_TLSA_MAX) abort();
	}
	return 0;
}
