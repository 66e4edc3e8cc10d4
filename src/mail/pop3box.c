/* pop3box: one POP3 session's view of a Maildir (see pop3box.h). */
#include "mail/pop3box.h"
#include "mail/mdlist.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>     /* renameat only */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUBDIR_LEN 4   /* "new/" and "cur/" */

static int subdir(const pop3box *b, const char *name)
{
	return name[0] == 'n' ? b->newd : b->curd;
}

/* Record sub/name (sub "new" or "cur") as message n. */
static int add(pop3box *b, const char *sub, const char *name, off_t size)
{
	pop3entry *e;
	size_t nl = strlen(name);

	if (b->n == b->cap) {
		size_t c = b->cap ? b->cap * 2 : 256;
		pop3entry *m;
		if (c > SIZE_MAX / sizeof *m) { errno = ENOMEM; return -1; }
		m = realloc(b->m, c * sizeof *m);
		if (!m) return -1;
		b->m = m;
		b->cap = c;
	}
	e = &b->m[b->n];
	e->name = b->names.len;
	e->baselen = strcspn(name, ":");
	e->size = size;
	e->deleted = 0;
	if (buf_put(&b->names, sub, 3) < 0 || buf_putc(&b->names, '/') < 0 ||
	    buf_put(&b->names, name, nl) < 0 || buf_put0(&b->names) < 0)
		return -1;
	b->n++;
	return 0;
}

/* A DIR* reading the directory dfd from its start, leaving dfd open. */
static DIR *opendir_at(int dfd)
{
	int fd = dup(dfd);
	DIR *d;

	if (fd < 0) return 0;
	d = fdopendir(fd);
	if (!d) { close(fd); return 0; }
	rewinddir(d);
	return d;
}

static int scan(pop3box *b, int dfd, const char *sub)
{
	DIR *d = opendir_at(dfd);
	struct dirent *e;
	struct stat st;
	int r = 0;

	if (!d) return -1;
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) { if (errno) r = -1; break; }
		if (e->d_name[0] == '.') continue;
		/* lstat semantics: a symbolic link is never a message */
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) continue;   /* moved or deleted meanwhile */
			r = -1;
			break;
		}
		if (!S_ISREG(st.st_mode)) continue;
		if (add(b, sub, e->d_name, st.st_size) < 0) { r = -1; break; }
	}
	if (r < 0) { int k = errno; closedir(d); errno = k; return -1; }
	closedir(d);
	return 0;
}

/* Delivery order; equal base names next to each other, cur/ first. */
static int cmp(const void *x, const void *y, void *arg)
{
	const char *s = arg;
	const pop3entry *a = x, *b = y;
	const char *na = s + a->name, *nb = s + b->name;
	unsigned long ta = mdlist_time(na), tb = mdlist_time(nb);
	unsigned long ua, ub;
	size_t n = a->baselen < b->baselen ? a->baselen : b->baselen;
	int k;

	if (ta != tb) return ta < tb ? -1 : 1;
	ua = mdlist_usec(na);
	ub = mdlist_usec(nb);
	if (ua != ULONG_MAX && ub != ULONG_MAX && ua != ub) return ua < ub ? -1 : 1;
	k = memcmp(na + SUBDIR_LEN, nb + SUBDIR_LEN, n);
	if (k) return k;
	if (a->baselen != b->baselen) return a->baselen < b->baselen ? -1 : 1;
	if (na[0] != nb[0]) return na[0] == 'c' ? -1 : 1;
	return strcmp(na, nb);
}

static int samebase(const pop3box *b, const pop3entry *x, const pop3entry *y)
{
	return x->baselen == y->baselen &&
	       !memcmp(b->names.s + x->name + SUBDIR_LEN, b->names.s + y->name + SUBDIR_LEN, x->baselen);
}

int pop3box_open(pop3box *b, const char *path)
{
	const int dflags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	size_t i, k;

	b->dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->dir < 0) return -1;
	b->newd = openat(b->dir, "new", dflags);
	if (b->newd < 0) goto fail;
	b->curd = openat(b->dir, "cur", dflags);
	if (b->curd < 0) goto fail;
	b->n = 0;
	buf_trunc(&b->names, 0);
	/* new/ first: a message moved to cur/ between the two reads is then
	 * seen twice (and merged below), never missed. */
	if (scan(b, b->newd, "new") < 0 || scan(b, b->curd, "cur") < 0) goto fail;
	if (b->n > 1) qsort_r(b->m, b->n, sizeof *b->m, cmp, b->names.s);
	for (i = k = 0; i < b->n; i++) {
		if (k && samebase(b, &b->m[k - 1], &b->m[i])) continue;
		b->m[k++] = b->m[i];
	}
	b->n = k;
	return 0;
fail:
	{
		int e = errno;
		if (e == ELOOP) e = ENOTDIR;
		pop3box_close(b);
		errno = e;
	}
	return -1;
}

void pop3box_close(pop3box *b)
{
	if (b->dir >= 0) close(b->dir);
	if (b->newd >= 0) close(b->newd);
	if (b->curd >= 0) close(b->curd);
	b->dir = b->newd = b->curd = -1;
	buf_free(&b->names);
	free(b->m);
	b->m = 0;
	b->n = b->cap = 0;
}

const char *pop3box_name(const pop3box *b, size_t i) { return b->names.s + b->m[i].name; }

static uint64_t fnv(const char *s, size_t n, uint64_t h)
{
	size_t i;
	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void pop3box_uidl(const pop3box *b, size_t i, char out[POP3_UIDL_MAX + 1])
{
	const char *base = pop3box_name(b, i) + SUBDIR_LEN;
	size_t n = b->m[i].baselen, k;
	int plain = n > 0 && n <= POP3_UIDL_MAX;
	static const char hex[] = "0123456789abcdef";
	uint64_t h[2];

	for (k = 0; plain && k < n; k++)
		if ((unsigned char)base[k] < 0x21 || (unsigned char)base[k] > 0x7e) plain = 0;
	if (plain) {
		memcpy(out, base, n);
		out[n] = 0;
		return;
	}
	/* Not usable as it is: a digest is stable across sessions too. */
	h[0] = fnv(base, n, 0xcbf29ce484222325ULL);
	h[1] = fnv(base, n, 0x84222325cbf29ce4ULL);
	for (k = 0; k < 32; k++) out[k] = hex[(h[k / 16] >> (60 - 4 * (k % 16))) & 15];
	out[32] = 0;
}

/* Message i is no longer where the list says: find it by its base name
 * in new/ or cur/, and remember where. 0 found, -1 gone (ENOENT). */
static int relocate(pop3box *b, size_t i)
{
	pop3entry *m = &b->m[i];
	size_t bl = m->baselen;
	char *base;
	struct stat st;
	struct dirent *e;
	DIR *d;
	int found = 0;

	base = malloc(bl + 1);
	if (!base) return -1;
	memcpy(base, b->names.s + m->name + SUBDIR_LEN, bl);
	base[bl] = 0;
	if (fstatat(b->newd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		if (add(b, "new", base, st.st_size) < 0) { free(base); return -1; }
		found = 1;
	} else if ((d = opendir_at(b->curd))) {
		while ((e = readdir(d))) {
			if (strncmp(e->d_name, base, bl) || (e->d_name[bl] && e->d_name[bl] != ':')) continue;
			if (add(b, "cur", e->d_name, m->size) < 0) { closedir(d); free(base); return -1; }
			found = 1;
			break;
		}
		closedir(d);
	}
	free(base);
	if (!found) { errno = ENOENT; return -1; }
	/* add() appended a new entry (perhaps moving b->m): take its name
	 * and drop the entry. */
	b->n--;
	b->m[i].name = b->m[b->n].name;
	return 0;
}

int pop3box_openmsg(pop3box *b, size_t i)
{
	struct stat st;
	int tries, fd = -1;

	for (tries = 0; tries < 2; tries++) {
		const char *name = pop3box_name(b, i);
		/* O_NONBLOCK: a FIFO put in a message's place must not hang us */
		fd = openat(subdir(b, name), name + SUBDIR_LEN, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT) break;
		if (tries == 0 && relocate(b, i) < 0) return -1;
	}
	if (fd < 0) {
		if (errno == ELOOP) errno = EINVAL;
		return -1;
	}
	if (fstat(fd, &st) < 0) { int e = errno; close(fd); errno = e; return -1; }
	if (!S_ISREG(st.st_mode)) { close(fd); errno = EINVAL; return -1; }
	return fd;
}

size_t pop3box_commit(pop3box *b)
{
	size_t i, failed = 0;
	buf to = BUF_INIT;
	int changed = 0;

	for (i = 0; i < b->n; i++) {
		pop3entry *m = &b->m[i];
		const char *name = pop3box_name(b, i);
		if (m->deleted) {
			if (unlinkat(subdir(b, name), name + SUBDIR_LEN, 0) == 0) { changed = 1; continue; }
			if (errno == ENOENT) {
				/* moved by another session, or already deleted by it */
				if (relocate(b, i) < 0) { if (errno != ENOENT) failed++; continue; }
				name = pop3box_name(b, i);
				if (unlinkat(subdir(b, name), name + SUBDIR_LEN, 0) == 0 || errno == ENOENT) { changed = 1; continue; }
			}
			failed++;
		} else if (name[0] == 'n') {
			/* Best effort, as in qmail-pop3d: a message left in new/ is
			 * still there next time. ENOENT: another session moved it. */
			if (buf_copys(&to, name + SUBDIR_LEN) < 0 || buf_puts(&to, ":2,") < 0) continue;
			if (renameat(b->newd, name + SUBDIR_LEN, b->curd, to.s) == 0) changed = 1;
		}
	}
	buf_free(&to);
	if (changed) {
		(void)fsync(b->newd);
		(void)fsync(b->curd);
	}
	return failed;
}
