/* lockslot: "at most N at once per key" across unrelated processes,
 * with nothing to clean up after a crash.
 *
 * Each key (an IP address, say) hashes to a range of N bytes in one lock
 * file; holding a slot is holding a POSIX write lock on one of those
 * bytes. The kernel drops the lock when the process exits, however it
 * exits, so a count can never leak. Locks beyond the end of the file are
 * fine, so the file stays empty. Two keys whose hashes collide share
 * their slots: the limit is then stricter, never looser; the table is
 * large enough that this is rare.
 *
 * A process must keep fd open, and must not open and close the same file
 * elsewhere: closing any descriptor of the file drops its locks. Locks
 * are not inherited by children. */
#ifndef NQ_LOCKSLOT_H
#define NQ_LOCKSLOT_H
#include <stddef.h>

#define LOCKSLOT_BUCKETS 65521UL

/* Take a free slot among max for key. Returns the slot number, or -1:
 * errno EAGAIN when all max are taken, another errno on trouble. */
long lockslot_take(int fd, const char *key, size_t kl, unsigned long max);

#endif
