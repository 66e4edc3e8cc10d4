/* fuzz-dkimsign: the header reading that decides whether a message is
 * signed, on arbitrary bytes. Promises checked: dkimsign_fromdomain
 * never reads outside the input and gives only a domain that may name a
 * directory (no '/', no "..", lower case); dkimsign_message reads any
 * message (as a file, the way qmail-remote has it) without crashing and,
 * with no keys in the instance, signs nothing. */
#include "mail/dkimsign.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	buf d = BUF_INIT, out = BUF_INIT, why = BUF_INIT;
	size_t i;
	int fd;

	/* an instance without control/dkim: nothing is ours */
	setenv("NQMAIL_HOME", "/nonexistent-nqmail-fuzz", 1);
	if (dkimsign_fromdomain((const char *)data, size, &d) == 0) {
		if (!dkimsign_domainok(d.s) || strstr(d.s, "..") || strchr(d.s, '/')) abort();
		for (i = 0; i < d.len; i++) if (d.s[i] >= 'A' && d.s[i] <= 'Z') abort();
	}
	fd = memfd_create("fuzz", 0);
	if (fd >= 0) {
		if (size && write(fd, data, size) != (ssize_t)size) abort();
		if (dkimsign_message(fd, 0, "a@b.test", &out, &why) != 0 || out.len) abort();
		close(fd);
	}
	buf_free(&d);
	buf_free(&out);
	buf_free(&why);
	return 0;
}
