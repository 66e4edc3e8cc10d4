/* mdlist: list a Maildir's messages in delivery order (see mdlist.h). */
#include "mail/mdlist.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_AGE (36L * 3600)

static int add(mdlist *l, const char *dir, const char *name)
{
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 64;
		size_t *o;
		if (c > SIZE_MAX / sizeof *o) { errno = ENOMEM; return -1; }
		o = realloc(l->off, c * sizeof *o);
		if (!o) return -1;
		l->off = o;
		l->cap = c;
	}
	l->off[l->n] = l->names.len;
	if (buf_puts(&l->names, dir) < 0 || buf_putc(&l->names, '/') < 0
	    || buf_puts(&l->names, name) < 0 || buf_put0(&l->names) < 0)
		return -1;
	l->n++;
	return 0;
}

static int scandir_(mdlist *l, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int r = 0;

	if (!d) return -1;
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) { if (errno) r = -1; break; }
		if (e->d_name[0] == '.') continue;
		if (add(l, dir, e->d_name) < 0) { r = -1; break; }
	}
	if (r < 0) { int k = errno; closedir(d); errno = k; return -1; }
	closedir(d);
	return 0;
}

unsigned long mdlist_time(const char *name)
{
	const char *b = strrchr(name, '/');
	unsigned long t = 0;
	b = b ? b + 1 : name;
	for (; *b >= '0' && *b <= '9'; b++) {
		if (t > (ULONG_MAX - 9) / 10) return t;
		t = t * 10 + (unsigned long)(*b - '0');
	}
	return t;
}

unsigned long mdlist_usec(const char *name)
{
	const char *b = strrchr(name, '/');
	unsigned long u = 0;
	b = b ? b + 1 : name;
	while (*b >= '0' && *b <= '9') b++;
	if (b[0] != '.' || b[1] != 'M' || b[2] < '0' || b[2] > '9') return ULONG_MAX;
	for (b += 2; *b >= '0' && *b <= '9'; b++) {
		if (u > 999999) return ULONG_MAX;
		u = u * 10 + (unsigned long)(*b - '0');
	}
	return u;
}

static int cmp(const void *a, const void *b, void *arg)
{
	const char *s = arg;
	const char *x = s + *(const size_t *)a, *y = s + *(const size_t *)b;
	unsigned long tx = mdlist_time(x), ty = mdlist_time(y);
	unsigned long ux, uy;
	const char *bx = strchr(x, '/'), *by = strchr(y, '/');
	if (tx != ty) return tx < ty ? -1 : 1;
	ux = mdlist_usec(x);
	uy = mdlist_usec(y);
	if (ux != ULONG_MAX && uy != ULONG_MAX && ux != uy) return ux < uy ? -1 : 1;
	return strcmp(bx ? bx : x, by ? by : y);
}

int mdlist_scan(mdlist *l, int withcur, const char **what)
{
	l->n = 0;
	buf_trunc(&l->names, 0);
	*what = "new";
	if (scandir_(l, "new") < 0) return -1;
	if (withcur) {
		*what = "cur";
		if (scandir_(l, "cur") < 0) return -1;
	}
	if (l->n > 1) qsort_r(l->off, l->n, sizeof *l->off, cmp, l->names.s);
	return 0;
}

const char *mdlist_name(const mdlist *l, size_t i) { return l->names.s + l->off[i]; }

void mdlist_free(mdlist *l)
{
	buf_free(&l->names);
	free(l->off);
	l->off = 0;
	l->n = l->cap = 0;
}

long mdlist_cleantmp(time_t now)
{
	DIR *d = opendir("tmp");
	struct dirent *e;
	struct stat st;
	buf p = BUF_INIT;
	long n = 0;

	if (!d) return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.') continue;
		if (buf_copys(&p, "tmp/") < 0 || buf_puts(&p, e->d_name) < 0) break;
		if (lstat(p.s, &st) < 0 || !S_ISREG(st.st_mode)) continue;
		if (now - st.st_mtime > TMP_AGE && now - st.st_atime > TMP_AGE && unlink(p.s) == 0) n++;
	}
	closedir(d);
	buf_free(&p);
	return n;
}
