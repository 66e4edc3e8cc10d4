/* qmail-qmtpd: receive mail via QMTP (qmail-qmtpd(8)).
 *
 * tcpserver runs it as qmaild, one process per connection (port 209).
 * The client sends packages, as many as it likes, each three netstrings:
 * the message (its first byte names the format; only LF line ends, a
 * byte 0x0a, exist), the envelope sender, and a netstring holding one
 * netstring per recipient. After each package we answer one netstring
 * per recipient, in order: K (queued), Z (try again later) or D (never),
 * then a human text. 8-bit bytes pass untouched.
 *
 * The relay rules are qmail-smtpd's: a recipient is accepted when its
 * domain is in control/rcpthosts or morercpthosts.cdb (and stays so as
 * qmail-send will route it), or from anywhere when RELAYCLIENT is set, in
 * which case its value is appended to every recipient. A message streams
 * into qmail-queue (or $QMAILQUEUE) behind a Received line while it
 * arrives; the recipients follow as they are read, and the envelope is
 * finished only once the package's last byte is in, so a client that
 * goes away mid-package leaves nothing queued.
 *
 * Environment: TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO, TCPLOCALHOST,
 * RELAYCLIENT, DATABYTES (overrides control/databytes), QMAILQUEUE.
 * What is refused, and how, is in doc/qmail-qmtpd.8. */
#include "lib/err.h"
#include "lib/netstring.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/control.h"
#include "mail/envelope.h"
#include "mail/instance.h"
#include "mail/qqclient.h"
#include "mail/rcpthosts.h"
#include "mail/received.h"
#include "mail/route.h"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXRCPT_DEFAULT 1000    /* as qmail-smtpd's control/maxrcpt */
#define TIMEOUT_MAX 3600

static io_in in;
static io_out out;

static struct {
	buf me;
	unsigned long databytes, timeout, maxrcpt;
	const char *remoteip, *relayclient;
	rcpthosts rh;
	route route;
} cf;

/* What became of one recipient before the queue's answer is known. */
enum { ST_OK, ST_RELAY, ST_LONG, ST_BAD, ST_CHECK };

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : 0;
}

/* The package cannot be followed to its end: nobody can be answered.
 * QMTP makes a missing answer a temporary failure for the client. */
static _Noreturn void hangup(const char *why)
{
	const char *e = errno == ETIMEDOUT ? " (timeout)" : errno == EPIPE ? " (connection closed early)" : "";
	err_warn(why, e, " from ", cf.remoteip, (char *)0);
	_exit(0);
}

static _Noreturn void diecontrol(const char *name)
{
	err_dieerr(EXIT_TEMP, "unable to read control/", name, (char *)0);
}

static void config(void)
{
	const char *v, *what = 0;

	nq_chdir_home();
	if (control_readline(&cf.me, "me", 0) < 0) diecontrol("me");
	if (!cf.me.len) {
		v = env("TCPLOCALHOST");
		if (!v) v = env("TCPLOCALIP");
		if (buf_copys(&cf.me, v ? v : "unknown") < 0) err_nomem();
	}
	v = env("DATABYTES");
	if (!v || str_toul(v, &cf.databytes) < 0)
		if (control_readulong(&cf.databytes, "databytes", 0) < 0) diecontrol("databytes");
	if (control_readulong(&cf.timeout, "timeoutsmtpd", 1200) < 0) diecontrol("timeoutsmtpd");
	if (!cf.timeout || cf.timeout > TIMEOUT_MAX) cf.timeout = TIMEOUT_MAX;
	if (control_readulong(&cf.maxrcpt, "maxrcpt", MAXRCPT_DEFAULT) < 0) diecontrol("maxrcpt");
	if (!cf.maxrcpt) cf.maxrcpt = MAXRCPT_DEFAULT;
	cf.relayclient = getenv("RELAYCLIENT");   /* "" is meaningful */
	if (!cf.relayclient) {
		if (rcpthosts_load(&cf.rh) < 0) diecontrol("rcpthosts");
		if (!cf.rh.have)
			err_warn("control/rcpthosts is missing: accepting no domain without RELAYCLIENT", (char *)0);
		if (route_load(&cf.route, &what) < 0) diecontrol(what ? what : "locals");
	}
}

/* May this recipient be accepted? 1 yes, 0 no, -1 error. As in
 * qmail-smtpd: besides rcpthosts, the address as qmail-send will route
 * it must stay here or go to an rcpthosts domain, so that percenthack
 * cannot turn "user%elsewhere@here" into a relay. */
static int relayok(const char *addr, size_t n)
{
	buf rw = BUF_INIT;
	size_t at;
	int r;

	if (cf.relayclient) return 1;
	r = rcpthosts_allowed(&cf.rh, addr, n);
	if (r <= 0) return r;
	r = route_rewrite(&cf.route, addr, n, &rw);
	if (r < 0) return -1;
	if (r == ROUTE_LOCAL) { buf_free(&rw); return 1; }
	at = byte_rchr(rw.s, rw.len, '@');
	r = rcpthosts_domain(&cf.rh, rw.s + at + 1, rw.len - at - 1);
	buf_free(&rw);
	return r;
}

/* Copy (or, with q 0, discard) n message bytes as they arrive. */
static void message(qq *q, size_t n)
{
	while (n) {
		ssize_t r = in_fill(&in);
		size_t k;

		if (r <= 0) {
			if (r == 0) errno = EPIPE;
			hangup("package cut short");
		}
		k = in_buffered(&in);
		if (k > n) k = n;
		if (q) qq_put(q, in.b + in.pos, k);
		in.pos += k;
		n -= k;
	}
}

/* A netstring of at most max bytes into b (NUL-terminated): 1, or 0
 * when it was longer (it is then read and dropped). *rest, when not 0,
 * is what is left of the enclosing netstring, which this one must fit. */
static int field(buf *b, size_t max, size_t *rest)
{
	int r = ns_field(&in, b, max, rest);
	if (r < 0) {
		if (errno == ENOMEM) err_nomem();
		hangup("malformed package");
	}
	return r;
}

static void respond(char code, const char *text)
{
	buf a = BUF_INIT;
	if (buf_putc(&a, code) < 0 || buf_puts(&a, text) < 0) err_nomem();
	if (ns_write(&out, a.s, a.len) < 0) hangup("unable to answer");
	buf_free(&a);
}

/* One package; 0 when the client ended the session cleanly instead. */
static int package(void)
{
	struct received rv;
	buf addr = BUF_INIT, why = BUF_INIT, st = BUF_INIT, okmsg = BUF_INIT;
	size_t len, rest, i;
	const char *bad = 0;
	char fmt, num[24];
	int r, haveqq = 0, code;
	unsigned long nrcpt = 0, naccept = 0, many = 0;
	qq q;

	r = ns_getlen(&in, SIZE_MAX, &len);
	if (r == 0) return 0;
	if (r < 0 || len == 0) {
		if (r == 1) errno = EPROTO;
		hangup("malformed package");
	}
	if (in_getc(&in, &fmt) != 1) {
		errno = EPIPE;
		hangup("package cut short");
	}
	len--;
	if (fmt != '\n') bad = "unsupported message format (only LF line ends are) (#5.6.0)";
	else if (cf.databytes && len > cf.databytes) bad = "sorry, that message size exceeds my databytes limit (#5.3.4)";
	else if (qq_open(&q, 0) < 0) err_warnerr("unable to start qmail-queue", (char *)0);
	else haveqq = 1;
	if (haveqq) {
		memset(&rv, 0, sizeof rv);
		rv.remoteip = env("TCPREMOTEIP");
		rv.remotehost = env("TCPREMOTEHOST");
		rv.remoteinfo = env("TCPREMOTEINFO");
		rv.me = cf.me.s;
		rv.proto = "QMTP";
		rv.when = time(0);
		if (received_line(&addr, &rv) < 0) err_nomem();
		qq_put(&q, addr.s, addr.len);
	}
	message(haveqq ? &q : 0, len);
	if (ns_getcomma(&in) < 0) hangup("malformed package");

	if (!field(&addr, ENVELOPE_ADDR_MAX, 0)) { if (!bad) bad = "sender address too long (#5.1.7)"; }
	else if (memchr(addr.s, 0, addr.len)) { if (!bad) bad = "NUL in the sender address (#5.1.7)"; }
	if (haveqq) qq_from(&q, bad ? "" : addr.s);

	/* The recipients, each judged as it comes; one status byte each. */
	if (ns_getlen(&in, SIZE_MAX, &rest) != 1) {
		if (errno != ETIMEDOUT && errno != EPIPE) errno = EPROTO;
		hangup("malformed package");
	}
	while (rest) {
		int fits = field(&addr, ENVELOPE_ADDR_MAX, &rest);
		char s;
		if (nrcpt >= cf.maxrcpt) {
			/* Past the limit only a count is kept, so memory stays
			 * bounded however long the list: these come last. */
			many++;
			continue;
		}
		if (!fits) s = ST_LONG;
		else if (!addr.len || memchr(addr.s, 0, addr.len)) s = ST_BAD;
		else if ((r = relayok(addr.s, addr.len)) < 0) {
			err_warnerr("unable to read control/morercpthosts.cdb", (char *)0);
			s = ST_CHECK;
		} else s = r ? ST_OK : ST_RELAY;
		if (s == ST_OK) {
			if (cf.relayclient && buf_puts(&addr, cf.relayclient) < 0) err_nomem();
			if (haveqq) qq_to(&q, addr.s, addr.len);
			naccept++;
		}
		if (buf_putc(&st, s) < 0) err_nomem();
		nrcpt++;
	}
	if (ns_getcomma(&in) < 0) hangup("malformed package");
	buf_free(&addr);

	/* The whole package is in: now, and only now, the queue decides. */
	code = 'Z';
	if (bad) code = 'D';
	else if (!haveqq) bad = "unable to start qmail-queue (#4.3.0)";
	else if (!naccept) bad = "no acceptable recipients";
	if (haveqq && (bad || !naccept)) { q.failed = 1; qq_close(&q, &why); }
	else if (haveqq) {
		code = qq_close(&q, &why);
		if (code) bad = why.s;
		else {
			if (buf_puts(&okmsg, "ok ") < 0) err_nomem();
			fmt_ulong(num, (unsigned long long)time(0));
			if (buf_puts(&okmsg, num) < 0 || buf_puts(&okmsg, " qp ") < 0) err_nomem();
			fmt_ulong(num, (unsigned long long)q.pid);
			if (buf_puts(&okmsg, num) < 0) err_nomem();
		}
	}
	if (bad && naccept) err_warn("refused (", bad, ") from ", cf.remoteip, (char *)0);
	for (i = 0; i < st.len; i++) {
		switch (st.s[i]) {
		case ST_OK:
			if (!bad) respond('K', okmsg.s);
			else respond((char)code, bad);
			break;
		case ST_RELAY: respond('D', "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"); break;
		case ST_LONG: respond('D', "recipient address too long (#5.1.3)"); break;
		case ST_BAD: respond('D', "malformed recipient address (#5.1.3)"); break;
		default: respond('Z', "unable to check the recipient; try again later (#4.3.0)"); break;
		}
	}
	for (; many; many--) respond('Z', "too many recipients (#4.5.3)");
	if (out_flush(&out) < 0) hangup("unable to answer");
	buf_free(&st);
	buf_free(&why);
	buf_free(&okmsg);
	return 1;
}

int main(void)
{
	err_prog = "qmail-qmtpd";
	sig_ignore(SIGPIPE);
	cf.remoteip = env("TCPREMOTEIP");
	if (!cf.remoteip) cf.remoteip = "unknown";
	config();
	in_init(&in, 0, (int)cf.timeout);
	out_init(&out, 1, (int)cf.timeout);
	while (package()) ;
	return 0;
}
