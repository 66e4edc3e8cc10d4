/* qmail-report: the morning summary of qmail-send's log (qmail-report(8)).
 *
 *     qmail-report [--html FILE] [--top N] [file ...]
 *
 * Reads the log from the files named (a "-" or no file at all: standard
 * input; a name ending in .gz is read through gzip -dc), puts them in
 * order (by the time stamp of their first line, else rotated names
 * "log.2", "log.1" before "log"), and prints to standard output: the
 * period covered, qmailanalog's overall figures, queue delay percentiles,
 * a table per hour, the top failure and deferral reasons, the top
 * deferring destinations, the largest senders and recipients' domains,
 * and alerts. With --html the same tables and four plots (deliveries per
 * minute, queue delay distribution, failures over time, concurrency) go
 * into FILE as one self-contained page without script.
 *
 * The log is read as a stream (src/mail/logstat.h): memory follows the
 * messages in flight, not the size of the log.
 * Exit codes: 0 done, 100 usage, 111 a file could not be read or written. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/str.h"
#include "lib/textfmt.h"
#include "mail/logparse.h"
#include "mail/logstat.h"
#include "mail/svgplot.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: qmail-report [--html FILE] [--top N] [file ...]"
#define LINEMAX (1024 * 1024)
#define TOPCAP 4096

static logstat st;
static size_t top = 10;

/* ---- the inputs -------------------------------------------------------- */

struct input {
	const char *name;          /* "-" for standard input */
	size_t idx;                /* position on the command line */
	int haskey;
	long long key;             /* time of the first line */
	int rot;                   /* rotation number of name.N[.gz], -1 none */
	size_t baselen;            /* name without .N and .gz */
};

static io_in *stdin_in;        /* standard input, with its first line kept */
static buf stdin_first = BUF_INIT;
static int stdin_firstdone, stdin_firsteof;

static int isgz(const char *n)
{
	size_t k = strlen(n);
	return k > 3 && !strcmp(n + k - 3, ".gz");
}

static void rotname(struct input *in)
{
	size_t k = strlen(in->name), i;
	if (isgz(in->name)) k -= 3;
	in->rot = -1;
	in->baselen = k;
	i = k;
	while (i > 0 && in->name[i - 1] >= '0' && in->name[i - 1] <= '9') i--;
	if (i < k && i > 0 && in->name[i - 1] == '.' && k - i < 6) {
		unsigned long u;
		scan_ulong(in->name + i, k - i, &u);
		in->rot = (int)u;
		in->baselen = i - 1;
	}
}

/* Open one input: a descriptor to read, and gzip's pid when there is one. */
static int openin(const char *name, pid_t *pid)
{
	int fd, p[2];
	*pid = 0;
	if (!strcmp(name, "-")) return 0;
	if (!isgz(name)) {
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) err_dieerr(EXIT_TEMP, "unable to open ", name, (char *)0);
		return fd;
	}
	if (pipe(p) < 0) err_dieerr(EXIT_TEMP, "unable to make a pipe", (char *)0);
	*pid = fork();
	if (*pid < 0) err_dieerr(EXIT_TEMP, "unable to fork", (char *)0);
	if (!*pid) {
		close(p[0]);
		if (dup2(p[1], 1) < 0) _exit(111);
		execlp("gzip", "gzip", "-dc", "--", name, (char *)0);
		err_warnerr("unable to run gzip for ", name, (char *)0);
		_exit(111);
	}
	close(p[1]);
	return p[0];
}

static void closein(int fd, pid_t pid, const char *name)
{
	int ws;
	if (fd) close(fd);
	if (pid > 0) {
		if (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws))
			err_die(EXIT_TEMP, "gzip could not read ", name, (char *)0);
	}
}

/* The time stamp of the first line of an input, for ordering. */
static void peek(struct input *in)
{
	struct logctx c = LOGCTX_INIT;
	struct logline l;
	buf line = BUF_INIT;
	int r;

	if (!strcmp(in->name, "-")) {
		if (!stdin_firstdone) {
			stdin_in = malloc(sizeof *stdin_in);
			if (!stdin_in) err_nomem();
			in_init(stdin_in, 0, 0);
			r = in_getline(stdin_in, &stdin_first, '\n', LINEMAX);
			if (r < 0 && errno != ERANGE) err_dieerr(EXIT_TEMP, "unable to read standard input", (char *)0);
			stdin_firsteof = r == 0;
			stdin_firstdone = 1;
		}
		if (stdin_first.len) {
			size_t n = stdin_first.len;
			if (stdin_first.s[n - 1] == '\n') n--;
			logparse_stamp(&c, stdin_first.s, n, &l);
			in->haskey = l.hast;
			in->key = l.t;
		}
		return;
	} else {
		pid_t pid;
		int fd = openin(in->name, &pid);
		io_in *i = malloc(sizeof *i);
		if (!i) err_nomem();
		in_init(i, fd, 0);
		r = in_getline(i, &line, '\n', 4096);
		if (r < 0 && errno != ERANGE) err_dieerr(EXIT_TEMP, "unable to read ", in->name, (char *)0);
		if (line.len) {
			size_t n = line.len;
			if (line.s[n - 1] == '\n') n--;
			logparse_stamp(&c, line.s, n, &l);
			in->haskey = l.hast;
			in->key = l.t;
		}
		free(i);
		if (pid > 0) kill(pid, SIGTERM), waitpid(pid, 0, 0);
		if (fd) close(fd);
		buf_free(&line);
	}
}

/* multilog's names in its directory: @<tai64n>.s or .u, and current */
static int multilogname(const char *n, size_t *dirlen)
{
	const char *b = strrchr(n, '/');
	size_t k, i;
	b = b ? b + 1 : n;
	*dirlen = (size_t)(b - n);
	if (!strcmp(b, "current")) return 2;
	k = strlen(b);
	if (k != 27 || b[0] != '@' || b[25] != '.' || (b[26] != 's' && b[26] != 'u')) return 0;
	for (i = 1; i < 25; i++)
		if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f'))) return 0;
	return 1;
}

/* Does a come before b? The names say it when they are rotations of one
 * log (log.2 log.1 log; multilog's @... files, then current), because a
 * clock step back can make a newer file start with an older stamp; else
 * the time stamp of the first lines; else as named. (Insertion sort only:
 * this order need not be transitive when the rules mix.) */
static int before(const struct input *a, const struct input *b)
{
	size_t da, db;
	int ma = multilogname(a->name, &da), mb = multilogname(b->name, &db);
	if (a->baselen == b->baselen && !memcmp(a->name, b->name, a->baselen) && a->rot != b->rot) {
		if (a->rot < 0) return 0;
		if (b->rot < 0) return 1;
		return a->rot > b->rot;
	}
	if (ma && mb && da == db && !memcmp(a->name, b->name, da) && (ma != 2 || mb != 2)) {
		if (ma != mb) return ma < mb;
		return strcmp(a->name + da, b->name + db) < 0;
	}
	if (a->haskey && b->haskey && a->key != b->key) return a->key < b->key;
	return a->idx < b->idx;
}

/* ---- reading ------------------------------------------------------------- */

/* One line is held back, because splogger may continue it on the next. */
static buf lines[2];
static int cur;                /* lines[cur] holds the pending line */
static int pending;
static struct logline pl;
static size_t pbody;           /* pl.body as an offset into lines[cur] */

static void account(void)
{
	if (!pending) return;
	pl.body = lines[cur].s + pbody;
	logparse_event(&pl);
	if (logstat_add(&st, &pl) < 0) err_nomem();
	pending = 0;
}

static void oneline(struct logctx *c, buf *b, int over)
{
	struct logline l;
	size_t n = b->len;
	if (n && b->s[n - 1] == '\n') n--;
	if (over) {               /* longer than LINEMAX: not something we can read */
		account();
		st.tot.lines++;
		st.tot.other++;
		return;
	}
	logparse_stamp(c, b->s, n, &l);
	if (l.cont && pending && pl.hast && l.t == pl.t) {
		buf *p = &lines[cur];
		p->len = pbody + pl.bodylen;
		if (buf_put(p, l.body, l.bodylen) < 0) err_nomem();
		pl.bodylen += l.bodylen;
		return;
	}
	account();
	/* b becomes the pending line: b is lines[1 - cur] */
	cur = 1 - cur;
	pl = l;
	pbody = (size_t)(l.body - b->s);
	pending = 1;
}

static void readin(const struct input *in)
{
	struct logctx c = LOGCTX_INIT;
	pid_t pid = 0;
	int fd;
	io_in *i;
	int r;

	if (!strcmp(in->name, "-")) {
		i = stdin_in;
		fd = 0;
		if (stdin_first.len) {
			buf *b = &lines[1 - cur];
			if (buf_copy(b, stdin_first.s, stdin_first.len) < 0) err_nomem();
			oneline(&c, b, 0);
		}
		if (stdin_firsteof) { account(); return; }
	} else {
		fd = openin(in->name, &pid);
		i = malloc(sizeof *i);
		if (!i) err_nomem();
		in_init(i, fd, 0);
	}
	for (;;) {
		buf *b = &lines[1 - cur];
		b->len = 0;
		r = in_getline(i, b, '\n', LINEMAX);
		if (r < 0 && errno == ERANGE) { oneline(&c, b, 1); continue; }
		if (r < 0) err_dieerr(EXIT_TEMP, "unable to read ", in->name, (char *)0);
		if (r == 0 && !b->len) break;
		oneline(&c, b, 0);
		if (r == 0) break;
	}
	account();
	if (i != stdin_in) free(i);
	closein(fd, pid, in->name);
}

/* ---- output: one set of calls for text and for HTML --------------------- */

struct em {
	int html;
	buf *o;
	int ncol;
	int w[12];                 /* column widths; negative: left aligned */
};

static void put(buf *b, const char *s) { if (buf_puts(b, s) < 0) err_nomem(); }
static void putn(buf *b, const char *s, size_t n) { if (buf_put(b, s, n) < 0) err_nomem(); }
static void putnum(buf *b, unsigned long long n) { if (buf_putnum(b, n) < 0) err_nomem(); }
static void putfix(buf *b, double v, int d) { if (buf_putfix(b, v, d) < 0) err_nomem(); }
/* Text from the log: control bytes shown as '?' (HTML: escaped too). */
static void puttext(struct em *e, const char *s, size_t n)
{
	size_t i;
	if (e->html) { if (buf_putxml(e->o, s, n) < 0) err_nomem(); return; }
	for (i = 0; i < n; i++) {
		char c = (unsigned char)s[i] < 32 || s[i] == 127 ? '?' : s[i];
		if (buf_putc(e->o, c) < 0) err_nomem();
	}
}

static void em_section(struct em *e, const char *title)
{
	if (e->html) { put(e->o, "<h2>"); puttext(e, title, strlen(title)); put(e->o, "</h2>\n"); }
	else { put(e->o, "\n"); put(e->o, title); put(e->o, "\n"); }
}

static void em_kvstart(struct em *e, const char *label)
{
	if (e->html) { put(e->o, "<tr><th>"); puttext(e, label, strlen(label)); put(e->o, "</th><td>"); }
	else { put(e->o, "  "); put(e->o, label); put(e->o, ": "); }
}
static void em_kvend(struct em *e) { put(e->o, e->html ? "</td></tr>\n" : "\n"); }
static void em_kvs(struct em *e, const char *label, const char *v)
{
	em_kvstart(e, label); puttext(e, v, strlen(v)); em_kvend(e);
}
static void em_kvn(struct em *e, const char *label, unsigned long long v)
{
	em_kvstart(e, label); putnum(e->o, v); em_kvend(e);
}
static void em_kvf(struct em *e, const char *label, double v, int d)
{
	em_kvstart(e, label); putfix(e->o, v, d); em_kvend(e);
}
static void em_kvtable(struct em *e, int open)
{
	if (e->html) put(e->o, open ? "<table class=\"kv\">\n" : "</table>\n");
}

static void em_note(struct em *e, const char *s)
{
	if (e->html) { put(e->o, "<p>"); puttext(e, s, strlen(s)); put(e->o, "</p>\n"); }
	else { put(e->o, "  "); put(e->o, s); put(e->o, "\n"); }
}

static void pad(buf *o, size_t have, int w)
{
	size_t want = (size_t)(w < 0 ? -w : w);
	while (have++ < want) put(o, " ");
}

static void em_head(struct em *e, int ncol, const char *const *names, const int *w)
{
	int i;
	e->ncol = ncol;
	memcpy(e->w, w, (size_t)ncol * sizeof *w);
	if (e->html) {
		put(e->o, "<table>\n<tr>");
		for (i = 0; i < ncol; i++) {
			put(e->o, w[i] < 0 ? "<th class=\"l\">" : "<th>");
			puttext(e, names[i], strlen(names[i]));
			put(e->o, "</th>");
		}
		put(e->o, "</tr>\n");
		return;
	}
	put(e->o, " ");
	for (i = 0; i < ncol; i++) {
		size_t k = strlen(names[i]);
		put(e->o, " ");
		if (w[i] > 0) pad(e->o, k, w[i]);
		put(e->o, names[i]);
		if (w[i] < 0 && i + 1 < ncol) pad(e->o, k, w[i]);
	}
	put(e->o, "\n");
}

/* cells: ncol bufs */
static void em_row(struct em *e, buf *cells)
{
	int i;
	if (e->html) {
		put(e->o, "<tr>");
		for (i = 0; i < e->ncol; i++) {
			put(e->o, e->w[i] < 0 ? "<td class=\"l\">" : "<td>");
			puttext(e, cells[i].s ? cells[i].s : "", cells[i].len);
			put(e->o, "</td>");
		}
		put(e->o, "</tr>\n");
		return;
	}
	put(e->o, " ");
	for (i = 0; i < e->ncol; i++) {
		put(e->o, " ");
		if (e->w[i] > 0) pad(e->o, cells[i].len, e->w[i]);
		puttext(e, cells[i].s ? cells[i].s : "", cells[i].len);
		if (e->w[i] < 0 && i + 1 < e->ncol) pad(e->o, cells[i].len, e->w[i]);
	}
	put(e->o, "\n");
}

static void em_end(struct em *e) { if (e->html) put(e->o, "</table>\n"); }

static buf cell[12];
static void cnum(int i, unsigned long long n) { cell[i].len = 0; putnum(&cell[i], n); }
static void cfix(int i, double v, int d) { cell[i].len = 0; putfix(&cell[i], v, d); }
static void cstr(int i, const char *s, size_t n) { cell[i].len = 0; putn(&cell[i], s, n); }

static void fmttime(buf *b, long long secs, int withsec)
{
	time_t t = (time_t)secs;
	struct tm tm;
	char d[20];
	if (!localtime_r(&t, &tm)) { put(b, "?"); return; }
	d[0] = (char)('0' + (tm.tm_year + 1900) / 1000 % 10);
	d[1] = (char)('0' + (tm.tm_year + 1900) / 100 % 10);
	d[2] = (char)('0' + (tm.tm_year + 1900) / 10 % 10);
	d[3] = (char)('0' + (tm.tm_year + 1900) % 10);
	d[4] = '-';
	d[5] = (char)('0' + (tm.tm_mon + 1) / 10); d[6] = (char)('0' + (tm.tm_mon + 1) % 10);
	d[7] = '-';
	d[8] = (char)('0' + tm.tm_mday / 10); d[9] = (char)('0' + tm.tm_mday % 10);
	d[10] = ' ';
	d[11] = (char)('0' + tm.tm_hour / 10); d[12] = (char)('0' + tm.tm_hour % 10);
	d[13] = ':';
	d[14] = (char)('0' + tm.tm_min / 10); d[15] = (char)('0' + tm.tm_min % 10);
	d[16] = ':';
	d[17] = (char)('0' + tm.tm_sec / 10); d[18] = (char)('0' + tm.tm_sec % 10);
	putn(b, d, withsec ? 19 : 16);
}

static double secs(unsigned long long us) { return (double)us / 1e6; }
static double per(unsigned long long a, unsigned long long b) { return b ? (double)a / (double)b : 0; }

/* ---- the report ------------------------------------------------------------ */

static void overall(struct em *e)
{
	const struct totals *t = &st.tot;
	double span = st.hast ? (double)(st.maxt - st.first) / 1e6 : 0;
	long long oldest;
	size_t nobirth, inq = logstat_inqueue(&st, &oldest, &nobirth);
	buf v = BUF_INIT;

	em_section(e, "Overall");
	em_kvtable(e, 1);
	em_kvn(e, "Messages received (new msg)", t->newmsgs);
	em_kvn(e, "Bytes received", t->bytes_in);
	em_kvn(e, "Completed messages", t->completed);
	em_kvn(e, "Recipients for completed messages", t->comp_rcpts);
	em_kvn(e, "Total delivery attempts for completed messages", t->comp_tries);
	em_kvf(e, "Average delivery attempts per completed message", per(t->comp_tries, t->completed), 2);
	em_kvn(e, "Bytes in completed messages", t->comp_bytes);
	em_kvn(e, "Bytes weighted by success", t->comp_sbytes);
	em_kvf(e, "Average message qtime (s)", per(t->qtime_us, t->qtime_n) / 1e6, 3);
	em_kvn(e, "Messages still in the queue at the end", inq);
	if (inq && oldest && st.hast)
		em_kvf(e, "Oldest message still in the queue, age at the end (s)", (double)(st.maxt - oldest) / 1e6, 3);
	if (nobirth) em_kvn(e, "Messages in the queue since before the log began", nobirth);
	em_kvn(e, "Total delivery attempts", t->attempts);
	em_kvn(e, "success", t->success);
	em_kvn(e, "failure", t->failure);
	em_kvn(e, "deferral", t->deferral);
	em_kvn(e, "Local attempts", t->local[0] + t->local[1] + t->local[2]);
	v.len = 0;
	put(&v, "success "); putnum(&v, t->local[0]); put(&v, ", failure "); putnum(&v, t->local[1]);
	put(&v, ", deferral "); putnum(&v, t->local[2]);
	em_kvs(e, "Local results", v.s);
	em_kvn(e, "Remote attempts", t->remote[0] + t->remote[1] + t->remote[2]);
	v.len = 0;
	put(&v, "success "); putnum(&v, t->remote[0]); put(&v, ", failure "); putnum(&v, t->remote[1]);
	put(&v, ", deferral "); putnum(&v, t->remote[2]);
	em_kvs(e, "Remote results", v.s);
	em_kvf(e, "Total ddelay (s)", secs(t->ddelay_us), 3);
	em_kvf(e, "Average ddelay per success (s)", per(t->ddelay_us, st.ddelay.n) / 1e6, 3);
	em_kvf(e, "Total xdelay (s)", secs(t->xdelay_us), 3);
	em_kvf(e, "Average xdelay per delivery attempt (s)", per(t->xdelay_us, t->attempts) / 1e6, 3);
	em_kvf(e, "Time span (days)", span / 86400, 6);
	em_kvf(e, "Average concurrency", span > 0 ? secs(t->xdelay_us) / span : 0, 4);
	v.len = 0;
	put(&v, "local "); putnum(&v, t->lpeak); put(&v, "/"); putnum(&v, t->lmax);
	put(&v, ", remote "); putnum(&v, t->rpeak); put(&v, "/"); putnum(&v, t->rmax);
	em_kvs(e, "Peak concurrency", v.s);
	em_kvn(e, "Bounces sent", t->bounces - t->dbounces - t->bounces_unknown);
	em_kvn(e, "Double bounces sent", t->dbounces);
	if (t->bounces_unknown) em_kvn(e, "Bounces sent for messages received before the log began", t->bounces_unknown);
	em_kvn(e, "Triple bounces discarded", t->tbounces);
	em_kvn(e, "Bounce messages received (from <>)", t->bouncemsgs);
	em_kvn(e, "Double bounce messages received (from #@[])", t->dbouncemsgs);
	em_kvn(e, "Alerts", t->alerts);
	em_kvn(e, "Warnings", t->warnings);
	em_kvn(e, "qmail-send exits", t->exits);
	em_kvn(e, "Clock steps back", t->clock_back);
	if (t->clock_back) em_kvf(e, "Largest clock step back (s)", secs((unsigned long long)t->clock_back_max), 3);
	em_kvn(e, "Negative delays counted as 0", t->clock_neg);
	if (t->unknown_msg) em_kvn(e, "Deliveries of messages received before the log began", t->unknown_msg);
	if (t->unknown_del) em_kvn(e, "Results of deliveries started before the log began", t->unknown_del);
	if (t->lost_del) em_kvn(e, "Deliveries without a result (qmail-send restarted)", t->lost_del);
	if (t->reused_msg) em_kvn(e, "Messages without an end (number reused)", t->reused_msg);
	if (t->ended_unseen) em_kvn(e, "Messages ended but not seen from the start", t->ended_unseen);
	em_kvtable(e, 0);
	buf_free(&v);
}

static void delays(struct em *e)
{
	static const char *const names[] = {"", "n", "p50 (s)", "p90 (s)", "p99 (s)", "max (s)", "average (s)"};
	static const int w[] = {-34, 8, 10, 10, 10, 10, 11};
	const struct hist *h[2] = {&st.qdelay, &st.ddelay};
	static const char *const what[2] = {"queue delay (per message)", "ddelay (per successful delivery)"};
	int i;

	em_section(e, "Delays (new msg to final delivery; new msg to each success)");
	em_head(e, 7, names, w);
	for (i = 0; i < 2; i++) {
		cstr(0, what[i], strlen(what[i]));
		cnum(1, h[i]->n);
		cfix(2, secs(hist_pct(h[i], 50)), 3);
		cfix(3, secs(hist_pct(h[i], 90)), 3);
		cfix(4, secs(hist_pct(h[i], 99)), 3);
		cfix(5, secs(h[i]->max), 3);
		cfix(6, per(h[i]->sum, h[i]->n) / 1e6, 3);
		em_row(e, cell);
	}
	em_end(e);
	{
		static const char *const dn[] = {"queue delay", "messages"};
		static const int dw[] = {-12, 9};
		size_t c;
		em_section(e, "Queue delay distribution");
		em_head(e, 2, dn, dw);
		for (c = 0; c < DCLASS_N; c++) {
			cstr(0, logstat_dclass_name[c], strlen(logstat_dclass_name[c]));
			cnum(1, st.dclass[c]);
			em_row(e, cell);
		}
		em_end(e);
	}
}

static void hours(struct em *e)
{
	static const char *const names[] = {"hour", "msgs", "bytes", "attempts", "local", "remote",
	                                    "success", "deferral", "failure", "bounces", "conc l/r"};
	static const int w[] = {-16, 7, 11, 9, 7, 7, 8, 8, 8, 7, 9};
	size_t i;

	em_section(e, "Per hour");
	if (!st.nhours) { em_note(e, "(no time-stamped lines)"); return; }
	em_head(e, 11, names, w);
	for (i = 0; i < st.nhours; i++) {
		const struct hourrow *h = &st.hours[i];
		cell[0].len = 0; fmttime(&cell[0], h->start, 0);
		cnum(1, h->msgs); cnum(2, h->bytes); cnum(3, h->attempts); cnum(4, h->local);
		cnum(5, h->remote); cnum(6, h->success); cnum(7, h->deferral); cnum(8, h->failure);
		cnum(9, h->bounces);
		cell[10].len = 0; putnum(&cell[10], h->lpeak); put(&cell[10], "/"); putnum(&cell[10], h->rpeak);
		em_row(e, cell);
	}
	em_end(e);
}

/* A top-N table of t; cols are the tally columns shown before the key. */
static void toptable(struct em *e, const char *title, tally *t, int sortcol, int ncol,
                     const char *const *names, const int *w, const int *cols, const int *xdelay)
{
	const struct tally_ent **o;
	size_t n, i;
	int c;

	em_section(e, title);
	if (!t->n) { em_note(e, "(none)"); return; }
	o = malloc(t->n * sizeof *o);
	if (!o) err_nomem();
	n = tally_sorted(t, sortcol, o);
	em_head(e, ncol + 1, names, w);
	for (i = 0; i < n && i < top; i++) {
		for (c = 0; c < ncol; c++) {
			if (xdelay && xdelay[c]) cfix(c, secs(o[i]->v[cols[c]]), 2);
			else cnum(c, o[i]->v[cols[c]]);
		}
		cstr(ncol, tally_key(t, o[i]), o[i]->len);
		em_row(e, cell);
	}
	em_end(e);
	if (t->floor) {
		buf v = BUF_INIT;
		put(&v, "(more distinct entries than the table holds: counts may be short by up to ");
		putnum(&v, t->floor);
		put(&v, ")");
		em_note(e, v.s);
		buf_free(&v);
	}
	free(o);
}

static void tables(struct em *e)
{
	static const char *const rn[] = {"del", "xdelay (s)", "reason"};
	static const int rw[] = {7, 11, -1};
	static const int rc[] = {R_COUNT, R_XDELAY};
	static const int rx[] = {0, 1};
	static const char *const dn[] = {"deferrals", "domain"};
	static const int dw[] = {9, -1};
	static const int dc[] = {0};
	static const char *const sn[] = {"msgs", "bytes", "rcpts ok", "failures", "sender"};
	static const int sw[] = {7, 11, 9, 9, -1};
	static const int sc[] = {SD_MSGS, SD_BYTES, SD_RCPTS, SD_FAIL};
	static const char *const an[] = {"success", "bytes", "failure", "deferral", "domain"};
	static const int aw[] = {8, 11, 8, 9, -1};
	static const int ac[] = {RD_SUCCESS, RD_SBYTES, RD_FAIL, RD_DEFER};
	static const char *const wn[] = {"count", "text"};
	static const int ww[] = {7, -1};

	toptable(e, "Top failure reasons", &st.failreasons, R_COUNT, 2, rn, rw, rc, rx);
	toptable(e, "Top deferral reasons", &st.deferreasons, R_COUNT, 2, rn, rw, rc, rx);
	toptable(e, "Top deferring destinations", &st.deferdomains, 0, 1, dn, dw, dc, 0);
	toptable(e, "Largest senders", &st.senders, SD_MSGS, 4, sn, sw, sc, 0);
	toptable(e, "Recipients' domains", &st.rdomains, RD_SUCCESS, 4, an, aw, ac, 0);
	toptable(e, "Alerts and warnings", &st.alerts, 0, 1, wn, ww, dc, 0);
}

static void header(struct em *e)
{
	buf v = BUF_INIT;
	if (st.hast) {
		fmttime(&v, st.first / 1000000, 1);
		put(&v, " to ");
		fmttime(&v, st.maxt / 1000000, 1);
	} else
		put(&v, "(no time stamps)");
	if (e->html) {
		put(e->o, "<h1>qmail-report</h1>\n<p>Period: ");
		puttext(e, v.s, v.len);
		put(e->o, "</p>\n");
	} else {
		put(e->o, "qmail-report: ");
		put(e->o, v.s);
		put(e->o, "\n");
	}
	em_kvtable(e, 1);
	em_kvn(e, "Lines read", st.tot.lines);
	em_kvn(e, "Lines without a time stamp", st.tot.nostamp);
	em_kvn(e, "Lines not from qmail-send", st.tot.other);
	em_kvtable(e, 0);
	buf_free(&v);
}

/* ---- plots ---------------------------------------------------------------- */

static void plots(buf *o)
{
	const struct series *r = &st.ser;
	size_t n = r->used, i, nt = 0;
	double *x, *y[6], dx[DCLASS_N], dy[DCLASS_N];
	struct svgtick tk[8], dtk[DCLASS_N];
	buf tl[8];
	double perm;
	unsigned ll = 0, rl = 0;
	struct svgser s[2];
	struct svgplot p;
	int k;

	put(o, "<h2>Plots</h2>\n");
	memset(tl, 0, sizeof tl);
	if (n) {
		x = malloc(n * sizeof *x);
		for (k = 0; k < 6; k++) y[k] = malloc(n * sizeof *y[k]);
		if (!x || !y[0] || !y[1] || !y[2] || !y[3] || !y[4] || !y[5]) err_nomem();
		perm = (double)r->width / 60;
		for (i = 0; i < n; i++) {
			x[i] = (double)(r->origin + (long long)i * r->width);
			y[0][i] = r->v[S_SUCCESS][i] / perm;
			y[1][i] = r->v[S_ATTEMPT][i] / perm;
			y[2][i] = r->v[S_FAILURE][i] / perm;
			y[3][i] = r->v[S_DEFERRAL][i] / perm;
			if (r->touched[i]) { y[4][i] = r->v[S_LPEAK][i]; y[5][i] = r->v[S_RPEAK][i]; ll = r->v[S_LLAST][i]; rl = r->v[S_RLAST][i]; }
			else { y[4][i] = ll; y[5][i] = rl; }
		}
		/* at most 6 ticks, on bucket starts */
		for (i = 0; i < n && nt < 6; i += (n + 5) / 6) {
			fmttime(&tl[nt], (long long)x[i], 0);
			if (st.maxt - st.first < 86400LL * 1000000) {    /* one day: the time is enough */
				memmove(tl[nt].s, tl[nt].s + 11, 5);
				buf_trunc(&tl[nt], 5);
			}
			tk[nt].x = x[i];
			tk[nt].label = tl[nt].s;
			nt++;
		}
		memset(&p, 0, sizeof p);
		p.x = x; p.n = n; p.ser = s; p.ticks = tk; p.nticks = nt;
		p.id = "deliveries"; p.title = "Deliveries per minute"; p.ylabel = "per minute";
		s[0] = (struct svgser){"success", "#2a7ab0", y[0]};
		s[1] = (struct svgser){"attempts", "#9aa", y[1]};
		p.nser = 2;
		if (svgplot_draw(o, &p) < 0) err_nomem();
		p.id = "failures"; p.title = "Failures and deferrals over time"; p.ylabel = "per minute";
		s[0] = (struct svgser){"failure", "#c0392b", y[2]};
		s[1] = (struct svgser){"deferral", "#e6a23c", y[3]};
		if (svgplot_draw(o, &p) < 0) err_nomem();
		p.id = "concurrency"; p.title = "Concurrency (deliveries in progress, peak)"; p.ylabel = "deliveries";
		s[0] = (struct svgser){"local", "#27ae60", y[4]};
		s[1] = (struct svgser){"remote", "#8e44ad", y[5]};
		if (svgplot_draw(o, &p) < 0) err_nomem();
		free(x);
		for (k = 0; k < 6; k++) free(y[k]);
		for (i = 0; i < nt; i++) buf_free(&tl[i]);
	} else
		put(o, "<p>(no time-stamped deliveries to plot)</p>\n");
	for (i = 0; i < DCLASS_N; i++) {
		dx[i] = (double)i;
		dy[i] = (double)st.dclass[i];
		dtk[i].x = (double)i;
		dtk[i].label = logstat_dclass_name[i];
	}
	memset(&p, 0, sizeof p);
	p.x = dx; p.n = DCLASS_N; p.ser = s; p.nser = 1; p.ticks = dtk; p.nticks = DCLASS_N; p.bars = 1;
	p.id = "delays"; p.title = "Queue delay distribution (new msg to final delivery)"; p.ylabel = "messages";
	s[0] = (struct svgser){"messages", "#2a7ab0", dy};
	if (svgplot_draw(o, &p) < 0) err_nomem();
}

static const char style[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222}"
	"table{border-collapse:collapse;margin:.5em 0 1em}"
	"td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
	"th{background:#f3f3f3}.l{text-align:left}table.kv th{text-align:left}"
	"svg.plot{display:block;margin:.5em 0 1.5em}";

static void report(struct em *e)
{
	header(e);
	overall(e);
	delays(e);
	hours(e);
	tables(e);
}

int main(int argc, char **argv)
{
	const char *html = 0;
	struct input *in;
	size_t nin = 0, i, j;
	int a, nostdin = 1;
	buf out = BUF_INIT;
	struct em e;

	err_prog = "qmail-report";
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--")) { a++; break; }
		if (!strcmp(argv[a], "--html")) {
			if (++a == argc) err_die(EXIT_PERM, USAGE, (char *)0);
			html = argv[a];
		} else if (!strcmp(argv[a], "--top")) {
			unsigned long u;
			if (++a == argc || str_toul(argv[a], &u) < 0 || !u || u > 100000) err_die(EXIT_PERM, USAGE, (char *)0);
			top = u;
		} else if (argv[a][0] == '-' && argv[a][1])
			err_die(EXIT_PERM, USAGE, (char *)0);
		else
			break;
	}
	in = calloc((size_t)(argc - a) + 1, sizeof *in);
	if (!in) err_nomem();
	for (; a < argc; a++) {
		in[nin].name = argv[a];
		if (!strcmp(argv[a], "-")) {
			if (!nostdin) continue;   /* standard input can be read only once */
			nostdin = 0;
		}
		in[nin].idx = nin;
		nin++;
	}
	if (!nin) in[nin++].name = "-";
	for (i = 0; i < nin; i++) { rotname(&in[i]); peek(&in[i]); }
	for (i = 1; i < nin; i++)
		for (j = i; j > 0 && before(&in[j], &in[j - 1]); j--) {
			struct input t = in[j]; in[j] = in[j - 1]; in[j - 1] = t;
		}

	if (logstat_init(&st, TOPCAP) < 0) err_nomem();
	for (i = 0; i < nin; i++) readin(&in[i]);

	e.html = 0;
	e.o = &out;
	report(&e);
	if (write_all(1, out.s, out.len) < 0) err_dieerr(EXIT_TEMP, "unable to write the report", (char *)0);
	if (html) {
		out.len = 0;
		e.html = 1;
		put(&out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		          "<title>qmail-report</title><style>");
		put(&out, style);
		put(&out, "</style></head><body>\n");
		header(&e);
		plots(&out);
		overall(&e);
		delays(&e);
		hours(&e);
		tables(&e);
		put(&out, "</body></html>\n");
		if (file_replace(html, out.s, out.len, 0644) < 0)
			err_dieerr(EXIT_TEMP, "unable to write ", html, (char *)0);
	}
	buf_free(&out);
	logstat_free(&st);
	free(in);
	return 0;
}
