/* maildir: the Maildir delivery protocol and maildirmake (see maildir.h). */
#include "mail/maildir.h"
#include "lib/io.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define MAILDIR_TRIES 10   /* names tried before giving up */

/* The host part of a unique name: the host name with the two characters
 * that would break a maildir name encoded, as maildir readers decode. */
static int hostpart(buf *b)
{
	char host[256];
	size_t i;

	if (gethostname(host, sizeof host - 1) < 0) host[0] = 0;
	host[sizeof host - 1] = 0;
	if (!host[0]) return buf_puts(b, "localhost");
	for (i = 0; host[i]; i++) {
		int r;
		if (host[i] == '/') r = buf_puts(b, "\\057");
		else if (host[i] == ':') r = buf_puts(b, "\\072");
		else r = buf_putc(b, host[i]);
		if (r < 0) return -1;
	}
	return 0;
}

static int uniq(buf *name, unsigned long *counter)
{
	struct timeval tv;

	gettimeofday(&tv, 0);
	name->len = 0;
	if (buf_putnum(name, (unsigned long long)tv.tv_sec) < 0 || buf_puts(name, ".M") < 0 ||
	    buf_putnum(name, (unsigned long long)tv.tv_usec) < 0 || buf_putc(name, 'P') < 0 ||
	    buf_putnum(name, (unsigned long long)getpid()) < 0 || buf_putc(name, 'Q') < 0 ||
	    buf_putnum(name, (*counter)++) < 0 || buf_putc(name, '.') < 0 || hostpart(name) < 0)
		return -1;
	return 0;
}

static void reason(buf *why, const char *a, const char *b, int e)
{
	buf_copys(why, a);
	if (b) buf_puts(why, b);
	if (e) { buf_puts(why, ": "); buf_puts(why, strerror(e)); }
	buf_puts(why, ". (#4.3.0)");
}

/* Write pre and the message to fd; -1 with *rd set when reading failed. */
static int copy(int fd, int msgfd, const char *pre, size_t prelen, int *rd)
{
	io_out out;
	char b[16384];

	*rd = 0;
	out_init(&out, fd, 0);
	if (out_put(&out, pre, prelen) < 0) return -1;
	for (;;) {
		ssize_t r = read(msgfd, b, sizeof b);
		if (r < 0) {
			if (errno == EINTR) continue;
			*rd = 1;
			return -1;
		}
		if (r == 0) break;
		if (out_put(&out, b, (size_t)r) < 0) return -1;
	}
	return out_flush(&out);
}

/* Publish tmp/NAME as new/NAME without ever replacing a file. */
static int publish(int dfd, const char *tmp, const char *new)
{
	if (linkat(dfd, tmp, dfd, new, 0) == 0) return 0;
	if (errno == EEXIST) return -1;
	/* File systems without hard links (some FUSE, vfat): rename that
	 * refuses to replace. */
	if (errno == EPERM || errno == ENOSYS || errno == EOPNOTSUPP || errno == EMLINK)
		return renameat2(dfd, tmp, dfd, new, RENAME_NOREPLACE);
	return -1;
}

int maildir_deliver(int base, const char *dir, int msgfd, const char *pre, size_t prelen,
                    unsigned long *counter, buf *newname, buf *why)
{
	buf name = BUF_INIT, tmp = BUF_INIT, new = BUF_INIT;
	int dfd, fd = -1, ndfd, tries, rd, e, r = -1;

	dfd = openat(base, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		buf_copys(why, "Unable to chdir to maildir ");
		buf_puts(why, dir);
		buf_puts(why, ": ");
		buf_puts(why, strerror(errno));
		buf_puts(why, ". (#4.2.1)");
		return -1;
	}
	if (lseek(msgfd, 0, SEEK_SET) < 0) { reason(why, "Unable to rewind message", 0, errno); goto out; }
	for (tries = 0;; tries++) {
		if (uniq(&name, counter) < 0 || buf_copys(&tmp, "tmp/") < 0 ||
		    buf_put(&tmp, name.s, name.len) < 0) { reason(why, "Out of memory", 0, 0); goto out; }
		fd = openat(dfd, tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) break;
		if (errno != EEXIST || tries >= MAILDIR_TRIES) {
			reason(why, "Unable to create ", tmp.s, errno);
			goto out;
		}
	}
	if (copy(fd, msgfd, pre, prelen, &rd) < 0) {
		e = errno;
		close(fd);
		unlinkat(dfd, tmp.s, 0);
		if (rd) reason(why, "Unable to read message", 0, e);
		else reason(why, "Unable to write maildir file ", tmp.s, e);
		goto out;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		e = errno;
		unlinkat(dfd, tmp.s, 0);
		reason(why, "Unable to write maildir file ", tmp.s, e);
		goto out;
	}
	/* The name in new/ is normally the tmp/ name; should it exist (a
	 * clock step back, say), a fresh name is taken. */
	for (tries = 0;; tries++) {
		if (buf_copys(&new, "new/") < 0 || buf_put(&new, name.s, name.len) < 0) {
			unlinkat(dfd, tmp.s, 0);
			reason(why, "Out of memory", 0, 0);
			goto out;
		}
		if (publish(dfd, tmp.s, new.s) == 0) break;
		e = errno;
		if (e != EEXIST || tries >= MAILDIR_TRIES || uniq(&name, counter) < 0) {
			unlinkat(dfd, tmp.s, 0);
			reason(why, "Unable to link maildir file into ", "new", e);
			goto out;
		}
	}
	ndfd = openat(dfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ndfd < 0 || (fsync(ndfd) < 0 && errno != EINVAL)) {
		/* The file is in new/ but not known durable: report a
		 * temporary failure; a retry may deliver twice, never zero
		 * times. */
		e = errno;
		if (ndfd >= 0) close(ndfd);
		unlinkat(dfd, tmp.s, 0);
		reason(why, "Unable to sync maildir ", "new/", e);
		goto out;
	}
	close(ndfd);
	unlinkat(dfd, tmp.s, 0);   /* a leftover after a rename is harmless */
	if (newname) buf_copy(newname, new.s, new.len);
	r = 0;
out:
	close(dfd);
	buf_free(&name);
	buf_free(&tmp);
	buf_free(&new);
	return r;
}

int maildir_make(const char *dir, const char **what)
{
	static const char *const sub[3] = { "tmp", "new", "cur" };
	int dfd, i;

	*what = dir;
	if (mkdir(dir, 0700) < 0) return -1;
	/* mode 0700 whatever the umask says (a umask can only take away);
	 * by name first, since a umask of 0777 leaves it unopenable */
	dfd = -1;
	if (chmod(dir, 0700) < 0) goto fail;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) goto fail;
	for (i = 0; i < 3; i++) {
		*what = sub[i];
		if (mkdirat(dfd, sub[i], 0700) < 0 || fchmodat(dfd, sub[i], 0700, 0) < 0) goto fail;
	}
	close(dfd);
	return 0;
fail:
	if (dfd >= 0) { int e = errno; close(dfd); errno = e; }
	return -1;
}
