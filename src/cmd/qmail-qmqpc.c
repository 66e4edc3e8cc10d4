/* qmail-qmqpc: queue a message on a QMQP server (qmail-qmqpc(8)).
 *
 * It has qmail-queue's interface, so that a host with no queue of its
 * own (a mini-qmail satellite) can use it in qmail-queue's place, as
 * DIR/bin/qmail-queue or through $QMAILQUEUE: the message arrives on
 * descriptor 0, then the envelope ("F" sender NUL, "T" recipient NUL
 * each, NUL) on descriptor 1, and the exit code is qmail-queue's: 0
 * queued, 31 refused for good, 71-74 and the rest temporary.
 *
 * QMQP declares every length first, so the whole message is read before
 * anything is sent: kept in memory up to SPOOL_MEM bytes, beyond that in
 * an unlinked file under $TMPDIR (a message on a regular file is sent
 * straight from it). Then the servers in control/qmqpservers are tried
 * in order, on port 628 unless the line names one; the first that says
 * K or D decides. A server that cannot be reached, answers Z or fails
 * mid-way hands the message to the next; the exit code then describes
 * the last failure. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/ipaddr.h"
#include "lib/netstring.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/control.h"
#include "mail/envelope.h"
#include "mail/instance.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PORT_QMQP 628
#define SPOOL_MEM (1024 * 1024)           /* message bytes kept in memory */
#define ENVELOPE_MAX (64 * 1024 * 1024)   /* bytes of envelope we hold */
#define REPLY_MAX 1000

/* qmail-queue's exit codes (qmail-queue(8)). */
#define QQ_PERM 31
#define QQ_NOMEM 51
#define QQ_WRITE 53
#define QQ_READ 54
#define QQ_CONTROL 55
#define QQ_HOME 61
#define QQ_TEMP 71
#define QQ_TIMEOUT 72
#define QQ_REFUSED 73
#define QQ_CONN 74
#define QQ_BUG 81
#define QQ_FORMAT 91

static struct {
	buf mem;          /* the message, while it fits in memory */
	int fd;           /* else the file holding it (-1: none) */
	off_t base;       /* where the message starts in fd */
	size_t len;
} mess = {BUF_INIT, -1, 0, 0};

static buf env;       /* the envelope as read from descriptor 1 */
static buf after;     /* "," then the envelope as netstrings */
static unsigned long tconnect, tremote;

static _Noreturn void die(int code, const char *what)
{
	err_warn(what, (char *)0);
	_exit(code);
}

static _Noreturn void dieerr(int code, const char *what)
{
	err_warnerr(what, (char *)0);
	_exit(code);
}

/* An unlinked file for a message too big for memory. */
static int spoolfile(void)
{
	const char *dir = getenv("TMPDIR");
	buf path = BUF_INIT;
	int fd;

	if (!dir || *dir != '/') dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) return fd;
	/* A file system without O_TMPFILE: a named file, unlinked at once. */
	if (buf_copys(&path, dir) < 0 || buf_puts(&path, "/qmail-qmqpc.XXXXXX") < 0) _exit(QQ_NOMEM);
	fd = mkstemp(path.s);
	if (fd >= 0) unlink(path.s);
	buf_free(&path);
	return fd;
}

static void readmess(void)
{
	struct stat st;
	char tmp[IO_BUFSIZE];
	off_t at;

	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode) && (at = lseek(0, 0, SEEK_CUR)) >= 0 && at <= st.st_size) {
		if ((unsigned long long)(st.st_size - at) > SIZE_MAX / 2) die(QQ_NOMEM, "message too large");
		mess.fd = 0;
		mess.base = at;
		mess.len = (size_t)(st.st_size - at);
		return;
	}
	for (;;) {
		ssize_t r = read(0, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR) continue;
			dieerr(QQ_READ, "unable to read the message");
		}
		if (r == 0) break;
		if (mess.len > SIZE_MAX / 2 - (size_t)r) die(QQ_NOMEM, "message too large");
		if (mess.fd < 0 && mess.mem.len + (size_t)r > SPOOL_MEM) {
			if ((mess.fd = spoolfile()) < 0) dieerr(QQ_WRITE, "unable to create a spool file");
			if (write_all(mess.fd, mess.mem.s, mess.mem.len) < 0) dieerr(QQ_WRITE, "unable to write the spool file");
			buf_free(&mess.mem);
		}
		if (mess.fd >= 0) {
			if (write_all(mess.fd, tmp, (size_t)r) < 0) dieerr(QQ_WRITE, "unable to write the spool file");
		} else if (buf_put(&mess.mem, tmp, (size_t)r) < 0) _exit(QQ_NOMEM);
		mess.len += (size_t)r;
	}
}

/* The envelope, checked as it streams (src/mail/envelope.h), then
 * turned into QMQP's sender and recipient netstrings. */
static void readenv(void)
{
	char tmp[IO_BUFSIZE];
	envscan e;
	envrec rec;
	size_t used, pos = 0;
	int r;

	envscan_init(&e);
	for (;;) {
		ssize_t k = read(1, tmp, sizeof tmp);
		if (k < 0) {
			if (errno == EINTR) continue;
			dieerr(QQ_READ, "unable to read the envelope");
		}
		if (k == 0) { r = envscan_eof(&e); break; }
		r = envscan_feed(&e, tmp, (size_t)k, &used);
		if (env.len + used > ENVELOPE_MAX) die(QQ_NOMEM, "envelope too large");
		if (buf_put(&env, tmp, used) < 0) _exit(QQ_NOMEM);
		if (r != ENV_MORE) break;
	}
	if (r == ENV_ETOOLONG) die(11, "envelope address too long");
	if (r == ENV_ETRUNC) die(QQ_READ, "envelope cut short");
	if (r != ENV_DONE) die(QQ_FORMAT, "envelope format error");
	if (buf_putc(&after, ',') < 0) _exit(QQ_NOMEM);
	while ((r = env_next(env.s, env.len, &pos, &rec)) == 1)
		if (ns_put(&after, rec.s, rec.len) < 0) _exit(QQ_NOMEM);
	if (r < 0) die(QQ_BUG, "envelope parse error");
}

/* A line of control/qmqpservers: "addr" (port 628), "a.b.c.d:port" or
 * "[v6addr]:port". 0 ok, -1 not understood. */
static int server(const char *s, ipaddr *ip, unsigned *port)
{
	size_t n = strlen(s), c;
	const char *p = 0;
	unsigned long u;

	*port = PORT_QMQP;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || ipaddr_scan(ip, s + 1, (size_t)(end - s - 1)) < 0) return -1;
		if (end[1] == ':') p = end + 2;
		else if (end[1]) return -1;
	} else if (ipaddr_scan(ip, s, n) < 0) {
		c = byte_rchr(s, n, ':');
		if (c == n || ipaddr_scan(ip, s, c) < 0 || ip->family != AF_INET) return -1;
		p = s + c + 1;
	}
	if (p) {
		if (str_toul(p, &u) < 0 || u == 0 || u > 65535) return -1;
		*port = (unsigned)u;
	}
	return 0;
}

static int sendmess(io_out *o)
{
	char tmp[IO_BUFSIZE];
	size_t done = 0;

	if (mess.fd < 0) return out_put(o, mess.mem.s, mess.len);
	while (done < mess.len) {
		size_t want = mess.len - done < sizeof tmp ? mess.len - done : sizeof tmp;
		ssize_t r = pread(mess.fd, tmp, want, mess.base + (off_t)done);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) dieerr(QQ_READ, "unable to read the message");
		if (r == 0) die(QQ_READ, "message shrank while being sent");
		if (out_put(o, tmp, (size_t)r) < 0) return -1;
		done += (size_t)r;
	}
	return 0;
}

/* One server. Returns only on a temporary failure, with the exit code
 * that describes it; K and D end the program. */
static int attempt(const char *line)
{
	char pre[NS_PREFIX_MAX], total[NS_PREFIX_MAX], name[IPADDR_FMT];
	buf reply = BUF_INIT;
	size_t plen, sum;
	unsigned port;
	io_out o;
	io_in i;
	ipaddr ip;
	int fd;

	if (server(line, &ip, &port) < 0) {
		err_warn("control/qmqpservers: not an address: ", line, (char *)0);
		return QQ_CONTROL;
	}
	ipaddr_fmt(name, &ip);
	fd = ipaddr_connect(&ip, port, 0, (int)tconnect);
	if (fd < 0) {
		int code = errno == ETIMEDOUT ? QQ_TIMEOUT : QQ_REFUSED;
		err_warnerr("unable to connect to ", line, (char *)0);
		return code;
	}
	/* The request: the netstring of (message, sender, recipients). */
	plen = ns_fmtlen(pre, mess.len);
	sum = plen + mess.len;
	if (sum < plen || sum + after.len < sum || !ns_size(sum + after.len)) die(QQ_NOMEM, "message too large");
	ns_fmtlen(total, sum + after.len);
	out_init(&o, fd, (int)tremote);
	if (out_puts(&o, total) < 0 || out_put(&o, pre, plen) < 0 || sendmess(&o) < 0 ||
	    out_put(&o, after.s, after.len) < 0 || out_put(&o, ",", 1) < 0 || out_flush(&o) < 0)
		goto fail;
	in_init(&i, fd, (int)tremote);
	if (ns_get(&i, &reply, REPLY_MAX, 0) != 1 || !reply.len) goto fail;
	close(fd);
	switch (reply.s[0]) {
	case 'K': _exit(0);
	case 'D':
		err_warn("refused by ", line, ": ", reply.s + 1, (char *)0);
		_exit(QQ_PERM);
	case 'Z':
		err_warn("deferred by ", line, ": ", reply.s + 1, (char *)0);
		buf_free(&reply);
		return QQ_TEMP;
	}
	err_warn("unrecognized answer from ", line, (char *)0);
	buf_free(&reply);
	return QQ_CONN;
fail:
	if (errno == ETIMEDOUT) err_warn("timeout talking to ", line, (char *)0);
	else if (errno == EPROTO || errno == ERANGE) err_warn("malformed answer from ", line, (char *)0);
	else if (errno == EPIPE) err_warn("connection to ", line, " closed without an answer", (char *)0);
	else err_warnerr("trouble talking to ", line, (char *)0);
	close(fd);
	buf_free(&reply);
	return QQ_CONN;
}

int main(void)
{
	buf servers = BUF_INIT;
	const char *line;
	int lasterror = QQ_CONTROL;

	err_prog = "qmail-qmqpc";
	sig_ignore(SIGPIPE);
	if (chdir(nq_home()) < 0) dieerr(QQ_HOME, "unable to switch to the home directory");
	switch (control_readlines(&servers, "qmqpservers")) {
	case 1: break;
	case 0: die(QQ_CONTROL, "control/qmqpservers is missing: no QMQP server to send to");
	default: dieerr(QQ_CONTROL, "unable to read control/qmqpservers");
	}
	if (control_readulong(&tconnect, "timeoutconnect", 60) < 0) dieerr(QQ_CONTROL, "unable to read control/timeoutconnect");
	if (control_readulong(&tremote, "timeoutremote", 1200) < 0) dieerr(QQ_CONTROL, "unable to read control/timeoutremote");

	readmess();
	readenv();

	for (line = 0; (line = list_next(&servers, line)); )
		lasterror = attempt(line);
	_exit(lasterror);
}
