/* fuzz-dnsptr: the PTR answer parser (src/mail/dns.c, used by tcp-env)
 * on arbitrary bytes, as a hostile server could answer a reverse lookup.
 * Besides not crashing: a FOUND result has a non-empty name that fits,
 * without a final dot; any other result leaves no name. */
#include "mail/dns.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "1.2.0.192.in-addr.arpa", "4.3.2.1.in-addr.arpa",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa" };
	char out[DNS_NAME_MAX];
	size_t i, n;
	int r;

	for (i = 0; i < sizeof names / sizeof *names; i++) {
		r = dns_parse_ptr(data, size, names[i], out);
		n = strnlen(out, sizeof out);
		if (n >= sizeof out) abort();
		if (r == DNS_FOUND && (!n || out[n - 1] == '.')) abort();
		if (r != DNS_FOUND && n) abort();
	}
	return 0;
}
