/* qmail-qmqpd: receive one message via QMQP (qmail-qmqpd(8)).
 *
 * tcpserver runs it as qmaild, one process per connection, on the hubs
 * that satellites (qmail-qmqpc) hand their mail to. The request is one
 * netstring holding three or more netstrings: the message (LF line
 * ends), the envelope sender, then each recipient. The message streams
 * into qmail-queue (or $QMAILQUEUE) behind a Received line while it
 * arrives, so memory does not grow with it; the envelope follows only
 * once the request's last byte is in, so a client that goes away never
 * leaves anything queued. The answer is one netstring: K (queued),
 * Z (try again later) or D (never), then a human text.
 *
 * QMQP has no access control of its own: whoever can connect can relay
 * through the hub, so tcpserver's rules must admit only the satellites.
 * What is refused, and how, is in doc/qmail-qmqpd.8.
 * Environment: TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO, TCPLOCALHOST,
 * DATABYTES (overrides control/databytes), QMAILQUEUE. */
#include "lib/err.h"
#include "lib/netstring.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/control.h"
#include "mail/envelope.h"
#include "mail/instance.h"
#include "mail/qqclient.h"
#include "mail/received.h"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The protocol's own bound: a session takes at most an hour. */
#define SESSION_MAX 3600

static io_in in;
static io_out out;

static struct {
	buf me;
	unsigned long databytes, timeout;
	const char *remoteip;
} cf;

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : 0;
}

/* The request cannot be followed to its end: there is nobody to answer.
 * The client sees no answer, which QMQP makes a temporary failure. */
static _Noreturn void hangup(const char *why)
{
	const char *e = errno == ETIMEDOUT ? " (timeout)" : errno == EPIPE ? " (connection closed early)" : "";
	err_warn(why, e, " from ", cf.remoteip, (char *)0);
	_exit(0);
}

/* The one answer of the session. */
static _Noreturn void answer(char code, const char *text)
{
	buf a = BUF_INIT;

	if (buf_putc(&a, code) < 0 || buf_puts(&a, text) < 0) err_nomem();
	if (code != 'K') err_warn("refused (", a.s, ") from ", cf.remoteip, (char *)0);
	if (ns_write(&out, a.s, a.len) < 0 || out_flush(&out) < 0)
		err_dieerr(EXIT_TEMP, "unable to answer ", cf.remoteip, (char *)0);
	_exit(0);
}

static void config(void)
{
	const char *v;

	nq_chdir_home();
	if (control_readline(&cf.me, "me", 0) < 0) err_dieerr(EXIT_TEMP, "unable to read control/me", (char *)0);
	if (!cf.me.len) {
		v = env("TCPLOCALHOST");
		if (!v) v = env("TCPLOCALIP");
		if (buf_copys(&cf.me, v ? v : "unknown") < 0) err_nomem();
	}
	v = env("DATABYTES");
	if (!v || str_toul(v, &cf.databytes) < 0)
		if (control_readulong(&cf.databytes, "databytes", 0) < 0)
			err_dieerr(EXIT_TEMP, "unable to read control/databytes", (char *)0);
	if (control_readulong(&cf.timeout, "timeoutsmtpd", 1200) < 0)
		err_dieerr(EXIT_TEMP, "unable to read control/timeoutsmtpd", (char *)0);
	if (!cf.timeout || cf.timeout > SESSION_MAX) cf.timeout = SESSION_MAX;
}

/* Copy (or, with q 0, discard) the n message bytes as they arrive. */
static void message(qq *q, size_t n)
{
	while (n) {
		ssize_t r = in_fill(&in);
		size_t k;

		if (r <= 0) {
			if (r == 0) errno = EPIPE;
			hangup("request cut short");
		}
		k = in_buffered(&in);
		if (k > n) k = n;
		if (q) qq_put(q, in.b + in.pos, k);
		in.pos += k;
		n -= k;
	}
}

/* The next envelope field inside the request, of which *rest bytes are
 * left. An address over ENVELOPE_ADDR_MAX is read and dropped: 0 then,
 * else 1 with the address in b (NUL-terminated). */
static int field(buf *b, size_t *rest)
{
	int r = ns_field(&in, b, ENVELOPE_ADDR_MAX, rest);
	if (r < 0) {
		if (errno == ENOMEM) err_nomem();
		hangup("malformed envelope");
	}
	return r;
}

int main(void)
{
	struct received rv;
	buf addr = BUF_INIT, why = BUF_INIT;
	size_t total, msglen, rest;
	unsigned long nrcpt = 0;
	const char *bad = 0;
	char num[24];
	int r, haveqq = 0, toobig;
	qq q;

	err_prog = "qmail-qmqpd";
	sig_ignore(SIGPIPE);
	cf.remoteip = env("TCPREMOTEIP");
	if (!cf.remoteip) cf.remoteip = "unknown";
	config();
	sig_default(SIGALRM);
	alarm(SESSION_MAX);
	in_init(&in, 0, (int)cf.timeout);
	out_init(&out, 1, (int)cf.timeout);

	/* The request and, first inside it, the message. */
	r = ns_getlen(&in, SIZE_MAX, &total);
	if (r == 0) _exit(0);
	if (r < 0) hangup("malformed request");
	if (ns_getlen(&in, SIZE_MAX, &msglen) != 1 || ns_size(msglen) > total) {
		if (errno != ETIMEDOUT && errno != EPIPE) errno = EPROTO;
		hangup("malformed request");
	}
	rest = total - ns_size(msglen);
	toobig = cf.databytes && msglen > cf.databytes;
	if (!toobig) {
		if (qq_open(&q, 0) < 0) err_warnerr("unable to start qmail-queue", (char *)0);
		else haveqq = 1;
	}
	if (haveqq) {
		buf rl = BUF_INIT;
		memset(&rv, 0, sizeof rv);
		rv.remoteip = env("TCPREMOTEIP");
		rv.remotehost = env("TCPREMOTEHOST");
		rv.remoteinfo = env("TCPREMOTEINFO");
		rv.me = cf.me.s;
		rv.proto = "QMQP";
		rv.when = time(0);
		if (received_line(&rl, &rv) < 0) err_nomem();
		qq_put(&q, rl.s, rl.len);
		buf_free(&rl);
	}
	message(haveqq ? &q : 0, msglen);
	if (ns_getcomma(&in) < 0) hangup("malformed request");

	/* The envelope: it reaches qmail-queue as it is read, but qmail-queue
	 * queues nothing until it has the final NUL, written only below. */
	if (!rest) hangup("malformed request (no sender)");
	if (!field(&addr, &rest)) bad = "sender address too long (#5.1.7)";
	else if (memchr(addr.s, 0, addr.len)) bad = "NUL in the sender address (#5.1.7)";
	if (haveqq) qq_from(&q, bad ? "" : addr.s);
	while (rest) {
		if (!field(&addr, &rest)) { bad = "recipient address too long (#5.1.3)"; continue; }
		if (!addr.len || memchr(addr.s, 0, addr.len)) { bad = "malformed recipient address (#5.1.3)"; continue; }
		if (haveqq) qq_to(&q, addr.s, addr.len);
		nrcpt++;
	}
	if (ns_getcomma(&in) < 0) hangup("malformed request");
	buf_free(&addr);

	if (!bad && !nrcpt) bad = "no recipients (#5.1.3)";
	if (toobig) bad = "sorry, that message size exceeds my databytes limit (#5.3.4)";
	if (bad) {
		if (haveqq) { q.failed = 1; qq_close(&q, &why); }
		answer('D', bad);
	}
	if (!haveqq) answer('Z', "unable to start qmail-queue (#4.3.0)");
	r = qq_close(&q, &why);
	if (r) answer((char)r, why.s);
	{
		buf ok = BUF_INIT;
		if (buf_puts(&ok, "ok ") < 0) err_nomem();
		fmt_ulong(num, (unsigned long long)time(0));
		if (buf_puts(&ok, num) < 0 || buf_puts(&ok, " qp ") < 0) err_nomem();
		fmt_ulong(num, (unsigned long long)q.pid);
		if (buf_puts(&ok, num) < 0) err_nomem();
		answer('K', ok.s);
	}
}
