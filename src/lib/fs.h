/* fs: durable file operations.
 * The rule (doc/architecture.md): data is written and fsynced before a
 * link or rename makes it visible, and the directory that gained the entry
 * is fsynced afterwards. These helpers do exactly that and nothing more. */
#ifndef NQ_FS_H
#define NQ_FS_H
#include <stddef.h>
#include <sys/types.h>

int fsync_dir(const char *path);            /* fsync the directory path */
int fsync_parent(const char *path);         /* fsync the directory holding path */
/* Replace path atomically with data: path.tmp written, fsynced, renamed,
 * parent directory fsynced. */
int file_replace(const char *path, const void *data, size_t n, mode_t mode);
int lock_ex(int fd);                        /* blocking exclusive lock */
int lock_exnb(int fd);                      /* non-blocking; -1 EWOULDBLOCK */
int lock_un(int fd);
int fd_cloexec(int fd);
int fd_nonblock(int fd, int on);
int fd_move(int to, int from);              /* dup2 + close */
void fd_closefrom(int fd);                  /* close fd and every descriptor above it */

#endif
