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
#include <time.h>
#include <unistd.h>

#define SUBDIR_LEN 4   /* "new/" and "cur/" */
#define MISSING 2      /* pop3entry.deleted: deleted, and not where the list says */

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

	/* Each descriptor is -1 until opened, so that a failure half-way
	 * closes only what this call opened (a zeroed box says 0). */
	b->newd = b->curd = -1;
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
	buf_free(&b->cur.names);
	free(b->cur.at);
	b->cur.at = 0;
	b->cur.n = b->cur.cap = 0;
	b->cur.read = 0;
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

/* ---- the index of cur/ ------------------------------------------------- */

#define SETTLE 2   /* seconds after which cur/'s mtime has surely moved on */

/* The base name of name: up to ':' or the end. */
static size_t baselen(const char *name) { return strcspn(name, ":"); }

static int curcmp(const void *x, const void *y, void *arg)
{
	const char *s = arg;
	const char *a = s + *(const size_t *)x, *b = s + *(const size_t *)y;
	size_t la = baselen(a), lb = baselen(b);
	int k = memcmp(a, b, la < lb ? la : lb);

	if (k) return k;
	if (la != lb) return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* Read cur/ into b->cur; st is cur/'s stat taken just before. */
static int curread(pop3box *b, const struct stat *st)
{
	pop3cur *c = &b->cur;
	struct timespec now;
	struct dirent *e;
	DIR *d;
	int r = 0;

	c->read = 0;
	c->n = 0;
	buf_trunc(&c->names, 0);
	d = opendir_at(b->curd);
	if (!d) return -1;
	for (;;) {
		size_t off = c->names.len;
		errno = 0;
		e = readdir(d);
		if (!e) { if (errno) r = -1; break; }
		if (e->d_name[0] == '.') continue;
		if (c->n == c->cap) {
			size_t k = c->cap ? c->cap * 2 : 256;
			size_t *a;
			if (k > SIZE_MAX / sizeof *a) { errno = ENOMEM; r = -1; break; }
			a = realloc(c->at, k * sizeof *a);
			if (!a) { r = -1; break; }
			c->at = a;
			c->cap = k;
		}
		if (buf_puts(&c->names, e->d_name) < 0 || buf_put0(&c->names) < 0) { r = -1; break; }
		c->at[c->n++] = off;
	}
	if (r < 0) { int k = errno; closedir(d); errno = k; return -1; }
	closedir(d);
	if (c->n > 1) qsort_r(c->at, c->n, sizeof *c->at, curcmp, c->names.s);
	c->mtime = st->st_mtim;
	/* A change within the same clock tick as the one that set mtime
	 * leaves mtime as it is: trust it only once it is old enough. */
	c->settled = clock_gettime(CLOCK_REALTIME, &now) == 0 && now.tv_sec - st->st_mtim.tv_sec >= SETTLE;
	c->read = 1;
	c->reads++;
	return 0;
}

/* The name in the index of cur/ whose base name is base, or 0. */
static const char *cursearch(const pop3box *b, const char *base, size_t bl)
{
	const pop3cur *c = &b->cur;
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *name = c->names.s + c->at[mid];
		size_t nl = baselen(name);
		int k = memcmp(name, base, nl < bl ? nl : bl);
		if (!k && nl != bl) k = nl < bl ? -1 : 1;
		if (k < 0) lo = mid + 1;
		else if (k > 0) hi = mid;
		else return name;
	}
	return 0;
}

/* How curfind may trust the index of cur/ for a name it does not hold. */
enum { CUR_CHECK, CUR_TRUST };

/* Find the message with base name base in cur/: 1 and its name in
 * *name (valid until the next call), 0 not there, -1 error. A name
 * found is always checked to be there still, and cur/ is read again
 * when it is not. For a base name the index lacks, CUR_TRUST believes
 * it (the caller read cur/ after the message went missing); CUR_CHECK
 * reads cur/ again when it changed since (its mtime), or changed too
 * recently for its mtime to show a later change. */
static int curfind(pop3box *b, const char *base, size_t bl, int how, const char **name)
{
	struct stat st;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		int fresh = 0;
		if (pass || !b->cur.read || how == CUR_CHECK) {
			if (fstat(b->curd, &st) < 0) return -1;
			if (pass || !b->cur.read || st.st_mtim.tv_sec != b->cur.mtime.tv_sec ||
			    st.st_mtim.tv_nsec != b->cur.mtime.tv_nsec) {
				if (curread(b, &st) < 0) return -1;
				fresh = 1;
			}
		}
		*name = cursearch(b, base, bl);
		if (*name) {
			if (fstatat(b->curd, *name, &st, AT_SYMLINK_NOFOLLOW) == 0) return 1;
			if (errno != ENOENT) return -1;
			/* it moved on since the index was read */
		} else if (fresh || how == CUR_TRUST || b->cur.settled) {
			return 0;
		}
	}
	return 0;
}

/* Message i is no longer where the list says: find it by its base name
 * in new/ or cur/, and remember where. 0 found, -1 gone (ENOENT). */
static int relocate(pop3box *b, size_t i, int how)
{
	pop3entry *m = &b->m[i];
	size_t bl = m->baselen;
	off_t size = m->size;
	const char *name;
	char *base;
	struct stat st;
	int found = 0, k;

	base = malloc(bl + 1);
	if (!base) return -1;
	memcpy(base, b->names.s + m->name + SUBDIR_LEN, bl);
	base[bl] = 0;
	if (fstatat(b->newd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
		if (add(b, "new", base, st.st_size) < 0) { free(base); return -1; }
		found = 1;
	} else {
		k = curfind(b, base, bl, how, &name);
		if (k < 0) { free(base); return -1; }
		if (k > 0) {
			if (add(b, "cur", name, size) < 0) { free(base); return -1; }
			found = 1;
		}
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
		if (tries == 0 && relocate(b, i, CUR_CHECK) < 0) return -1;
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
	size_t i, failed = 0, missing = 0;
	buf to = BUF_INIT;
	struct stat st;
	int changed = 0;

	/* 1. Each message where the list says it is. */
	for (i = 0; i < b->n; i++) {
		pop3entry *m = &b->m[i];
		const char *name = pop3box_name(b, i);
		if (m->deleted) {
			if (unlinkat(subdir(b, name), name + SUBDIR_LEN, 0) == 0) { changed = 1; continue; }
			if (errno == ENOENT) { m->deleted = MISSING; missing++; continue; }
			failed++;
		} else if (name[0] == 'n') {
			/* Best effort, as in qmail-pop3d: a message left in new/ is
			 * still there next time. ENOENT: another session moved it. */
			if (buf_copys(&to, name + SUBDIR_LEN) < 0 || buf_puts(&to, ":2,") < 0) continue;
			if (renameat(b->newd, name + SUBDIR_LEN, b->curd, to.s) == 0) changed = 1;
		}
	}
	buf_free(&to);

	/* 2. Deleted messages that were not there: another session moved
	 * them to cur/ (or gave them flags), or deleted them. One reading of
	 * cur/, made after all of them went missing, finds each one that
	 * still exists, however many there are; our own unlinks meanwhile
	 * change cur/ but cannot bring a message back. */
	if (missing && (fstat(b->curd, &st) < 0 || curread(b, &st) < 0)) {
		failed += missing;
	} else if (missing) {
		for (i = 0; i < b->n; i++) {
			int tries;
			if (b->m[i].deleted != MISSING) continue;
			for (tries = 0; tries < 3; tries++) {
				const char *name;
				if (relocate(b, i, CUR_TRUST) < 0) {
					if (errno == ENOENT) tries = -1;     /* deleted by the other session */
					break;
				}
				name = pop3box_name(b, i);
				if (unlinkat(subdir(b, name), name + SUBDIR_LEN, 0) == 0) { tries = -1; changed = 1; break; }
				if (errno != ENOENT) break;
				/* renamed again under our feet: look once more */
			}
			if (tries >= 0) failed++;
		}
	}
	if (changed) {
		(void)fsync(b->newd);
		(void)fsync(b->curd);
	}
	return failed;
}
