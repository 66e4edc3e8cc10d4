/* ratelimit: fixed-window counters in files (see ratelimit.h). */
#include "lib/ratelimit.h"
#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int ratelimit(const char *dir, const char *key, size_t kl, unsigned long max,
              unsigned long window, int take, time_t now)
{
	unsigned long long h = 14695981039346656037ULL;
	unsigned long start = 0, count = 0;
	char name[17], state[64];
	buf path = BUF_INIT;
	ssize_t r;
	size_t k, u;
	int fd, allowed, e;

	for (k = 0; k < kl; k++) {
		h ^= (unsigned char)key[k];
		h *= 1099511628211ULL;
	}
	for (k = 0; k < 16; k++) name[k] = "0123456789abcdef"[(h >> (60 - 4 * k)) & 15];
	name[16] = 0;
	if (buf_copys(&path, dir) < 0 || buf_putc(&path, '/') < 0 || buf_puts(&path, name) < 0) return -1;
	fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	buf_free(&path);
	if (fd < 0) return -1;
	if (lock_ex(fd) < 0) goto fail;
	r = pread(fd, state, sizeof state - 1, 0);
	if (r < 0) goto fail;
	state[r] = 0;
	/* "start count"; anything unreadable starts afresh */
	u = scan_ulong(state, (size_t)r, &start);
	if (u && state[u] == ' ') {
		if (!scan_ulong(state + u + 1, (size_t)r - u - 1, &count)) start = 0;
	} else start = 0;
	if (!start || (unsigned long)now < start || (unsigned long)now - start >= window) {
		start = (unsigned long)now;
		count = 0;
	}
	allowed = count < max;
	if (allowed && take) {
		count++;
		k = fmt_ulong(state, start);
		state[k++] = ' ';
		k += fmt_ulong(state + k, count);
		state[k++] = '\n';
		if (pwrite(fd, state, k, 0) != (ssize_t)k || ftruncate(fd, (off_t)k) < 0) goto fail;
	}
	close(fd);
	return allowed;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}
