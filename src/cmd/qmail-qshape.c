/* qmail-qshape: the shape of the queue, as Postfix's qshape shows it: for
 * each destination domain (or, with -s, sender domain) how many queued
 * recipients (messages) there are, by age (qmail-qshape(8)).
 *
 * A recipient counts while it is not done: a T record in local/S/N or
 * remote/S/N, or in todo/N for a message qmail-send has not taken yet.
 * Age is counted from the message's birth as qmail-send counts it (the
 * mtime of info/S/N; for a todo message, of todo/N). The age buckets
 * are Postfix's: the first holds ages below -t minutes (default 5), each
 * next one doubles the limit (-l: adds it), the last has no limit; the
 * columns are headed by their upper limits, "T" being the total.
 * Domains are sorted by their total, largest first. The queue is read
 * while qmail-send runs, without locks: the figures are a snapshot. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/qscan.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: qmail-qshape [-s] [-p] [-m min_subdomains] [-b bucket_count] [-t bucket_time] [-l] [-w width] [-n top_domains] [todo|local|remote|hold ...]"
#define BUCKETS_MAX 64
#define DOMAIN_MAX 1024          /* bytes of a domain name kept */
#define DWIDTH_MIN 18            /* narrowest domain column */

static int bysender, parents, linear;
static unsigned long minsub = 5, nbuckets = 10, tick = 5, width = 80, top;
static int want[4] = { 1, 1, 1, 1 };   /* todo local remote hold */
static time_t now;

/* ---- a table of domains and their counts --------------------------- */

struct dom {
	char *name;
	size_t len;
	unsigned long sub;                     /* subdomains seen (-p) */
	unsigned long c[BUCKETS_MAX + 1];      /* [0] total, [1..] buckets */
};
static struct dom **tab;                   /* open addressing; NULL empty */
static size_t tabmask, ndom;
static struct dom total;

static size_t hash(const char *s, size_t n)
{
	size_t h = 5381, i;
	for (i = 0; i < n; i++) h = (h * 33) ^ (unsigned char)s[i];
	return h;
}

static int grow(void)
{
	size_t cap = tabmask ? (tabmask + 1) * 2 : 256, i;
	struct dom **t;
	if (cap > (size_t)-1 / sizeof *t) return -1;
	t = calloc(cap, sizeof *t);
	if (!t) return -1;
	for (i = 0; tabmask && i <= tabmask; i++)
		if (tab[i]) {
			size_t k = hash(tab[i]->name, tab[i]->len) & (cap - 1);
			while (t[k]) k = (k + 1) & (cap - 1);
			t[k] = tab[i];
		}
	free(tab);
	tab = t;
	tabmask = cap - 1;
	return 0;
}

/* The entry for name, created when new (*isnew set). Dies when out of memory. */
static struct dom *lookup(const char *name, size_t len, int *isnew)
{
	size_t k;
	struct dom *d;

	if ((ndom + 1) * 2 > tabmask && grow() < 0) err_nomem();
	for (k = hash(name, len) & tabmask; tab[k]; k = (k + 1) & tabmask)
		if (tab[k]->len == len && !memcmp(tab[k]->name, name, len)) { *isnew = 0; return tab[k]; }
	d = calloc(1, sizeof *d);
	if (!d || !(d->name = malloc(len + 1))) err_nomem();
	memcpy(d->name, name, len);
	d->name[len] = 0;
	d->len = len;
	tab[k] = d;
	ndom++;
	*isnew = 1;
	return d;
}

/* ---- counting ----------------------------------------------------- */

static unsigned long bucket(time_t birth)
{
	unsigned long long m, b;
	if (birth >= now) return 1;
	m = (unsigned long long)(now - birth) / (60ULL * tick);   /* whole ticks */
	if (m < 1) return 1;
	if (linear) b = m + 1;
	else for (b = 2; m >= 2; m >>= 1) b++;   /* 2 + floor(log2 m) */
	return b < nbuckets ? (unsigned long)b : nbuckets;
}

/* Postfix's normal form: lower case, no empty labels, no outer dots. */
static void normal(buf *d)
{
	size_t i, j = 0;
	for (i = 0; i < d->len; i++) {
		if (d->s[i] == '.' && (j == 0 || d->s[j - 1] == '.')) continue;
		d->s[j++] = d->s[i];
	}
	while (j && d->s[j - 1] == '.') j--;
	buf_trunc(d, j);
}

static void count(const char *addr, size_t len, unsigned long b)
{
	static buf d;
	struct dom *e;
	int isnew, childnew = 0;
	size_t off = 0;

	total.c[0]++;
	total.c[b]++;
	if (qscan_domain(&d, addr, len) < 0) err_nomem();
	normal(&d);
	/* the empty sender of bounces, shown as Postfix shows it */
	if (!len && bysender && buf_copys(&d, "MAILER-DAEMON") < 0) err_nomem();
	if (d.len > DOMAIN_MAX) buf_trunc(&d, DOMAIN_MAX);
	if (buf_putc(&d, 0) < 0) err_nomem();   /* room: parents reuse the bytes */
	d.len--;
	/* The domain itself, then with -p each parent written with a leading
	 * dot, down to two labels (a top-level domain is never shown). */
	for (;;) {
		const char *p = d.s + off;
		size_t n = d.len - off, dot;
		e = lookup(p, n, &isnew);
		e->c[0]++;
		e->c[b]++;
		if (childnew) e->sub++;
		childnew = isnew;
		if (!parents) break;
		/* skip the first label (and the leading dot of a parent) */
		dot = byte_chr(p + (*p == '.'), n - (*p == '.'), '.') + (*p == '.');
		if (dot >= n || byte_chr(p + dot + 1, n - dot - 1, '.') >= n - dot - 1) break;
		off += dot;   /* ".rest" */
	}
}

struct msgctx { unsigned long b; int counted; };

/* Which queue (of the command line's) a recipient is in: todo for a
 * message not taken yet, hold for a held one, else its channel. */
static int wanted(const qmsg *m, int chan)
{
	if (m->todo) return want[0];
	if (m->held) return want[3];
	return chan == QSCAN_LOCAL ? want[1] : want[2];
}

static int onrcpt(void *ctx, const qmsg *m, int chan, int done, const char *a, size_t n)
{
	struct msgctx *x = ctx;
	if (done || !wanted(m, chan)) return 0;
	if (bysender) { x->counted = 1; return -1; }      /* one is enough */
	count(a, n, x->b);
	return 0;
}

static int onmsg(void *ctx, qmsg *m)
{
	struct msgctx x;
	(void)ctx;
	x.b = bucket(m->birth);
	x.counted = 0;
	if (qscan_rcpts(m, onrcpt, &x) < 0 && errno != ENOENT) {
		char n[24];
		fmt_ulong(n, m->id);
		err_warnerr("warning: trouble reading message ", n, (char *)0);
	}
	if (bysender && x.counted) count(m->sender.s, m->sender.len, x.b);
	return 0;
}

/* ---- output --------------------------------------------------------- */

static io_out out;

static void put(const char *s, size_t n)
{
	if (out_put(&out, s, n) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}
static void pad(size_t n) { while (n--) put(" ", 1); }
static void cell(const char *s, size_t w)
{
	size_t n = strlen(s);
	pad(n < w ? w - n : 0);
	put(s, n);
}

static char heads[BUCKETS_MAX + 1][32];
static size_t colw[BUCKETS_MAX + 1], dw;

static void layout(void)
{
	unsigned long long t = 0;
	unsigned long i;
	size_t used = 0;
	for (i = 0; i <= nbuckets; i++) {
		char n[24];
		size_t l, hl;
		if (i == 0) memcpy(heads[0], "T", 2);
		else {
			size_t k = fmt_ulong(heads[i], t);
			if (i == nbuckets) memcpy(heads[i] + k, "+", 2);
		}
		l = fmt_ulong(n, total.c[i]);
		hl = strlen(heads[i]);
		if (hl > l) l = hl;
		colw[i] = l > 2 ? l + 1 : 3;
		used += colw[i];
		if (i + 1 < nbuckets) t = (t && !linear) ? t * 2 : t + tick;
	}
	dw = width > used ? width - used : 0;
	if (dw < DWIDTH_MIN) dw = DWIDTH_MIN;
}

/* A row: the name right-aligned in dw columns (a name too long keeps its
 * end, behind '+' or '.+'), then the cells. */
static void row(const char *name, size_t len, const unsigned long *c, int header)
{
	unsigned long i;
	if (len > dw) {
		size_t keep = name[0] == '.' ? dw - 2 : dw - 1;
		put(name[0] == '.' ? ".+" : "+", name[0] == '.' ? 2 : 1);
		put(name + len - keep, keep);
	} else {
		pad(dw - len);
		put(name, len);
	}
	for (i = 0; i <= nbuckets; i++) {
		char n[24];
		if (header) cell(heads[i], colw[i]);
		else { fmt_ulong(n, c[i]); cell(n, colw[i]); }
	}
	put("\n", 1);
}

static int cmp(const void *a, const void *b)
{
	const struct dom *x = *(struct dom *const *)a, *y = *(struct dom *const *)b;
	int r;
	if (x->c[0] != y->c[0]) return x->c[0] > y->c[0] ? -1 : 1;
	if (x->len != y->len) return x->len < y->len ? -1 : 1;
	r = memcmp(x->name, y->name, x->len);
	return r;
}

static void report(void)
{
	struct dom **v = 0;
	size_t i, n = 0, shown = 0;

	layout();
	row("", 0, 0, 1);
	row("TOTAL", 5, total.c, 0);
	if (ndom && !(v = malloc(ndom * sizeof *v))) err_nomem();
	for (i = 0; tabmask && i <= tabmask; i++) if (tab[i]) v[n++] = tab[i];
	if (n) qsort(v, n, sizeof *v, cmp);
	for (i = 0; i < n; i++) {
		/* a parent domain earns a row with enough subdomains */
		if (v[i]->name[0] == '.' && v[i]->sub < minsub) continue;
		if (top && ++shown > top) break;
		row(v[i]->name, v[i]->len, v[i]->c, 0);
	}
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}

/* ---- main ---------------------------------------------------------- */

static unsigned long numarg(const char *s, unsigned long lo, unsigned long hi)
{
	unsigned long u;
	if (!s || str_toul(s, &u) < 0 || u < lo || u > hi) err_die(EXIT_PERM, USAGE, (char *)0);
	return u;
}

int main(int argc, char **argv)
{
	static const char *qname[4] = { "todo", "local", "remote", "hold" };
	const char *what = "";
	int opt, i, k;

	err_prog = "qmail-qshape";
	while ((opt = getopt(argc, argv, "spm:b:t:lw:n:")) != -1)
		switch (opt) {
		case 's': bysender = 1; break;
		case 'p': parents = 1; break;
		case 'm': minsub = numarg(optarg, 1, 1000000); break;
		case 'b': nbuckets = numarg(optarg, 1, BUCKETS_MAX); break;
		case 't': tick = numarg(optarg, 1, 10000000); break;
		case 'l': linear = 1; break;
		case 'w': width = numarg(optarg, 1, 100000); break;
		case 'n': top = numarg(optarg, 1, (unsigned long)-1); break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	if (optind < argc) {
		for (k = 0; k < 4; k++) want[k] = 0;
		for (i = optind; i < argc; i++) {
			for (k = 0; k < 4; k++) if (str_eq(argv[i], qname[k])) break;
			if (k == 4) err_die(EXIT_PERM, "unknown queue ", argv[i], " (todo, local, remote or hold); ", USAGE, (char *)0);
			want[k] = 1;
		}
	}
	if (chdir(nq_home()) < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), (char *)0);
	if (chdir("queue") < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), "/queue", (char *)0);
	out_init(&out, 1, 0);
	now = time(0);
	if (qscan_each(onmsg, 0, &what) < 0) {
		if (errno == EACCES || errno == EPERM)
			err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/queue/", what,
			           " (qmail-qshape must run as root or as qmails)", (char *)0);
		err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/queue/", what, (char *)0);
	}
	report();
	return 0;
}
