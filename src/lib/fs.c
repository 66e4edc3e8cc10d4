/* fs: fsync of directories, atomic replacement, locks, descriptor flags. */
#include "lib/fs.h"
#include "lib/buf.h"
#include "lib/io.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;
	if (fd < 0) return -1;
	r = fsync(fd);
	if (r < 0 && errno == EINVAL) r = 0;  /* filesystems without dir fsync */
	close(fd);
	return r;
}

int fsync_parent(const char *path)
{
	buf d = BUF_INIT;
	size_t i = strlen(path);
	int r;
	while (i > 0 && path[i - 1] != '/') i--;
	if (i == 0) return fsync_dir(".");
	if (buf_copy(&d, path, i) < 0) return -1;
	r = fsync_dir(d.s);
	buf_free(&d);
	return r;
}

int file_replace(const char *path, const void *data, size_t n, mode_t mode)
{
	buf tmp = BUF_INIT;
	int fd, e;

	if (buf_copys(&tmp, path) < 0 || buf_puts(&tmp, ".tmp") < 0) return -1;
	fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) goto fail;
	if (fchmod(fd, mode) < 0 || write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		e = errno; close(fd); unlink(tmp.s); errno = e;
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp.s, path) < 0) {
		e = errno; unlink(tmp.s); errno = e;
		goto fail;
	}
	buf_free(&tmp);
	return fsync_parent(path);
fail:
	e = errno;
	buf_free(&tmp);
	errno = e;
	return -1;
}

int lock_ex(int fd)
{
	int r;
	do r = flock(fd, LOCK_EX); while (r < 0 && errno == EINTR);
	return r;
}

int lock_exnb(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }
int lock_un(int fd) { return flock(fd, LOCK_UN); }

int fd_cloexec(int fd)
{
	int f = fcntl(fd, F_GETFD);
	if (f < 0) return -1;
	return fcntl(fd, F_SETFD, f | FD_CLOEXEC);
}

int fd_nonblock(int fd, int on)
{
	int f = fcntl(fd, F_GETFL);
	if (f < 0) return -1;
	return fcntl(fd, F_SETFL, on ? (f | O_NONBLOCK) : (f & ~O_NONBLOCK));
}

/* What exec with close-on-exec everywhere would leave, for children
 * that run linked-in code instead of executing a program. */
void fd_closefrom(int fd)
{
	long i, max;
	if (close_range((unsigned)fd, ~0U, 0) == 0) return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536) max = 65536;
	for (i = fd; i < max; i++) close((int)i);
}

int fd_move(int to, int from)
{
	if (to == from) return 0;
	if (dup2(from, to) < 0) return -1;
	close(from);
	return 0;
}
