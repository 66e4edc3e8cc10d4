/* fuzz-bounce: the bounce written from an arbitrary bounce/N file
 * (src/mail/bounce.c): blocks, status codes, the triple-bounce test, the
 * block-by-block reading of VERP bounces. Besides not crashing: the
 * output always ends with the closing boundary, and the blocks found
 * lie end to end inside the file. */
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
	{
		io_in in;
		bounce_blk blk = BOUNCE_BLK_INIT;
		unsigned long long pos = 0, end = 0;
		int k;
		lseek(ff, 0, SEEK_SET);
		in_init(&in, ff, 0);
		while ((k = bounce_nextblk(&in, &pos, &blk)) == 1) {
			off_t at = lseek(ff, 0, SEEK_CUR);   /* the reader's, past its buffer */
			if (blk.off < end || blk.off + blk.len != pos || pos > size || !blk.len) abort();
			end = pos;
			m.blkoff = blk.off;
			m.blklen = blk.len;
			if (ftruncate(fo, 0) < 0 || lseek(fo, 0, SEEK_SET) < 0 || lseek(fm, 0, SEEK_SET) < 0) abort();
			out_init(&out, fo, 0);
			if (bounce_write(&out, &m, ff, fm) < 0) abort();
			if (at < 0 || lseek(ff, at, SEEK_SET) < 0) abort();
		}
		if (k < 0) abort();
		buf_free(&blk.addr);
	}
	bounce_status((const char *)data, size, st);
	if (strlen(st) < 5 || strlen(st) > 11) abort();
	if (bounce_block(&b, "r@x", (const char *)data, size) < 0) abort();
	buf_free(&b);
	close(ff); close(fm); close(fo);
	return 0;
}
