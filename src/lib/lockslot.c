/* lockslot: bounded concurrency per key with byte-range locks (lockslot.h). */
#include "lib/lockslot.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>

long lockslot_take(int fd, const char *key, size_t kl, unsigned long max)
{
	unsigned long long h = 14695981039346656037ULL;
	unsigned long i;
	size_t k;

	if (max == 0 || max > 1000000) { errno = EINVAL; return -1; }
	for (k = 0; k < kl; k++) {
		h ^= (unsigned char)key[k];
		h *= 1099511628211ULL;
	}
	h %= LOCKSLOT_BUCKETS;
	for (i = 0; i < max; i++) {
		struct flock l;
		memset(&l, 0, sizeof l);
		l.l_type = F_WRLCK;
		l.l_whence = SEEK_SET;
		l.l_start = (off_t)(h * max + i);
		l.l_len = 1;
		if (fcntl(fd, F_SETLK, &l) == 0) return (long)i;
		if (errno != EAGAIN && errno != EACCES) return -1;
	}
	errno = EAGAIN;
	return -1;
}
