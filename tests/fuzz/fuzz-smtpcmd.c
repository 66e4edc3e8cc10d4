/* fuzz-smtpcmd: the SMTP command reader on arbitrary bytes: smtp_verb
 * and, on whatever follows the verb, the parameter iterator smtp_param.
 * Promises checked: the argument offset stays inside the line; every
 * parameter lies inside the line, has a nonempty key of letters, digits
 * and '-' and a value without blanks, controls or '='; the iterator
 * always advances and ends. */
#include "mail/smtpin.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *k, *v;
	size_t arg, pos, kl, vl, i, last;
	int r;

	smtp_verb(s, size, &arg);
	if (arg > size) abort();
	pos = arg;
	for (;;) {
		last = pos;
		r = smtp_param(s, size, &pos, &k, &kl, &v, &vl);
		if (r <= 0) break;
		if (pos <= last || pos > size) abort();
		if (k < s || k + kl > s + size || v < s || v + vl > s + size || kl == 0) abort();
		for (i = 0; i < kl; i++) {
			char c = k[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) abort();
		}
		for (i = 0; i < vl; i++) {
			unsigned char c = (unsigned char)v[i];
			if (c <= 32 || c == 127 || c == '=') abort();
		}
	}
	return 0;
}
