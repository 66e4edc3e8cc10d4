/* ratelimit: "at most max events per window seconds" per key, shared by
 * unrelated processes through one small file per key in a directory.
 *
 * The count is kept for fixed windows: a file holds "start count", and
 * a window that is over starts again at zero. Each check-and-count is
 * done under an exclusive lock on the file, so parallel sessions of one
 * user count together. File names are a 64-bit hash of the key in hex,
 * so any key is safe as a name. */
#ifndef NQ_RATELIMIT_H
#define NQ_RATELIMIT_H
#include <stddef.h>
#include <time.h>

/* With take 0, only look: 1 an event is allowed now, 0 the limit is
 * reached. With take 1, also count one event when allowed.
 * -1: trouble with dir or the file (errno). */
int ratelimit(const char *dir, const char *key, size_t kl, unsigned long max,
              unsigned long window, int take, time_t now);

#endif
