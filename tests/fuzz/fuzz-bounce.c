/* fuzz-bounce: the bounce written from an arbitrary bounce/N file
 * (src/mail/bounce.c): blocks, status codes, the triple-bounce test.
 * Besides not crashing: the output always holds the QSBMF greeting and
 * ends with the closing boundary. */
#include "mail/bounce.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfile(const void *p, size_t n)
{
	int fd = memfd_create("fuzz", 0);
	if (fd < 0) abort();
	if (n && write(fd, p, n) != (ssize_t)n) abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int ff = memfile(data, size), fm = memfile("Subject: x\n\nbody\n", 17), fo = memfile("", 0);
	io_out out;
	bounce_msg m;
	char st[12], tail[32];
	buf b = BUF_INIT;
	off_t n;

	memset(&m, 0, sizeof m);
	m.host = "mx.test";
	m.fromuser = "MAILER-DAEMON";
	m.to = m.sender = "a@b.test";
	m.boundary = "B-fuzz";
	out_init(&out, fo, 0);
	if (bounce_write(&out, &m, ff, fm) < 0) abort();
	n = lseek(fo, 0, SEEK_END);
	if (n < 20 || pread(fo, tail, 12, n - 12) != 12 || memcmp(tail, "\n--B-fuzz--\n", 12)) abort();
	if (bounce_only_to(ff, "postmaster@mx.test") < 0) abort();
	bounce_status((const char *)data, size, st);
	if (strlen(st) < 5 || strlen(st) > 11) abort();
	if (bounce_block(&b, "r@x", (const char *)data, size) < 0) abort();
	buf_free(&b);
	close(ff); close(fm); close(fo);
	return 0;
}
