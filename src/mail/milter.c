/* milter: the MTA side of the milter protocol; see milter.h.
 *
 * A packet is a 4-byte big-endian length (of what follows), a command
 * byte and the data. We write one packet at a time and, where the
 * protocol wants an answer, read packets until the verdict: lock step,
 * so neither side can fill its socket buffer while the other writes.
 * Everything a milter sends is checked before use; a milter that breaks
 * the protocol is disconnected and counts as down (its onfail= rule). */
#include "mail/milter.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/control.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { MS_OK, MS_BROKEN, MS_DONE };   /* MS_DONE: accepted for the connection */

#define REJECT_TEXT   "5.7.1 refused by a mail filter"
#define TEMPFAIL_TEXT "4.7.1 refused by a mail filter for now; try again later"
#define DOWN_TEXT     "451 4.7.1 mail filter unavailable; try again later"

/* ---- configuration --------------------------------------------------------- */

void milters_init(milters *ms, milter_logfn *log)
{
	memset(ms, 0, sizeof *ms);
	ms->log = log;
}

static int why1(buf *why, const char *a, const char *b, size_t bn)
{
	if (buf_copys(why, a) < 0) return -1;
	if (b && (buf_puts(why, ": ") < 0 || buf_put(why, b, bn) < 0)) return -1;
	return -1;
}

/* "ADDR:PORT", "[ADDR]:PORT" or "PORT@ADDR" */
static int hostport(milter *m, const char *s, size_t n, int v6)
{
	const char *h, *p;
	size_t hl, pl;
	unsigned long port;
	size_t at = byte_chr(s, n, '@');
	char num[8];

	if (at < n) {
		p = s; pl = at; h = s + at + 1; hl = n - at - 1;
	} else {
		size_t c = byte_rchr(s, n, ':');
		if (c == n) return -1;
		h = s; hl = c; p = s + c + 1; pl = n - c - 1;
	}
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { h++; hl -= 2; }
	if (!pl || pl >= sizeof num) return -1;
	memcpy(num, p, pl);
	num[pl] = 0;
	if (str_toul(num, &port) < 0 || port == 0 || port > 65535) return -1;
	m->port = (unsigned)port;
	if (hl == 9 && case_eqn(h, "localhost", 9)) {
		if (ipaddr_scan(&m->ip, v6 ? "::1" : "127.0.0.1", v6 ? 3 : 9) < 0) return -1;
		return 0;
	}
	if (ipaddr_scan(&m->ip, h, hl) < 0) return -1;
	if (v6 && m->ip.family != AF_INET6) return -1;
	return 0;
}

int milter_parse(milter *m, const char *line, size_t n, buf *why)
{
	size_t i = 0, w;

	m->fd = -1;
	m->onfail = MILTER_ONFAIL_TEMPFAIL;
	m->timeout = MILTER_TIMEOUT;
	while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
	for (w = i; w < n && line[w] != ' ' && line[w] != '\t'; w++) ;
	if (buf_copy(&m->name, line + i, w - i) < 0) return -1;
	if (str_start(m->name.s, "unix:") || str_start(m->name.s, "local:")) {
		size_t c = byte_chr(m->name.s, m->name.len, ':') + 1;
		struct sockaddr_un su;
		if (m->name.s[c] != '/' || m->name.len - c >= sizeof su.sun_path)
			return why1(why, "the socket of a unix: milter must be an absolute path that fits a socket address", m->name.s, m->name.len);
		m->isunix = 1;
		if (buf_copy(&m->path, m->name.s + c, m->name.len - c) < 0) return -1;
	} else if (str_start(m->name.s, "inet:") || str_start(m->name.s, "inet6:")) {
		int v6 = m->name.s[4] == '6';
		size_t c = v6 ? 6 : 5;
		if (hostport(m, m->name.s + c, m->name.len - c, v6) < 0)
			return why1(why, "expected inet:ADDRESS:PORT or inet:PORT@ADDRESS with an IP address", m->name.s, m->name.len);
	} else
		return why1(why, "a milter is unix:/PATH, inet:ADDRESS:PORT or inet6:[ADDRESS]:PORT", m->name.s, m->name.len);
	for (i = w; i < n; i = w) {
		const char *o;
		size_t ol;
		unsigned long t;
		char num[16];
		while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
		if (i == n) break;
		for (w = i; w < n && line[w] != ' ' && line[w] != '\t'; w++) ;
		o = line + i;
		ol = w - i;
		if (ol == 15 && !memcmp(o, "onfail=tempfail", 15)) m->onfail = MILTER_ONFAIL_TEMPFAIL;
		else if (ol == 13 && !memcmp(o, "onfail=accept", 13)) m->onfail = MILTER_ONFAIL_ACCEPT;
		else if (ol > 8 && ol - 8 < sizeof num && !memcmp(o, "timeout=", 8)) {
			memcpy(num, o + 8, ol - 8);
			num[ol - 8] = 0;
			if (str_toul(num, &t) < 0 || t == 0 || t > 3600)
				return why1(why, "timeout= takes 1 to 3600 seconds", o, ol);
			m->timeout = (int)t;
		} else
			return why1(why, "unknown milter option (onfail=tempfail, onfail=accept, timeout=SECONDS)", o, ol);
	}
	return 0;
}

int milters_load(milters *ms, buf *why)
{
	buf lines = BUF_INIT;
	const char *p;
	int r = 0;

	if (control_readlines(&lines, "milters") < 0) return -1;
	for (p = 0; (p = list_next(&lines, p)); ) {
		if (ms->n == MILTER_MAX) {
			why1(why, "too many milters in control/milters", 0, 0);
			r = -1;
			break;
		}
		memset(&ms->m[ms->n], 0, sizeof ms->m[ms->n]);
		if (milter_parse(&ms->m[ms->n], p, strlen(p), why) < 0) {
			buf_free(&ms->m[ms->n].name);
			buf_free(&ms->m[ms->n].path);
			if (!why->len) why1(why, "out of memory", 0, 0);
			r = -1;
			break;
		}
		ms->n++;
	}
	buf_free(&lines);
	if (r < 0) errno = EINVAL;
	return r;
}

void milters_free(milters *ms)
{
	size_t i;
	for (i = 0; i < ms->n; i++) {
		milter *m = &ms->m[i];
		if (m->fd >= 0) close(m->fd);
		m->fd = -1;
		buf_free(&m->name);
		buf_free(&m->path);
		buf_free(&m->pkt);
	}
	ms->n = 0;
	buf_free(&ms->line);
	buf_free(&ms->out);
}

int milter_macro(buf *mac, const char *name, const char *value)
{
	int brace = strlen(name) > 1 && name[0] != '{';
	if ((brace && buf_putc(mac, '{') < 0) || buf_puts(mac, name) < 0 ||
	    (brace && buf_putc(mac, '}') < 0) || buf_put0(mac) < 0 ||
	    buf_puts(mac, value ? value : "") < 0 || buf_put0(mac) < 0)
		return -1;
	return 0;
}

void milter_result_free(milter_result *r) { buf_free(&r->reply); }

void milter_edit_free(milter_edit *e)
{
	buf_free(&e->hdr);
	buf_free(&e->reason);
}

/* ---- logging and failure ------------------------------------------------------ */

static void logline(milters *ms, const milter *m, const char *a, const char *b, size_t bn)
{
	if (!ms->log) return;
	ms->line.len = 0;
	if (buf_puts(&ms->line, "milter ") < 0 || buf_put(&ms->line, m->name.s, m->name.len) < 0 ||
	    buf_puts(&ms->line, ": ") < 0 || buf_puts(&ms->line, a) < 0) return;
	if (b) {
		size_t i;
		for (i = 0; i < bn && i < 400; i++)
			if (buf_putc(&ms->line, (unsigned char)b[i] < 32 || b[i] == 127 ? '?' : b[i]) < 0) return;
	}
	ms->log(ms->line.s);
}

static int setreply(milter_result *r, int verdict, const char *s)
{
	r->verdict = verdict;
	return buf_copys(&r->reply, s);
}

static void disconnect(milter *m)
{
	if (m->fd >= 0) close(m->fd);
	m->fd = -1;
	m->state = MS_BROKEN;
	m->msg = 0;
}

/* The milter is down or broke the protocol (what, at stage). With
 * onfail=tempfail the stage is refused for now, if it is one that can
 * be refused (msglevel); otherwise the milter is simply left out. */
static int failed(milters *ms, milter *m, const char *what, const char *stage, int msglevel, milter_result *r)
{
	buf t = BUF_INIT;
	disconnect(m);
	if (buf_copys(&t, what) < 0 || buf_puts(&t, " at ") < 0 || buf_puts(&t, stage) < 0 ||
	    buf_puts(&t, m->onfail == MILTER_ONFAIL_ACCEPT ? "; left out (onfail=accept)" : "; mail refused for now (onfail=tempfail)") < 0) {
		buf_free(&t);
		return -1;
	}
	logline(ms, m, t.s, 0, 0);
	buf_free(&t);
	if (m->onfail == MILTER_ONFAIL_TEMPFAIL && msglevel && r->verdict == MILTER_CONTINUE)
		return setreply(r, MILTER_TEMPFAIL, DOWN_TEXT);
	return 0;
}

/* ---- packets ------------------------------------------------------------------------ */

static const char *ioerr(void)
{
	switch (errno) {
	case ETIMEDOUT: return "timed out";
	case EPROTO: return "broke the protocol";
	case EPIPE: return "closed the connection";
	case ECONNRESET: return "reset the connection";
	case ENOMEM: return "out of memory";
	default: return "connection failed";
	}
}

static int writeall(int fd, const char *p, size_t n, int timeout)
{
	while (n) {
		ssize_t k;
		if (io_wait(fd, 1, timeout) < 0) return -1;
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN) continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int readall(int fd, char *p, size_t n, int timeout)
{
	while (n) {
		ssize_t k;
		if (io_wait(fd, 0, timeout) < 0) return -1;
		k = read(fd, p, n);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN) continue;
			return -1;
		}
		if (k == 0) { errno = EPIPE; return -1; }
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Send a packet: command cmd, data a[0..an) then b[0..bn). */
static int sendpkt(milters *ms, milter *m, char cmd, const char *a, size_t an, const char *b, size_t bn)
{
	unsigned long len = 1 + an + bn;
	unsigned char h[5];

	if (an + bn > MILTER_PKT_MAX) { errno = EPROTO; return -1; }
	h[0] = (unsigned char)(len >> 24);
	h[1] = (unsigned char)(len >> 16);
	h[2] = (unsigned char)(len >> 8);
	h[3] = (unsigned char)len;
	h[4] = (unsigned char)cmd;
	ms->out.len = 0;
	if (buf_put(&ms->out, h, 5) < 0 || buf_put(&ms->out, a, an) < 0 || buf_put(&ms->out, b, bn) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return writeall(m->fd, ms->out.s, ms->out.len, m->timeout);
}

/* Read one packet into m->pkt (command byte first). A length of 0 or
 * above MILTER_PKT_MAX is a protocol error (EPROTO), not an allocation. */
static int readpkt(milter *m)
{
	unsigned char h[4];
	unsigned long len;

	if (readall(m->fd, (char *)h, 4, m->timeout) < 0) return -1;
	len = (unsigned long)h[0] << 24 | (unsigned long)h[1] << 16 | (unsigned long)h[2] << 8 | h[3];
	if (len == 0 || len > MILTER_PKT_MAX + 1) { errno = EPROTO; return -1; }
	m->pkt.len = 0;
	if (buf_ready(&m->pkt, len) < 0) { errno = ENOMEM; return -1; }
	if (readall(m->fd, m->pkt.s, len, m->timeout) < 0) return -1;
	m->pkt.len = len;
	m->pkt.s[len] = 0;
	return 0;
}

/* Read until something other than "progress". Returns the command. */
static int answer(milter *m)
{
	int n;
	for (n = 0; n <= MILTER_PROGRESS_MAX; n++) {
		if (readpkt(m) < 0) return -1;
		if (m->pkt.s[0] != SMFIR_PROGRESS) return (unsigned char)m->pkt.s[0];
	}
	errno = EPROTO;
	return -1;
}

static void put32(unsigned char *p, unsigned long v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static unsigned long get32(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* ---- verdicts ------------------------------------------------------------------------- */

/* The stages, for the log and for what a verdict may mean there. */
struct stage {
	char cmd;                 /* SMFIC_* */
	const char *name;
	unsigned long no, nr;     /* SMFIP_NO*, SMFIP_NR_* */
	int msglevel;             /* part of a message (not the connection) */
};

static const struct stage ST_CONNECT = {SMFIC_CONNECT, "connect", SMFIP_NOCONNECT, SMFIP_NR_CONN, 0};
static const struct stage ST_HELO = {SMFIC_HELO, "HELO", SMFIP_NOHELO, SMFIP_NR_HELO, 0};
static const struct stage ST_MAIL = {SMFIC_MAIL, "MAIL", SMFIP_NOMAIL, SMFIP_NR_MAIL, 1};
static const struct stage ST_RCPT = {SMFIC_RCPT, "RCPT", SMFIP_NORCPT, SMFIP_NR_RCPT, 1};
static const struct stage ST_DATA = {SMFIC_DATA, "DATA", SMFIP_NODATA, SMFIP_NR_DATA, 1};
static const struct stage ST_HEADER = {SMFIC_HEADER, "header", SMFIP_NOHDRS, SMFIP_NR_HDR, 1};
static const struct stage ST_EOH = {SMFIC_EOH, "end of header", SMFIP_NOEOH, SMFIP_NR_EOH, 1};
static const struct stage ST_BODY = {SMFIC_BODY, "body", SMFIP_NOBODY, SMFIP_NR_BODY, 1};
static const struct stage ST_EOM = {SMFIC_BODYEOB, "end of message", 0, 0, 1};

/* Act on the verdict c of milter m at stage st. Returns 1 the milter
 * refused or is done (stop sending it this stage's data), 0 go on,
 * -2 protocol error, -1 out of memory. */
static int verdict(milters *ms, milter *m, int c, const struct stage *st, milter_result *r)
{
	const char *s = m->pkt.s + 1;
	size_t n = m->pkt.len - 1;
	buf t = BUF_INIT;
	int k;

	switch (c) {
	case SMFIR_CONTINUE:
		return 0;
	case SMFIR_ACCEPT:
		if (st->msglevel) m->msgdone = 1;
		else m->state = MS_DONE;
		if (st->cmd == SMFIC_BODYEOB || st->cmd == SMFIC_BODY) logline(ms, m, "accept at ", st->name, strlen(st->name));
		return 1;
	case SMFIR_SKIP:
		return st->cmd == SMFIC_BODY ? 1 : -2;
	case SMFIR_REJECT:
		/* the message itself (554) or a command (550) */
		if (setreply(r, MILTER_REJECT, st->msglevel && st->cmd != SMFIC_MAIL && st->cmd != SMFIC_RCPT ?
		             "554 " REJECT_TEXT : "550 " REJECT_TEXT) < 0) return -1;
		break;
	case SMFIR_TEMPFAIL:
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		if (setreply(r, MILTER_TEMPFAIL, "451 " TEMPFAIL_TEXT) < 0) return -1;
		break;
	case SMFIR_DISCARD:
		if (!st->msglevel) return -2;   /* a connection cannot be discarded */
		r->verdict = MILTER_DISCARD;
		r->reply.len = 0;
		break;
	case SMFIR_REPLYCODE:
		k = milter_replycode(s, n, &t);
		if (k < 0) {
			int nomem = errno == ENOMEM;
			buf_free(&t);
			return nomem ? -1 : -2;
		}
		r->verdict = k == 5 ? MILTER_REJECT : MILTER_TEMPFAIL;
		if (buf_copy(&r->reply, t.s, t.len) < 0) { buf_free(&t); return -1; }
		buf_free(&t);
		break;
	default:
		return -2;
	}
	{
		const char *what = r->verdict == MILTER_REJECT ? "reject at " :
		                   r->verdict == MILTER_TEMPFAIL ? "tempfail at " : "discard at ";
		if (buf_copys(&t, what) < 0 || buf_puts(&t, st->name) < 0 ||
		    (r->reply.len && (buf_puts(&t, ": ") < 0 || buf_put(&t, r->reply.s, r->reply.len) < 0))) {
			buf_free(&t);
			return -1;
		}
		logline(ms, m, t.s, 0, 0);
		buf_free(&t);
	}
	if (c == SMFIR_SHUTDOWN || c == SMFIR_CONN_FAIL) disconnect(m);
	return 1;
}

/* Is m to be told about stage st? */
static int asked(const milter *m, const struct stage *st)
{
	if (m->fd < 0 || m->state != MS_OK) return 0;
	if (st->msglevel && m->msgdone) return 0;
	return !(m->steps & st->no);
}

/* Send stage st (macros mac first, then data) to m and take its verdict.
 * 1 refused or done, 0 go on, -1 out of memory; a failure is handled. */
static int step(milters *ms, milter *m, const struct stage *st, const buf *mac,
                const char *a, size_t an, const char *b, size_t bn, milter_result *r)
{
	int c, k;

	if (mac && mac->len && sendpkt(ms, m, SMFIC_MACRO, &st->cmd, 1, mac->s, mac->len) < 0) goto fail;
	if (sendpkt(ms, m, st->cmd, a, an, b, bn) < 0) goto fail;
	if (m->steps & st->nr) return 0;
	if ((c = answer(m)) < 0) goto fail;
	k = verdict(ms, m, c, st, r);
	if (k == -2) { errno = EPROTO; goto fail; }
	return k;
fail:
	if (errno == ENOMEM) return -1;
	return failed(ms, m, ioerr(), st->name, st->msglevel, r) < 0 ? -1 : 1;
}

/* A milter that is down counts at the stages that can be refused. */
static int down(const milter *m, const struct stage *st)
{
	return m->state == MS_BROKEN && st->msglevel && m->onfail == MILTER_ONFAIL_TEMPFAIL;
}

/* One stage for every milter in turn until one refuses. */
static int stage(milters *ms, const struct stage *st, const buf *mac, const char *a, size_t an, milter_result *r)
{
	size_t i;

	r->verdict = MILTER_CONTINUE;
	r->reply.len = 0;
	for (i = 0; i < ms->n && r->verdict == MILTER_CONTINUE; i++) {
		milter *m = &ms->m[i];
		if (down(m, st)) return setreply(r, MILTER_TEMPFAIL, DOWN_TEXT);
		if (st->cmd == SMFIC_MAIL && m->state == MS_OK && m->fd >= 0) { m->msg = 1; m->msgdone = 0; }
		if (!asked(m, st)) continue;
		if (step(ms, m, st, mac, a, an, 0, 0, r) < 0) return -1;
	}
	return 0;
}

/* ---- the connection ------------------------------------------------------------------- */

static int dial(milter *m)
{
	if (!m->isunix) return ipaddr_connect(&m->ip, m->port, 0, m->timeout);
	{
		struct sockaddr_un su;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e;
		if (fd < 0) return -1;
		memset(&su, 0, sizeof su);
		su.sun_family = AF_UNIX;
		memcpy(su.sun_path, m->path.s, m->path.len);
		if (connect(fd, (struct sockaddr *)&su, sizeof su) < 0) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		return fd;
	}
}

/* Connect and negotiate. 0 ok, -1 failed (errno). */
static int negotiate(milters *ms, milter *m)
{
	unsigned char o[12];
	int c;

	m->fd = dial(m);
	if (m->fd < 0) return -1;
	put32(o, 6);
	put32(o + 4, MILTER_ACTIONS);
	put32(o + 8, MILTER_STEPS);
	if (sendpkt(ms, m, SMFIC_OPTNEG, (const char *)o, 12, 0, 0) < 0) return -1;
	if ((c = answer(m)) < 0) return -1;
	/* version, actions, steps; what may follow (macro lists) we ignore:
	 * we send the macros we have to everyone. */
	if (c != SMFIR_OPTNEG || m->pkt.len < 13) { errno = EPROTO; return -1; }
	m->version = get32(m->pkt.s + 1);
	m->actions = get32(m->pkt.s + 5) & MILTER_ACTIONS;
	m->steps = get32(m->pkt.s + 9) & MILTER_STEPS;
	if (m->version < 2) { errno = EPROTO; return -1; }
	/* Old milters know no DATA step and no "no reply" steps. */
	if (m->version < 4) m->steps |= SMFIP_NODATA;
	m->state = MS_OK;
	return 0;
}

int milter_open(milters *ms, const struct milter_client *c, const buf *mac, milter_result *r)
{
	buf d = BUF_INIT;
	size_t i;

	r->verdict = MILTER_CONTINUE;
	r->reply.len = 0;
	/* hostname NUL, family, port (network order), address NUL */
	if (c->hostname && *c->hostname) {
		if (buf_puts(&d, c->hostname) < 0) goto nomem;
	} else if (buf_putc(&d, '[') < 0 || buf_puts(&d, c->ip ? c->ip : "unknown") < 0 || buf_putc(&d, ']') < 0)
		goto nomem;
	if (buf_put0(&d) < 0) goto nomem;
	if (!c->ip) {
		if (buf_putc(&d, 'U') < 0) goto nomem;
	} else {
		unsigned char p[2];
		p[0] = (unsigned char)(c->port >> 8);
		p[1] = (unsigned char)c->port;
		if (buf_putc(&d, strchr(c->ip, ':') ? '6' : '4') < 0 || buf_put(&d, p, 2) < 0 ||
		    buf_puts(&d, c->ip) < 0 || buf_put0(&d) < 0)
			goto nomem;
	}
	for (i = 0; i < ms->n; i++) {
		milter *m = &ms->m[i];
		m->state = MS_OK;
		m->msg = m->msgdone = 0;
		if (negotiate(ms, m) < 0) {
			if (errno == ENOMEM) goto nomem;
			if (failed(ms, m, ioerr(), "negotiation", 0, r) < 0) goto nomem;
		}
	}
	for (i = 0; i < ms->n && r->verdict == MILTER_CONTINUE; i++) {
		milter *m = &ms->m[i];
		if (!asked(m, &ST_CONNECT)) continue;
		if (step(ms, m, &ST_CONNECT, mac, d.s, d.len, 0, 0, r) < 0) goto nomem;
	}
	buf_free(&d);
	return 0;
nomem:
	buf_free(&d);
	return -1;
}

int milter_helo(milters *ms, const char *helo, const buf *mac, milter_result *r)
{
	return stage(ms, &ST_HELO, mac, helo, strlen(helo) + 1, r);
}

/* "<addr>" NUL, as sendmail sends it */
static int bracket(buf *b, const char *addr)
{
	b->len = 0;
	return buf_putc(b, '<') < 0 || buf_puts(b, addr) < 0 || buf_putc(b, '>') < 0 || buf_put0(b) < 0 ? -1 : 0;
}

int milter_mail(milters *ms, const char *from, const buf *mac, milter_result *r)
{
	buf b = BUF_INIT;
	int k;
	if (bracket(&b, from) < 0) return -1;
	k = stage(ms, &ST_MAIL, mac, b.s, b.len, r);
	buf_free(&b);
	return k;
}

int milter_rcpt(milters *ms, const char *rcpt, const buf *mac, milter_result *r)
{
	buf b = BUF_INIT;
	int k;
	if (bracket(&b, rcpt) < 0) return -1;
	k = stage(ms, &ST_RCPT, mac, b.s, b.len, r);
	buf_free(&b);
	return k;
}

void milter_abort(milters *ms)
{
	size_t i;
	for (i = 0; i < ms->n; i++) {
		milter *m = &ms->m[i];
		if (m->fd >= 0 && m->msg && sendpkt(ms, m, SMFIC_ABORT, 0, 0, 0, 0) < 0) disconnect(m);
		m->msg = 0;
		m->msgdone = 0;
	}
}

void milter_close(milters *ms)
{
	size_t i;
	for (i = 0; i < ms->n; i++) {
		milter *m = &ms->m[i];
		if (m->fd >= 0) {
			(void)sendpkt(ms, m, SMFIC_QUIT, 0, 0, 0, 0);
			close(m->fd);
		}
		m->fd = -1;
		m->state = MS_BROKEN;
	}
}

static int hasrcpt(const buf *rcpts, const char *a, size_t n, size_t *at)
{
	size_t i = 0;
	while (i < rcpts->len) {
		size_t l = strlen(rcpts->s + i);
		if (l == n && case_eqn(rcpts->s + i, a, n)) { *at = i; return 1; }
		i += l + 1;
	}
	return 0;
}

/* A REPLBODY packet, into e->body: CR LF and a lone CR become LF (a CR
 * at the end of a packet waits for the next one). 0, -2, -1 as change(). */
static int newbody(milters *ms, milter *m, milter_edit *e, const char *d, size_t n)
{
	buf t = BUF_INIT;
	size_t i;
	int r;

	if (!e->body) return -2;
	if (e->bodyby != m) {
		spool_reset(e->body);
		e->bodyby = m;
		e->bodycr = 0;
		logline(ms, m, "replaces the body", 0, 0);
	}
	e->bodychanged = 1;
	for (i = 0; i < n; i++) {
		if (e->bodycr) {
			e->bodycr = 0;
			if (buf_putc(&t, '\n') < 0) goto nomem;
			if (d[i] == '\n') continue;
		}
		if (d[i] == '\r') { e->bodycr = 1; continue; }
		if (buf_putc(&t, d[i]) < 0) goto nomem;
	}
	if (e->body->len + t.len > MILTER_BODY_MAX) { buf_free(&t); return -2; }
	r = t.len ? spool_put(e->body, t.s, t.len) : 0;
	buf_free(&t);
	if (r < 0) return errno == ENOMEM ? -1 : -2;
	return 0;
nomem:
	buf_free(&t);
	return -1;
}

/* One change at the end of the message. 0 done, -2 protocol error, -1 no memory. */
static int change(milters *ms, milter *m, milter_hdrs *h, buf *from, buf *rcpts, milter_edit *e)
{
	char c = m->pkt.s[0];
	const char *d = m->pkt.s + 1;
	size_t n = m->pkt.len - 1, at;
	buf a = BUF_INIT;
	unsigned long need;

	switch (c) {
	case SMFIR_ADDHEADER: need = SMFIF_ADDHDRS; break;
	case SMFIR_INSHEADER: need = SMFIF_ADDHDRS; break;
	case SMFIR_CHGHEADER: need = SMFIF_CHGHDRS; break;
	case SMFIR_ADDRCPT: need = SMFIF_ADDRCPT; break;
	case SMFIR_ADDRCPT_PAR: need = SMFIF_ADDRCPT_PAR; break;
	case SMFIR_DELRCPT: need = SMFIF_DELRCPT; break;
	case SMFIR_CHGFROM: need = SMFIF_CHGFROM; break;
	case SMFIR_QUARANTINE: need = SMFIF_QUARANTINE; break;
	case SMFIR_REPLBODY: need = SMFIF_CHGBODY; break;
	default: return -2;
	}
	if (!(m->actions & need)) return -2;
	switch (c) {
	case SMFIR_REPLBODY:
		return newbody(ms, m, e, d, n);
	case SMFIR_ADDHEADER: case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
		h->leadspc = (m->steps & SMFIP_HDR_LEADSPC) != 0;
		if (milter_hdrs_apply(h, c, d, n) < 0) return errno == ENOMEM ? -1 : -2;
		e->hdrchanged = 1;
		logline(ms, m, c == SMFIR_CHGHEADER ? "changes header field " : "adds header field ", d + (c == SMFIR_ADDHEADER ? 0 : 4), strlen(d + (c == SMFIR_ADDHEADER ? 0 : 4)));
		return 0;
	case SMFIR_QUARANTINE:
		if (!n || d[n - 1]) return -2;
		e->quarantine = 1;
		if (buf_copy(&e->reason, d, n - 1 > 200 ? 200 : n - 1) < 0) return -1;
		logline(ms, m, "quarantine: ", d, n - 1);
		return 0;
	}
	/* an address: the first string */
	if (!n || !memchr(d, 0, n)) return -2;
	if (milter_addr(d, strlen(d), &a) < 0) { buf_free(&a); return errno == ENOMEM ? -1 : -2; }
	if (c == SMFIR_CHGFROM) {
		if (buf_copy(from, a.s, a.len) < 0) goto nomem;
		logline(ms, m, "changes the sender to ", a.s, a.len);
	} else if (c == SMFIR_DELRCPT) {
		while (hasrcpt(rcpts, a.s, a.len, &at)) {
			memmove(rcpts->s + at, rcpts->s + at + a.len + 1, rcpts->len - at - a.len - 1);
			buf_trunc(rcpts, rcpts->len - a.len - 1);
		}
		logline(ms, m, "removes recipient ", a.s, a.len);
	} else {
		if (!a.len) { buf_free(&a); return -2; }
		if (!hasrcpt(rcpts, a.s, a.len, &at) && (buf_put(rcpts, a.s, a.len) < 0 || buf_put0(rcpts) < 0)) goto nomem;
		logline(ms, m, "adds recipient ", a.s, a.len);
	}
	buf_free(&a);
	return 0;
nomem:
	buf_free(&a);
	return -1;
}

/* ---- the message ----------------------------------------------------------------------- */

/* Send every field of orig to m. 1 refused/done, 0 go on, -1 no memory. */
static int headers(milters *ms, milter *m, const milter_hdrs *orig, milter_result *r)
{
	size_t i;
	int k;
	int lead = (m->steps & SMFIP_HDR_LEADSPC) != 0;

	if (!asked(m, &ST_HEADER)) return 0;
	for (i = 0; i < orig->nf; i++) {
		const char *s = orig->text.s + milter_hdrs_start(orig, i);
		size_t len = milter_hdrs_start(orig, i + 1) - milter_hdrs_start(orig, i), nl = orig->f[2 * i + 1], v;
		buf b = BUF_INIT;
		if (nl == 0 || nl >= len) continue;   /* not a field: nothing to show */
		if (len && s[len - 1] == '\n') len--;
		v = nl + 1;
		if (!lead) while (v < len && (s[v] == ' ' || s[v] == '\t')) v++;
		if (buf_put(&b, s, nl) < 0 || buf_put0(&b) < 0 || buf_put(&b, s + v, len - v) < 0 || buf_put0(&b) < 0) {
			buf_free(&b);
			return -1;
		}
		/* a NUL inside would cut the field short: shown as a blank */
		{
			size_t j;
			for (j = nl + 1; j + 1 < b.len; j++) if (!b.s[j]) b.s[j] = ' ';
		}
		k = b.len > MILTER_PKT_MAX ? 0 : step(ms, m, &ST_HEADER, 0, b.s, b.len, 0, 0, r);
		buf_free(&b);
		if (k) return k;
	}
	return 0;
}

/* Send the body with CR LF line ends in chunks. 1/0/-1 as headers(). */
static int body(milters *ms, milter *m, const struct milter_msg *msg, milter_result *r)
{
	char raw[MILTER_CHUNK / 2];
	buf c = BUF_INIT;
	unsigned long long off = 0;
	int k = 0;

	if (!asked(m, &ST_BODY)) return 0;
	while (off < msg->bodylen && !k) {
		size_t n = msg->bodylen - off < sizeof raw ? (size_t)(msg->bodylen - off) : sizeof raw, i;
		const char *p;
		if (msg->body) p = msg->body + off;
		else {
			size_t have = 0;
			ssize_t got = 1;
			/* fill the chunk: a short read must not make a short packet */
			while (have < n && got > 0) {
				got = msg->read ? msg->read(msg->arg, msg->bodyoff + off + have, raw + have, n - have) : -1;
				if (got > 0) have += (size_t)got;
			}
			if (have < n) {
				/* our own spool failed: not the milter's fault */
				buf_free(&c);
				return setreply(r, MILTER_TEMPFAIL, "451 4.3.0 unable to read the message back") < 0 ? -1 : 1;
			}
			p = raw;
		}
		c.len = 0;
		for (i = 0; i < n; i++) {
			if (p[i] == '\n' && buf_putc(&c, '\r') < 0) { buf_free(&c); return -1; }
			if (buf_putc(&c, p[i]) < 0) { buf_free(&c); return -1; }
		}
		off += n;
		k = step(ms, m, &ST_BODY, 0, c.s, c.len, 0, 0, r);
	}
	buf_free(&c);
	return k;
}

/* The end of the message for m: the changes it asks for, then its verdict. */
static int eom1(milters *ms, milter *m, const buf *mac, milter_hdrs *h, buf *from, buf *rcpts,
                milter_result *r, milter_edit *e)
{
	int c, k, edits = 0;

	if (mac && mac->len && sendpkt(ms, m, SMFIC_MACRO, &ST_EOM.cmd, 1, mac->s, mac->len) < 0) goto fail;
	if (sendpkt(ms, m, SMFIC_BODYEOB, 0, 0, 0, 0) < 0) goto fail;
	for (;;) {
		if ((c = answer(m)) < 0) goto fail;
		switch (c) {
		case SMFIR_ACCEPT: case SMFIR_CONTINUE: case SMFIR_REJECT: case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD: case SMFIR_REPLYCODE: case SMFIR_SHUTDOWN: case SMFIR_CONN_FAIL:
			m->msg = 0;
			if (e->bodyby == m && e->bodycr) {
				e->bodycr = 0;
				if (spool_put(e->body, "\n", 1) < 0) return -1;
			}
			k = verdict(ms, m, c, &ST_EOM, r);
			if (k == -2) { errno = EPROTO; goto fail; }
			if (k >= 0 && c == SMFIR_CONTINUE) logline(ms, m, "continue at end of message", 0, 0);
			return k < 0 ? -1 : 0;
		}
		if (++edits > MILTER_EDITS_MAX) { errno = EPROTO; goto fail; }
		k = change(ms, m, h, from, rcpts, e);
		if (k == -1) return -1;
		if (k == -2) { errno = EPROTO; goto fail; }
	}
fail:
	if (errno == ENOMEM) return -1;
	/* half a new body is no body */
	if (e->bodyby == m) { e->bodychanged = 0; e->bodyby = 0; }
	return failed(ms, m, ioerr(), ST_EOM.name, 1, r);
}

int milter_eom(milters *ms, const struct milter_msg *msg, const buf *mac,
               buf *from, buf *rcpts, milter_result *r, milter_edit *e)
{
	milter_hdrs orig = MILTER_HDRS_INIT, h = MILTER_HDRS_INIT;
	long long end;
	size_t i;
	int k = 0;

	r->verdict = MILTER_CONTINUE;
	r->reply.len = 0;
	e->hdrchanged = e->quarantine = e->bodychanged = e->bodycr = 0;
	e->bodyby = 0;
	e->reason.len = 0;
	e->hdr.len = 0;
	end = milter_hdrs_parse(&orig, msg->hdr, msg->hdrlen);
	if (end < 0 || milter_hdrs_parse(&h, msg->hdr, msg->hdrlen) < 0) goto nomem;
	e->hdrend = (size_t)end;
	for (i = 0; i < ms->n && r->verdict == MILTER_CONTINUE; i++) {
		milter *m = &ms->m[i];
		if (down(m, &ST_EOM)) { if (setreply(r, MILTER_TEMPFAIL, DOWN_TEXT) < 0) goto nomem; break; }
		if (!asked(m, &ST_EOM)) continue;
		if (asked(m, &ST_DATA) && (k = step(ms, m, &ST_DATA, 0, 0, 0, 0, 0, r)) != 0) { if (k < 0) goto nomem; continue; }
		if ((k = headers(ms, m, &orig, r)) != 0) { if (k < 0) goto nomem; continue; }
		if (asked(m, &ST_EOH) && (k = step(ms, m, &ST_EOH, 0, 0, 0, 0, 0, r)) != 0) { if (k < 0) goto nomem; continue; }
		/* a milter that said SKIP in the body still gets the end */
		if ((k = body(ms, m, msg, r)) < 0) goto nomem;
		if (r->verdict != MILTER_CONTINUE || !asked(m, &ST_EOM)) continue;
		if (eom1(ms, m, mac, &h, from, rcpts, r, e) < 0) goto nomem;
	}
	/* milters that never saw this message's end must forget it */
	milter_abort(ms);
	if (r->verdict == MILTER_CONTINUE && !rcpts->len) {
		r->verdict = MILTER_DISCARD;
		if (ms->n) logline(ms, &ms->m[0], "every recipient was removed: the message is discarded", 0, 0);
	}
	if (e->hdrchanged && buf_copy(&e->hdr, h.text.s, h.text.len) < 0) goto nomem;
	milter_hdrs_free(&orig);
	milter_hdrs_free(&h);
	return 0;
nomem:
	milter_hdrs_free(&orig);
	milter_hdrs_free(&h);
	return -1;
}
