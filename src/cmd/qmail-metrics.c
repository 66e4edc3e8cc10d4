/* qmail-metrics: the queue's size and qmail-send's activity in the
 * Prometheus text exposition format, version 0.0.4 (qmail-metrics(8)).
 *
 * Gauges come from the queue, read as qmail-qstat and qmail-qread read it
 * (no locks, a snapshot): messages and bytes in mess/, messages by state
 * (todo, local, remote, bounce, hold), recipients still to do, the
 * oldest message's age, whether qmail-send runs. Concurrency in use and
 * the counters come from qmail-send's log (qmail-log(5)): the last
 * "status:" line, and the events counted since qmail-send's last start
 * as the log shows it (after its last "status: exiting" line, else from
 * the start of the file). Lines may carry a multilog TAI64N stamp or a
 * syslog prefix from splogger.
 *
 * Output goes to standard output for node_exporter's textfile collector,
 * or, with -H, as an HTTP/1.0 response to a request read from standard
 * input, for running under tcpserver. */
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/qctl.h"
#include "mail/qscan.h"
#include "mail/queue.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: qmail-metrics [-H] [-l logfile]"
#define LINE_MAX_ 4096          /* longest log line looked at */
#define REQ_MAX 8192            /* bytes of an HTTP request read */
#define REQ_TIMEOUT 10          /* seconds to read it */
#define DELS 4096               /* delivery numbers remembered (a power of two) */

static io_out out;
static buf body;

/* ---- the queue ---------------------------------------------------------- */

static struct {
	unsigned long mess, todo, local, remote, bounce, hold;
	unsigned long long bytes, rcpt[3];
	time_t oldest;
	int any;
	int running;        /* 1 yes, 0 no, -1 unknown */
	int readable;
} q;

struct rc { int chan[2]; };

static int onrcpt(void *ctx, const qmsg *m, int chan, int done, const char *a, size_t n)
{
	struct rc *r = ctx;
	(void)m; (void)a; (void)n;
	if (done) return 0;
	q.rcpt[chan]++;
	if (chan < 2) r->chan[chan] = 1;
	return 0;
}

static int onmsg(void *ctx, qmsg *m)
{
	struct rc r = { { 0, 0 } };
	(void)ctx;
	if (!q.any || m->birth < q.oldest) q.oldest = m->birth;
	q.any = 1;
	qscan_rcpts(m, onrcpt, &r);
	if (m->todo) return 0;
	q.local += (unsigned long)r.chan[0];
	q.remote += (unsigned long)r.chan[1];
	return 0;
}

/* Files in dir (numeric names); bytes added up when sum is given. */
static int countdir(const char *dir, unsigned long *n, unsigned long long *sum)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	buf fn = BUF_INIT;
	if (!d) return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		unsigned long id;
		struct stat st;
		if (str_toul(e->d_name, &id) < 0) continue;
		(*n)++;
		if (sum) {
			if (buf_copys(&fn, dir) < 0 || buf_putc(&fn, '/') < 0 || buf_puts(&fn, e->d_name) < 0) err_nomem();
			if (stat(fn.s, &st) == 0) *sum += (unsigned long long)st.st_size;
		}
	}
	closedir(d);
	buf_free(&fn);
	return 0;
}

static void scanqueue(void)
{
	const char *what;
	int s, m;
	char d[32];

	if (chdir(nq_home()) < 0 || chdir("queue") < 0) return;
	for (s = 0; s < QUEUE_SPLIT; s++) {
		size_t k;
		memcpy(d, "mess/", 5);
		k = fmt_ulong(d + 5, (unsigned long long)s);
		d[5 + k] = 0;
		if (countdir(d, &q.mess, &q.bytes) < 0) return;
	}
	if (countdir("todo", &q.todo, 0) < 0 || countdir("bounce", &q.bounce, 0) < 0 ||
	    countdir(QCTL_HOLDDIR, &q.hold, 0) < 0)
		return;
	if (qscan_each(onmsg, 0, &what) < 0) return;
	q.readable = 1;
	q.running = -1;
	m = open("lock/sendmutex", O_WRONLY | O_CLOEXEC);
	if (m >= 0) {
		if (lock_exnb(m) == 0) q.running = 0;
		else if (errno == EWOULDBLOCK) q.running = 1;
		close(m);   /* drops our lock at once */
	}
}

/* ---- the log -------------------------------------------------------------- */

enum { C_NEW, C_END, C_BOUNCE, C_TRIPLE, NCOUNT };
static struct {
	int readable;
	unsigned long long count[NCOUNT];
	unsigned long long started[2];
	unsigned long long done[3][3];     /* [local remote unknown][success deferral failure] */
	unsigned long used[2], limit[2];
	int status;                        /* a status line was seen */
	unsigned long dnum[DELS];          /* delivery number -> channel + 1 */
	unsigned char dchan[DELS];
} lg;

static void resetlog(void)
{
	memset(lg.count, 0, sizeof lg.count);
	memset(lg.started, 0, sizeof lg.started);
	memset(lg.done, 0, sizeof lg.done);
	memset(lg.dchan, 0, sizeof lg.dchan);
	lg.used[0] = lg.used[1] = 0;
}

/* s starts with the text p: return what follows, else 0. */
static const char *after(const char *s, const char *p)
{
	size_t n = strlen(p);
	return strncmp(s, p, n) ? 0 : s + n;
}

/* "local 2/10 remote 0/20" */
static void status(const char *s)
{
	unsigned long v[4];
	const char *names[2] = { " local ", " remote " };
	int c;
	if (after(s, " exiting")) { resetlog(); return; }
	for (c = 0; c < 2; c++) {
		size_t k;
		if (!(s = after(s, names[c]))) return;
		if (!(k = scan_ulong(s, strlen(s), &v[2 * c])) || s[k] != '/') return;
		s += k + 1;
		if (!(k = scan_ulong(s, strlen(s), &v[2 * c + 1]))) return;
		s += k;
	}
	lg.used[0] = v[0]; lg.limit[0] = v[1];
	lg.used[1] = v[2]; lg.limit[1] = v[3];
	lg.status = 1;
}

static void logline(char *s)
{
	const char *p;
	unsigned long n;
	size_t k;

	/* multilog's "@" TAI64N stamp; splogger's "qmail: " and its stamp */
	if (s[0] == '@' && strlen(s) > 26 && s[25] == ' ') s += 26;
	if ((p = strstr(s, "qmail: "))) s = (char *)p + 7;
	k = strspn(s, "0123456789.");
	if (k && s[k] == ' ') s += k + 1;

	if ((p = after(s, "status:"))) status(p);
	else if (after(s, "new msg ")) lg.count[C_NEW]++;
	else if (after(s, "end msg ")) lg.count[C_END]++;
	else if (after(s, "bounce msg ")) lg.count[C_BOUNCE]++;
	else if (after(s, "triple bounce: ")) lg.count[C_TRIPLE]++;
	else if ((p = after(s, "starting delivery ")) && (k = scan_ulong(p, strlen(p), &n))) {
		int c = strstr(p + k, " to remote ") ? 1 : strstr(p + k, " to local ") ? 0 : -1;
		if (c < 0) return;
		lg.started[c]++;
		lg.dnum[n & (DELS - 1)] = n;
		lg.dchan[n & (DELS - 1)] = (unsigned char)(c + 1);
	} else if ((p = after(s, "delivery ")) && (k = scan_ulong(p, strlen(p), &n))) {
		int r = after(p + k, ": success:") ? 0 : after(p + k, ": deferral:") ? 1 : after(p + k, ": failure:") ? 2 : -1;
		int c = 2;
		if (r < 0) return;
		if (lg.dnum[n & (DELS - 1)] == n && lg.dchan[n & (DELS - 1)]) {
			c = lg.dchan[n & (DELS - 1)] - 1;
			lg.dchan[n & (DELS - 1)] = 0;
		}
		lg.done[c][r]++;
	}
}

static void readlog(const char *fn)
{
	io_in in;
	buf line = BUF_INIT;
	int fd = open(fn, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) return;
	in_init(&in, fd, 0);
	for (;;) {
		line.len = 0;
		r = in_getline(&in, &line, '\n', LINE_MAX_);
		if (r < 0 && errno == ERANGE) continue;   /* too long for any line we count */
		if (r < 0) { close(fd); buf_free(&line); return; }
		if (!line.len) break;
		if (line.s[line.len - 1] == '\n') line.s[--line.len] = 0;
		if (memchr(line.s, 0, line.len)) continue;
		logline(line.s);
		if (r == 0) break;
	}
	close(fd);
	buf_free(&line);
	lg.readable = 1;
}

/* ---- output --------------------------------------------------------------- */

static void put(const char *s) { if (buf_puts(&body, s) < 0) err_nomem(); }
static void num(unsigned long long n) { if (buf_putnum(&body, n) < 0) err_nomem(); }

static void family(const char *name, const char *type, const char *help)
{
	put("# HELP "); put(name); put(" "); put(help); put("\n");
	put("# TYPE "); put(name); put(" "); put(type); put("\n");
}
static void sample(const char *name, const char *label, const char *value, unsigned long long v)
{
	put(name);
	if (label) { put("{"); put(label); put("=\""); put(value); put("\"}"); }
	put(" "); num(v); put("\n");
}

static void metrics(time_t now)
{
	static const char *chan[3] = { "local", "remote", "unknown" };
	static const char *res[3] = { "success", "deferral", "failure" };
	int c, r;

	family("nqmail_up", "gauge", "1 when the queue could be read.");
	sample("nqmail_up", 0, 0, (unsigned long long)q.readable);
	if (q.readable) {
		family("nqmail_queue_messages", "gauge", "Messages in the queue (files in queue/mess), those being queued included.");
		sample("nqmail_queue_messages", 0, 0, q.mess);
		family("nqmail_queue_bytes", "gauge", "Bytes of the messages in the queue.");
		sample("nqmail_queue_bytes", 0, 0, q.bytes);
		family("nqmail_queue_state_messages", "gauge",
		       "Messages by state: todo (not yet preprocessed), local and remote (recipients to do there), bounce (a bounce being collected), hold (held by qmail-qctl).");
		sample("nqmail_queue_state_messages", "state", "todo", q.todo);
		sample("nqmail_queue_state_messages", "state", "local", q.local);
		sample("nqmail_queue_state_messages", "state", "remote", q.remote);
		sample("nqmail_queue_state_messages", "state", "bounce", q.bounce);
		sample("nqmail_queue_state_messages", "state", "hold", q.hold);
		family("nqmail_queue_recipients", "gauge", "Recipients not yet delivered or bounced, by channel (todo: not yet preprocessed).");
		sample("nqmail_queue_recipients", "channel", "local", q.rcpt[QSCAN_LOCAL]);
		sample("nqmail_queue_recipients", "channel", "remote", q.rcpt[QSCAN_REMOTE]);
		sample("nqmail_queue_recipients", "channel", "todo", q.rcpt[QSCAN_TODO]);
		family("nqmail_queue_oldest_message_age_seconds", "gauge", "Age of the oldest message qmail-send knows of (0: none).");
		sample("nqmail_queue_oldest_message_age_seconds", 0, 0,
		       q.any && now > q.oldest ? (unsigned long long)(now - q.oldest) : 0);
		if (q.running >= 0) {
			family("nqmail_send_running", "gauge", "1 when qmail-send holds queue/lock/sendmutex.");
			sample("nqmail_send_running", 0, 0, (unsigned long long)q.running);
		}
	}
	family("nqmail_log_up", "gauge", "1 when qmail-send's log could be read.");
	sample("nqmail_log_up", 0, 0, (unsigned long long)lg.readable);
	if (!lg.readable) return;
	if (lg.status) {
		family("nqmail_concurrency_used", "gauge", "Deliveries in progress, from qmail-send's last status line.");
		sample("nqmail_concurrency_used", "channel", "local", lg.used[0]);
		sample("nqmail_concurrency_used", "channel", "remote", lg.used[1]);
		family("nqmail_concurrency_limit", "gauge", "Deliveries allowed at once (concurrencylocal, concurrencyremote), from the same line.");
		sample("nqmail_concurrency_limit", "channel", "local", lg.limit[0]);
		sample("nqmail_concurrency_limit", "channel", "remote", lg.limit[1]);
	}
	family("nqmail_messages_received_total", "counter", "Messages qmail-send took from todo/ (new msg) since its start.");
	sample("nqmail_messages_received_total", 0, 0, lg.count[C_NEW]);
	family("nqmail_messages_done_total", "counter", "Messages finished and removed (end msg) since qmail-send's start.");
	sample("nqmail_messages_done_total", 0, 0, lg.count[C_END]);
	family("nqmail_bounces_total", "counter", "Bounces queued (bounce msg) since qmail-send's start.");
	sample("nqmail_bounces_total", 0, 0, lg.count[C_BOUNCE]);
	family("nqmail_triple_bounces_total", "counter", "Failure reports discarded as triple bounces since qmail-send's start.");
	sample("nqmail_triple_bounces_total", 0, 0, lg.count[C_TRIPLE]);
	family("nqmail_deliveries_started_total", "counter", "Delivery attempts started since qmail-send's start, by channel.");
	sample("nqmail_deliveries_started_total", "channel", "local", lg.started[0]);
	sample("nqmail_deliveries_started_total", "channel", "remote", lg.started[1]);
	family("nqmail_deliveries_total", "counter",
	       "Delivery attempts finished since qmail-send's start, by channel (unknown: started before the log read) and result.");
	for (c = 0; c < 3; c++)
		for (r = 0; r < 3; r++) {
			if (c == 2 && !lg.done[c][r]) continue;
			put("nqmail_deliveries_total{channel=\""); put(chan[c]);
			put("\",result=\""); put(res[r]); put("\"} ");
			num(lg.done[c][r]);
			put("\n");
		}
}

/* -H: read the request (bounded, with a timeout); refuse all but GET
 * and HEAD. Returns 1 for HEAD (headers only). */
static int http(void)
{
	io_in in;
	buf line = BUF_INIT;
	size_t total = 0;
	int first = 1, get = 0, head = 0, r;

	in_init(&in, 0, REQ_TIMEOUT);
	for (;;) {
		line.len = 0;
		r = in_getline(&in, &line, '\n', REQ_MAX);
		if (r <= 0) _exit(0);                   /* gone, too slow or too long */
		total += line.len;
		if (total > REQ_MAX) _exit(0);
		if (first) {
			head = buf_starts(&line, "HEAD ");
			get = head || buf_starts(&line, "GET ");
			first = 0;
		}
		if (line.len <= 2 && (line.s[0] == '\n' || line.s[0] == '\r')) break;
	}
	buf_free(&line);
	if (!get) {
		out_puts(&out, "HTTP/1.0 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
		out_flush(&out);
		_exit(0);
	}
	return head;
}

int main(int argc, char **argv)
{
	const char *logfn = 0;
	buf deflog = BUF_INIT;
	int opt, web = 0, head = 0;
	time_t now;

	err_prog = "qmail-metrics";
	while ((opt = getopt(argc, argv, "Hl:")) != -1)
		switch (opt) {
		case 'H': web = 1; break;
		case 'l': logfn = optarg; break;
		default: err_die(EXIT_PERM, USAGE, (char *)0);
		}
	if (optind < argc) err_die(EXIT_PERM, USAGE, (char *)0);
	out_init(&out, 1, web ? REQ_TIMEOUT : 0);
	if (web) head = http();
	if (!logfn) logfn = nq_path(&deflog, "log/qmail-send/current");
	readlog(logfn);
	now = time(0);
	scanqueue();
	metrics(now);
	if (web) {
		char n[24];
		out_puts(&out, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: ");
		fmt_ulong(n, body.len);
		out_puts(&out, n);
		out_puts(&out, "\r\nConnection: close\r\n\r\n");
	}
	if ((!head && out_put(&out, body.s, body.len) < 0) || out_flush(&out) < 0)
		err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	return 0;
}
