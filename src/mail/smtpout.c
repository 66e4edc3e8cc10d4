/* smtpout: qmail-remote's SMTP client (see smtpout.h).
 *
 * The plan (src/mail/mxplan.h) gives the addresses to try in order. Each
 * is tried unless the timeout table says it did not answer lately
 * (src/mail/tcpto.h). What a session ends in decides what comes next:
 *  - before the envelope is sent, a failure (no connection, a greeting
 *    that is not 220 or is garbage, our name refused, TLS required and
 *    not had, authentication refused, a 421 anywhere) moves on to the
 *    next address, remembering why; when none is left, the last reason is
 *    the temporary failure reported;
 *  - from MAIL FROM on, the session's outcome is the report: recipient
 *    reports as the server answered RCPT, then the message report.
 * With PIPELINING, MAIL, every RCPT and DATA go in one write (RFC 2920).
 * The message is read twice: once to learn its size on the wire and
 * whether it has 8-bit bytes (SIZE=, BODY=8BITMIME, SMTPUTF8), once to
 * send it through src/mail/smtpdata.h, which makes smuggling impossible.
 * So the input must be seekable: a pipe is first copied into a memfd.
 * Before either reading, src/mail/dkimsign.h may make DKIM-Signature
 * fields for the message (a third reading); they go first, through the
 * same encoder, so the size announced counts them. */
#include "mail/smtpout.h"
#include "mail/control.h"
#include "mail/dkimsign.h"
#include "mail/dns.h"
#include "mail/instance.h"
#include "mail/ipme.h"
#include "mail/mtasts.h"
#include "mail/mxplan.h"
#include "mail/smtpdata.h"
#include "mail/smtpreply.h"
#include "mail/tcpto.h"
#include "mail/tlsdest.h"
#include "lib/base64.h"
#include "lib/io.h"
#include "lib/ipaddr.h"
#include "lib/stream.h"
#include "lib/str.h"
#include "lib/tls.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PORT_SMTP 25
#define LINE_MAX_IN 8192      /* longest reply line read */
#define READ_CHUNK 65536

/* ---- configuration ------------------------------------------------------ */

static buf helohost;
static unsigned long timeout = 1200, timeoutconnect = 60;
static ipaddr out4, out6;
static int have4, have6;
static mxroutes routes = MXROUTES_INIT;
static tlsdest tlsd = TLSDEST_INIT;

/* ---- reports -------------------------------------------------------------- */

static buf rep;               /* everything written to outfd at the end */
static int outfd = 1;
static int oom;

static void put(const char *s) { if (buf_puts(&rep, s) < 0) oom = 1; }
static void putn(const char *s, size_t n) { if (buf_put(&rep, s, n) < 0) oom = 1; }
static void zero(void) { if (buf_put0(&rep) < 0) oom = 1; }

/* smtpout_serve: a kept session goes on after a delivery's reports. */
static int serving;
static jmp_buf top;             /* where a delivery ends when serving */

static _Noreturn void finish(void)
{
	if (oom) {
		rep.len = 0;
		(void)buf_puts(&rep, "ZOut of memory. (#4.3.0)\n");
		(void)buf_put0(&rep);
	}
	(void)write_all(outfd, rep.s ? rep.s : "", rep.len);
	if (serving) {
		rep.len = 0;
		oom = 0;
		longjmp(top, 1);
	}
	_exit(0);
}

/* A message report and the end. */
static _Noreturn void report(char st, const char *a, const char *b, const char *c)
{
	char s[2] = { st, 0 };
	put(s); put(a); if (b) put(b); if (c) put(c);
	zero();
	finish();
}

/* ---- the message ------------------------------------------------------------ */

static int msgfd;
static off_t msgstart;
static smtpdata scan;           /* what the first reading learned */
static buf dkimsig;             /* DKIM-Signature fields sent before the message */

/* A pipe or socket cannot be read twice: copy it into memory first. */
static void seekable(void)
{
	char b[READ_CHUNK];
	int fd;

	msgstart = lseek(msgfd, 0, SEEK_CUR);
	if (msgstart >= 0) return;
	fd = memfd_create("qmail-remote", MFD_CLOEXEC);
	if (fd < 0) report('Z', "System resources temporarily unavailable. (#4.3.0)\n", 0, 0);
	for (;;) {
		ssize_t r = read(msgfd, b, sizeof b);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) report('Z', "Unable to read message. (#4.3.0)\n", 0, 0);
		if (r == 0) break;
		if (write_all(fd, b, (size_t)r) < 0) report('Z', "System resources temporarily unavailable. (#4.3.0)\n", 0, 0);
	}
	msgfd = fd;
	msgstart = 0;
}

/* Read the message through the encoder; with s non-null, send it. */
static int readmsg(smtpdata *d, stream *s)
{
	char b[READ_CHUNK];
	buf o = BUF_INIT;
	off_t at = msgstart;

	smtpdata_init(d);
	if (dkimsig.len) {
		if (smtpdata_put(d, dkimsig.s, dkimsig.len, &o) < 0) { oom = 1; finish(); }
		if (s && stream_put(s, o.s, o.len) < 0) { buf_free(&o); return -1; }
	}
	for (;;) {
		ssize_t r = pread(msgfd, b, sizeof b, at);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { buf_free(&o); return -2; }
		if (r == 0) break;
		at += r;
		o.len = 0;
		if (smtpdata_put(d, b, (size_t)r, &o) < 0) { oom = 1; finish(); }
		if (s && stream_put(s, o.s, o.len) < 0) { buf_free(&o); return -1; }
	}
	o.len = 0;
	if (smtpdata_end(d, &o) < 0) { oom = 1; finish(); }
	if (s && (stream_put(s, o.s, o.len) < 0 || stream_flush(s) < 0)) { buf_free(&o); return -1; }
	buf_free(&o);
	return 0;
}

/* ---- addresses on the wire ------------------------------------------------ */

static int atext(unsigned char c)
{
	if (c >= 0x80) return 1;          /* UTF-8 (SMTPUTF8) */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != 0;
}

/* addr as it goes between < and >: the local part quoted when it is not
 * a dot-atom (qmail's quote()). -1 when it cannot be written safely: a
 * control character (CR, LF) anywhere, or a space or angle bracket in
 * the domain, would let the address end the command or add to it. */
static int wire(buf *out, const char *addr)
{
	size_t n = strlen(addr), at = byte_rchr(addr, n, '@'), i;
	int plain = at > 0;

	out->len = 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)addr[i] < 32 || addr[i] == 127) return -1;
	for (i = at; i < n; i++)
		if (addr[i] == ' ' || addr[i] == '<' || addr[i] == '>') return -1;
	if (at == n) return buf_copys(out, addr);   /* no domain: as it is */
	for (i = 0; i < at && plain; i++) {
		if (addr[i] == '.') { if (i == 0 || i + 1 == at || addr[i + 1] == '.') plain = 0; }
		else if (!atext((unsigned char)addr[i])) plain = 0;
	}
	if (plain) return buf_copys(out, addr);
	if (buf_putc(out, '"') < 0) return -1;
	for (i = 0; i < at; i++) {
		if ((addr[i] == '"' || addr[i] == '\\') && buf_putc(out, '\\') < 0) return -1;
		if (buf_putc(out, addr[i]) < 0) return -1;
	}
	return buf_putc(out, '"') < 0 || buf_puts(out, addr + at) < 0 ? -1 : 0;
}

static int nonascii(const char *s)
{
	for (; *s; s++) if ((unsigned char)*s >= 0x80) return 1;
	return 0;
}

/* ---- a session ------------------------------------------------------------------ */

static stream st;
static smtpreply rp = SMTPREPLY_INIT;
static buf line;
static char partner[IPADDR_FMT];
static buf lastwhy;             /* why the last address did not do */
static tls_ctx *tctx;
static const char *tctxfile;
static tls *conn;

enum { NEXT, DONE };

/* The next reply: its code, or 0 when the connection broke or the reply
 * is malformed. */
static unsigned getreply(void)
{
	smtpreply_reset(&rp);
	for (;;) {
		int r;
		line.len = 0;
		r = stream_getline(&st, &line, LINE_MAX_IN);
		if (r <= 0) return 0;
		r = smtpreply_line(&rp, line.s, line.len);
		if (r < 0) return 0;
		if (r == 1) return rp.code;
	}
}

static int say(const char *a, const char *b, const char *c)
{
	if (stream_puts(&st, a) < 0) return -1;
	if (b && stream_puts(&st, b) < 0) return -1;
	if (c && stream_puts(&st, c) < 0) return -1;
	return 0;
}

static int cmd(const char *a, const char *b)
{
	if (say(a, b, "\r\n") < 0 || stream_flush(&st) < 0) return -1;
	return 0;
}

/* "Remote host said: " and the reply text. */
static void said(buf *b)
{
	if (!rp.text.len) return;
	if (buf_puts(b, "Remote host said: ") < 0 || buf_put(b, rp.text.s, rp.text.len) < 0) oom = 1;
}
static void putsaid(void) { if (rp.text.len) { put("Remote host said: "); putn(rp.text.s, rp.text.len); } }

/* Remember why this address did not do ("Connected to ADDR" and c, and
 * the reply's text when withtext); the caller moves on. */
static int next(const char *c, int withtext)
{
	lastwhy.len = 0;
	if (buf_puts(&lastwhy, "Connected to ") < 0 || buf_puts(&lastwhy, partner) < 0 ||
	    buf_puts(&lastwhy, c) < 0) oom = 1;
	if (withtext) said(&lastwhy);
	return NEXT;
}
/* The same with a text of its own. */
static int nextraw(const char *a, const char *b, const char *c)
{
	lastwhy.len = 0;
	if (buf_puts(&lastwhy, a) < 0 || buf_puts(&lastwhy, b ? b : "") < 0 || buf_puts(&lastwhy, c ? c : "") < 0) oom = 1;
	return NEXT;
}

static void quit(void)
{
	(void)cmd("QUIT", 0);
	if (conn) { tls_close(conn, 5); conn = 0; }
}

static int keep;               /* the session stays open after this delivery */
static int reusing;            /* this transaction runs on a kept session */
static int curfd = -1;         /* the session's socket */
static unsigned uses;          /* messages sent on it */
static const struct job *keeper;   /* the delivery that kept it */
static buf keptfor;            /* its host (the job's own may be gone) */

/* A kept session that the server closed meanwhile (or answers 421):
 * nothing of the message was sent, so it goes again from the start on a
 * new connection; what was reported so far is dropped. */
static _Noreturn void refresh(void)
{
	rep.len = 0;
	keep = 0;
	longjmp(top, 2);
}

static _Noreturn void dropped(int critical)
{
	if (reusing && !critical) refresh();
	put("ZConnected to "); put(partner); put(" but connection died. ");
	if (critical) put("Possible duplicate! ");
	put("(#4.4.2)\n");
	zero();
	finish();
}

/* The message report after a reply to DATA or to the final dot. */
static _Noreturn void msgfail(unsigned code, const char *what)
{
	char s[2] = { code >= 500 ? 'D' : 'Z', 0 };
	put(s); put(partner); put(what); putsaid();
	zero();
	quit();
	finish();
}

static int ehlo(smtpext *e)
{
	unsigned code;
	if (cmd("EHLO ", helohost.s) < 0) return -1;
	code = getreply();
	if (!code) return -1;
	if (code >= 200 && code < 300) { smtpreply_ehlo(&rp, e); return 0; }
	e->flags = 0;
	e->size = 0;
	if (code == 421) return 1;
	if (cmd("HELO ", helohost.s) < 0) return -1;
	code = getreply();
	if (!code) return -1;
	return code >= 200 && code < 300 ? 0 : 1;
}

/* AUTH PLAIN or LOGIN; 0 ok, else a reason was set with next(). */
static int auth(const smtpext *e, const buf *user, const buf *pass)
{
	buf b = BUF_INIT, enc = BUF_INIT;
	unsigned code;
	int r = -1;

	if (e->flags & EHLO_AUTH_PLAIN) {
		if (buf_putc(&b, 0) < 0 || buf_put(&b, user->s, user->len) < 0 || buf_putc(&b, 0) < 0 ||
		    buf_put(&b, pass->s, pass->len) < 0 || b64_encode(&enc, b.s, b.len) < 0) { oom = 1; goto out; }
		if (cmd("AUTH PLAIN ", enc.s) < 0 || !(code = getreply())) goto died;
	} else if (e->flags & EHLO_AUTH_LOGIN) {
		if (cmd("AUTH LOGIN", 0) < 0 || !(code = getreply())) goto died;
		if (code == 334) {
			if (b64_encode(&enc, user->s, user->len) < 0) { oom = 1; goto out; }
			if (cmd(enc.s, 0) < 0 || !(code = getreply())) goto died;
		}
		if (code == 334) {
			enc.len = 0;
			if (b64_encode(&enc, pass->s, pass->len) < 0) { oom = 1; goto out; }
			if (cmd(enc.s, 0) < 0 || !(code = getreply())) goto died;
		}
	} else {
		next(" but it offers neither AUTH PLAIN nor AUTH LOGIN, and control/smtpauth has a password for it. (#4.7.0)\n", 0);
		goto out;
	}
	if (code >= 200 && code < 300) { r = 0; goto out; }
	next(" but authentication was refused.\n", 1);
	goto out;
died:
	next(" but connection died during authentication. (#4.4.2)\n", 0);
out:
	buf_wipe(&enc);
	buf_wipe(&b);
	return r;
}

struct job {
	const char *host, *sender;
	char *const *recips;
	int n;
	mxplan *plan;
	mxroute route;
	tlspolicy pol;
	buf user, pass;
	int hasauth;
	int needutf8;
	int dane;               /* the address's exchanger has secure TLSA records */
	dns_tlsalist *tlsa;
	mtasts_policy sts;      /* the recipient domain's MTA-STS policy (src/mail/mtasts.h) */
};

static void tlsnote(buf *b)
{
	if (!conn) return;
	if (buf_puts(b, "TLS: ") < 0 || buf_puts(b, tls_version(conn)) < 0 || buf_putc(b, ' ') < 0 ||
	    buf_puts(b, tls_cipher(conn)) < 0 ||
	    buf_puts(b, tls_verified(conn) ? ", certificate verified.\n" : ", certificate not verified.\n") < 0)
		oom = 1;
}

/* STARTTLS on the open session. 0 TLS up (or not wanted/possible under
 * "may"), 1 the address does not do (reason set), 2 "may": the handshake
 * failed, try this address again without TLS. */
static int starttls(struct job *j, smtpext *e, const char *tlsname)
{
	buf err = BUF_INIT;
	unsigned code;
	int required = j->pol.level == TLS_ENCRYPT || j->pol.level == TLS_VERIFY || j->dane || j->hasauth ||
	               mtasts_verify(&j->sts, j->dane);
	int verify = j->pol.level == TLS_VERIFY || mtasts_verify(&j->sts, j->dane);

	if (j->pol.level == TLS_NONE && !j->hasauth) return 0;
	if (!(e->flags & EHLO_STARTTLS)) {
		if (!required) return 0;
		quit();
		if (mtasts_tls(&j->sts, 0, tlsname, j->dane, partner, st.rfd, 0, &lastwhy) < 0 && !j->hasauth) return 1;
		return next(j->hasauth ? " but it does not offer STARTTLS, and I send passwords only over TLS. (#4.7.0)\n" :
		            " but it does not offer STARTTLS, which control/tlsdestinations requires. (#4.7.4)\n", 0), 1;
	}
	if (cmd("STARTTLS", 0) < 0 || !(code = getreply())) return next(" but connection died. (#4.4.2)\n", 0), 1;
	if (code != 220) {
		if (!required) return 0;       /* go on in plain text */
		quit();
		return next(" but STARTTLS failed.\n", 1), 1;
	}
	if (stream_buffered(&st)) {
		/* bytes after the 220: injected in plain text (CVE-2011-0411's
		 * client side). Drop them and the session. */
		stream_discard(&st);
		return next(" but it sent data after its STARTTLS reply, which I treat as an attack. (#4.7.0)\n", 0), 1;
	}
	if (!tctx || (tctxfile != j->pol.cafile && (!tctxfile || !j->pol.cafile || strcmp(tctxfile, j->pol.cafile)))) {
		tls_ctx_free(tctx);
		tctx = tls_client_ctx(j->pol.cafile, &err);
		tctxfile = j->pol.cafile;
		if (!tctx) {
			nextraw("Unable to set up TLS: ", err.s ? err.s : "?", ". (#4.7.5)\n");
			buf_free(&err);
			return 1;
		}
	}
	if (j->dane) {
		tls_tlsa r[DNS_TLSA_MAX];
		size_t i;
		for (i = 0; i < j->tlsa->n; i++) {
			r[i].usage = j->tlsa->t[i].usage;
			r[i].selector = j->tlsa->t[i].selector;
			r[i].mtype = j->tlsa->t[i].mtype;
			r[i].data = j->tlsa->t[i].data;
			r[i].len = j->tlsa->t[i].len;
		}
		conn = tls_connect_dane(tctx, st.rfd, tlsname, r, j->tlsa->n, (int)timeout, &err);
	} else
		conn = tls_connect(tctx, st.rfd, tlsname, verify, (int)timeout, &err);
	if (!conn) {
		(void)mtasts_tls(&j->sts, 0, tlsname, j->dane, partner, st.rfd, err.s ? err.s : "?", 0);
		next(" but the TLS handshake failed: ", 0);
		if (buf_puts(&lastwhy, err.s ? err.s : "?") < 0 || buf_puts(&lastwhy, ". (#4.7.5)\n") < 0) oom = 1;
		buf_free(&err);
		return required ? 1 : 2;
	}
	buf_free(&err);
	stream_tls(&st, conn);
	if (ehlo(e) != 0) return next(" but my name was rejected after STARTTLS.\n", 1), 1;
	return 0;
}

static smtpext cure;            /* the session's EHLO extensions */

static void transaction(struct job *j);

/* One SMTP session on fd with the address a. NEXT (reason in lastwhy)
 * or, once the envelope goes out, the end of the delivery. */
static int session(struct job *j, int fd, const mxplan_addr *a, int notls)
{
	smtpext *e = &cure;
	unsigned code;
	int t;
	const char *tlsname = j->plan->hosts[a->host];

	stream_init(&st, fd, fd, (int)timeout);
	ipaddr_fmt(partner, &a->ip);
	conn = 0;

	code = getreply();
	if (!code) return next(" but greeting failed.\n", 0);
	if (code != 220) { quit(); return next(" but greeting failed.\n", 1); }
	t = ehlo(e);
	if (t < 0) return next(" but connection died. (#4.4.2)\n", 0);
	if (t > 0) { quit(); return next(" but my name was rejected.\n", 1); }
	if (!notls) {
		if (tlsname[0] == '[') tlsname = partner;
		t = starttls(j, e, tlsname);
		if (t) return t == 2 ? 2 : NEXT;
	} else if (j->pol.level == TLS_ENCRYPT || j->pol.level == TLS_VERIFY || j->dane || j->hasauth) {
		quit();
		return next(" but TLS failed before, and it is required. (#4.7.5)\n", 0);
	}
	if (mtasts_tls(&j->sts, conn, tlsname, j->dane, partner, fd, 0, &lastwhy) < 0) { quit(); return NEXT; }
	if (j->hasauth && auth(e, &j->user, &j->pass) < 0) { quit(); return NEXT; }
	transaction(j);
	return DONE;   /* not reached: the transaction ends in finish() */
}

/* The envelope and the message on the open session (cure): the reports
 * and finish(). On a kept session, a connection found dead before the
 * message went out starts the delivery again (refresh). */
static void transaction(struct job *j)
{
	const smtpext *e = &cure;
	static buf w, tmp;
	unsigned code;
	int i, accepted = 0, pipe, t;

	keep = 0;
	if (j->needutf8 && !(e->flags & EHLO_SMTPUTF8)) {
		quit();
		report('D', "Sorry, the message has non-ASCII addresses and ", partner,
		       " does not support SMTPUTF8. (#5.6.7)\n");
	}
	/* UTF-8 header fields (RFC 6532) need SMTPUTF8 too (RFC 6531 3.2);
	 * 8-bit bytes that are not UTF-8 are legacy text, sent as before */
	if (scan.hdr8 && !scan.hdrbad && !(e->flags & EHLO_SMTPUTF8)) {
		quit();
		report('D', "Sorry, the message has UTF-8 header fields and ", partner,
		       " does not support SMTPUTF8. (#5.6.7)\n");
	}
	if ((e->flags & EHLO_SIZE) && e->size && scan.out > e->size) {
		char lim[24];
		fmt_ulong(lim, e->size);
		quit();
		put("DSorry, the message is larger than "); put(partner); put(" accepts (");
		put(lim); put(" bytes). (#5.3.4)\n");
		zero();
		finish();
	}

	pipe = (e->flags & EHLO_PIPELINING) != 0;
	if (wire(&w, j->sender) < 0) { quit(); report('D', "Sorry, the envelope sender has characters that cannot be sent by SMTP. (#5.1.7)\n", 0, 0); }
	if (say("MAIL FROM:<", w.s, ">") < 0) dropped(0);
	if (e->flags & EHLO_SIZE) {
		char sz[24];
		fmt_ulong(sz, scan.out);
		if (say(" SIZE=", sz, 0) < 0) dropped(0);
	}
	if ((e->flags & EHLO_8BITMIME) && scan.body8 && say(" BODY=8BITMIME", 0, 0) < 0) dropped(0);
	if ((e->flags & EHLO_SMTPUTF8) && (j->needutf8 || scan.hdr8) && say(" SMTPUTF8", 0, 0) < 0) dropped(0);
	if (say("\r\n", 0, 0) < 0) dropped(0);
	if (pipe) {
		for (i = 0; i < j->n; i++) {
			if (wire(&tmp, j->recips[i]) < 0) continue;
			if (say("RCPT TO:<", tmp.s, ">\r\n") < 0) dropped(0);
		}
		if (say("DATA\r\n", 0, 0) < 0) dropped(0);
	}
	if (stream_flush(&st) < 0) dropped(0);
	code = getreply();
	if (!code) dropped(0);
	if (code == 421 && reusing) refresh();
	if (code >= 400) {
		put(code >= 500 ? "D" : "Z"); put("Connected to "); put(partner);
		put(" but sender was rejected.\n"); putsaid(); zero();
		quit();
		finish();
	}
	for (i = 0; i < j->n; i++) {
		if (wire(&tmp, j->recips[i]) < 0) {
			put("hSorry, that address has characters that cannot be sent by SMTP. (#5.1.3)\n");
			zero();
			continue;
		}
		if (!pipe && (say("RCPT TO:<", tmp.s, ">\r\n") < 0 || stream_flush(&st) < 0)) dropped(0);
		code = getreply();
		if (!code) dropped(0);
		if (code >= 500) { put("h"); put(partner); put(" does not like recipient.\n"); putsaid(); zero(); }
		else if (code >= 400) { put("s"); put(partner); put(" does not like recipient.\n"); putsaid(); zero(); }
		else { put("r"); zero(); accepted++; }
	}
	if (!pipe && accepted && cmd("DATA", 0) < 0) dropped(0);
	if (!accepted) {
		if (pipe && (code = getreply()) >= 300 && code < 400) {
			/* a server that said 354 anyway gets an empty message ended */
			(void)say(".\r\n", 0, 0);
			(void)stream_flush(&st);
			(void)getreply();
		}
		quit();
		put("DGiving up on "); put(partner); put(".\n"); zero();
		finish();
	}
	code = getreply();
	if (!code) dropped(0);
	if (code < 300 || code >= 400) msgfail(code >= 400 ? code : 451, " failed on DATA command.\n");

	reusing = 0;   /* from here on the message is on its way */
	t = readmsg(&scan, &st);
	if (t == -2) { quit(); report('Z', "Unable to read message. (#4.3.0)\n", 0, 0); }
	if (t < 0) dropped(1);
	code = getreply();
	if (!code) dropped(1);
	if (code >= 400) msgfail(code, " failed after I sent the message.\n");
	if (code < 200 || code >= 300) msgfail(451, " failed after I sent the message.\n");
	put("K"); put(partner); put(" accepted message.\n"); putsaid();
	tmp.len = 0;
	tlsnote(&tmp);
	putn(tmp.s ? tmp.s : "", tmp.len);
	zero();
	if (serving) {
		keep = 1;
		keeper = j;
		uses++;
		if (buf_copys(&keptfor, j->host) < 0) keep = 0;
	} else quit();
	finish();
}

static void getcontrols(void)
{
	buf b = BUF_INIT;
	const char *what;

	if (control_readulong(&timeout, "timeoutremote", 1200) < 0 ||
	    control_readulong(&timeoutconnect, "timeoutconnect", 60) < 0 ||
	    control_readme(&helohost, "helohost") < 0)
		report('Z', "Unable to read control files. (#4.3.0)\n", 0, 0);
	if (!helohost.len) report('Z', "Unable to read control files: no control/me or control/helohost. (#4.3.0)\n", 0, 0);
	if (timeout > 86400) timeout = 86400;
	if (timeoutconnect > 86400) timeoutconnect = 86400;
	if (control_readline(&b, "outgoingip", 0) < 0) report('Z', "Unable to read control/outgoingip. (#4.3.0)\n", 0, 0);
	if (b.len) {
		if (ipaddr_scan(&out4, b.s, b.len) < 0 || out4.family != AF_INET)
			report('Z', "control/outgoingip is not an IPv4 address. (#4.3.0)\n", 0, 0);
		have4 = 1;
	}
	if (control_readline(&b, "outgoingip6", 0) < 0) report('Z', "Unable to read control/outgoingip6. (#4.3.0)\n", 0, 0);
	if (b.len) {
		size_t n = b.len;
		const char *s = b.s;
		if (n > 2 && s[0] == '[' && s[n - 1] == ']') { s++; n -= 2; }
		if (ipaddr_scan(&out6, s, n) < 0 || out6.family != AF_INET6)
			report('Z', "control/outgoingip6 is not an IPv6 address. (#4.3.0)\n", 0, 0);
		have6 = 1;
	}
	buf_free(&b);
	if (mxroutes_load(&routes, &what) < 0) report('Z', "Unable to read ", what, ". (#4.3.0)\n");
	if (tlsdest_load(&tlsd) < 0) report('Z', "Unable to read control/tlsdestinations. (#4.3.0)\n", 0, 0);
}

/* DNS and our own addresses cost something to learn (resolv.conf, a
 * netlink dump): only when the plan needs them. */
static void netsetup(const mxroute *rt)
{
	buf b = BUF_INIT;
	const char *what;
	if (rt->found && rt->literal) return;
	if (dns_init(&b) < 0) report('Z', "Unable to set up DNS: ", b.s ? b.s : "?", ". (#4.3.0)\n");
	if (!rt->found && ipme_init(&what) < 0) report('Z', "Unable to find my own addresses in ", what, ". (#4.3.0)\n");
}

/* RFC 7672 for the exchanger of a: secure TLSA records make TLS and
 * their match mandatory; none (or an unsigned answer) is "may" under
 * dane, and rules the exchanger out under dane-only; a failed lookup
 * rules it out too. Looked up once per exchanger. 0 go on, -1 skip a
 * (lastwhy says why). */
static signed char danestate[PLAN_HOST_MAX];    /* 0 not looked up, 1 secure, 2 none, -1 failed */

static int dane(struct job *j, const mxplan_addr *a)
{
	static dns_tlsalist lists[PLAN_HOST_MAX];
	signed char *state = danestate;
	static buf failwhy[PLAN_HOST_MAX];
	const char *name = j->plan->hosts[a->host];
	buf q = BUF_INIT, why = BUF_INIT;
	char port[24];
	int r, secure;

	j->dane = 0;
	if (!state[a->host]) {
		fmt_ulong(port, j->plan->port);
		ipaddr lit;
		if (name[0] == '[' || ipaddr_scan(&lit, name, strlen(name)) == 0) state[a->host] = 2;   /* an address: no TLSA */
		else if (buf_copys(&q, "_") < 0 || buf_puts(&q, port) < 0 || buf_puts(&q, "._tcp.") < 0 || buf_puts(&q, name) < 0) {
			oom = 1;
			finish();
		} else {
			r = dns_tlsa(q.s, &lists[a->host], &secure, &why);
			if (r == DNS_SOFT) {
				state[a->host] = -1;
				if (buf_copys(&failwhy[a->host], "Sorry, the TLSA lookup for ") < 0 || buf_puts(&failwhy[a->host], q.s) < 0 ||
				    buf_puts(&failwhy[a->host], " failed, so I cannot tell whether DANE applies. (#4.7.5)\n") < 0)
					oom = 1;
			} else state[a->host] = r == DNS_FOUND && secure ? 1 : 2;
		}
		buf_free(&q);
		buf_free(&why);
	}
	if (state[a->host] < 0) return nextraw(failwhy[a->host].s, 0, 0), -1;
	if (state[a->host] == 1) {
		j->dane = 1;
		j->tlsa = &lists[a->host];
		return 0;
	}
	if (j->pol.level == TLS_DANE_ONLY)
		return nextraw("Sorry, ", name, " has no secure TLSA records, which control/tlsdestinations requires (dane-only). (#4.7.5)\n"), -1;
	return 0;
}

/* The job's route, TLS policy and relay credentials. */
static void route(struct job *j)
{
	buf why = BUF_INIT;
	int r;

	if (mxroutes_find(&routes, j->sender, j->host, &j->route, &why) < 0) report('Z', why.s, ". (#4.3.5)\n", 0);
	if (tlsdest_find(&tlsd, j->route.found ? j->route.relay : 0, j->host, &j->pol, &why) < 0)
		report('Z', why.s, ". (#4.3.5)\n", 0);
	/* MTA-STS only tightens j->pol, and not for a relay */
	if (mtasts_begin(&j->sts, j->host, j->route.found, &j->pol, &why) < 0)
		report('Z', "Unable to apply MTA-STS: ", why.s ? why.s : "?", ". (#4.3.0)\n");
	if (j->route.found) {
		/* the key as the administrator wrote it: a sender, a name or "[address]" */
		buf key = BUF_INIT;
		if (j->route.bysender) { if (buf_copys(&key, j->route.key) < 0) oom = 1; }
		else if (j->route.literal) {
			if (buf_copys(&key, "[") < 0 || buf_puts(&key, j->route.relay) < 0 || buf_puts(&key, "]") < 0) oom = 1;
		} else if (buf_copys(&key, j->route.relay) < 0) oom = 1;
		if (oom) finish();
		r = smtpauth_find(key.s, &j->user, &j->pass, &why);
		if (r == 0 && j->route.bysender) {
			/* no credentials for the sender: the relay's own, if any */
			if (j->route.literal ? buf_copys(&key, "[") < 0 || buf_puts(&key, j->route.relay) < 0 || buf_puts(&key, "]") < 0
			                    : buf_copys(&key, j->route.relay) < 0) { oom = 1; finish(); }
			r = smtpauth_find(key.s, &j->user, &j->pass, &why);
		}
		buf_free(&key);
		if (r < 0) report('Z', why.s, ". (#4.3.0)\n", 0);
		j->hasauth = r;
	}
	buf_free(&why);
}

/* The checks of the command line, then the route. */
static void begin(struct job *j, const char *host, const char *sender, char *const *recips, int n)
{
	static mxplan plan;
	buf w = BUF_INIT;
	int r;

	buf_wipe(&j->user);
	buf_wipe(&j->pass);
	mtasts_free(&j->sts);
	memset(j, 0, sizeof *j);
	lastwhy.len = 0;
	if (n < 1 || !host || !*host || !sender) report('D', "I (qmail-remote) was invoked improperly. (#5.3.5)\n", 0, 0);
	j->host = host;
	j->sender = sender;
	j->recips = recips;
	j->n = n;
	j->plan = &plan;
	if (wire(&w, sender) < 0)
		report('D', "Sorry, the envelope sender has characters that cannot be sent by SMTP. (#5.1.7)\n", 0, 0);
	buf_free(&w);
	j->needutf8 = nonascii(sender);
	for (r = 0; r < n; r++) if (nonascii(recips[r])) j->needutf8 = 1;
	route(j);
}

/* Sign and scan the message (made seekable first), once per delivery. */
static void readies(const struct job *j)
{
	buf why = BUF_INIT;
	seekable();
	if (dkimsign_message(msgfd, msgstart, j->sender, &dkimsig, &why) < 0)
		report('Z', "Unable to sign the message with DKIM: ", why.s ? why.s : "?", ". (#4.3.0)\n");
	buf_free(&why);
	if (readmsg(&scan, 0) < 0) report('Z', "Unable to read message. (#4.3.0)\n", 0, 0);
}

/* The plan, then each address in turn until one takes the delivery.
 * ready: readies() was done already. */
static _Noreturn void deliver(struct job *j, int ready)
{
	buf why = BUF_INIT;
	size_t i;
	int r, any = 0;

	netsetup(&j->route);
	memset(danestate, 0, sizeof danestate);
	r = mxplan_make(j->plan, j->host, &j->route, PORT_SMTP, &why);
	if (r == PLAN_TEMP) report('Z', why.s, "\n", 0);
	if (r == PLAN_PERM) report('D', why.s, "\n", 0);
	buf_free(&why);
	if (!ready) readies(j);

	for (i = 0; i < j->plan->n; i++) {
		const mxplan_addr *a = &j->plan->a[i];
		const ipaddr *src = a->ip.family == AF_INET6 ? (have6 ? &out6 : 0) : (have4 ? &out4 : 0);
		int fd, tries;

		if (tcpto_skip(&a->ip, time(0))) continue;
		if (!mtasts_mx(&j->sts, j->plan->hosts[a->host], &lastwhy)) continue;
		if ((j->pol.level == TLS_DANE || j->pol.level == TLS_DANE_ONLY) && dane(j, a) < 0) continue;
		for (tries = 0; tries < 2; tries++) {
			fd = ipaddr_connect(&a->ip, j->plan->port, src, (int)timeoutconnect);
			if (fd < 0) {
				int e = errno;
				if (e == ETIMEDOUT) tcpto_record(&a->ip, 1, time(0));
				if (src && (e == EADDRNOTAVAIL || e == EINVAL) && !any) {
					ipaddr_fmt(partner, src);
					nextraw("Unable to bind to my outgoing address ", partner, ". (#4.3.0)\n");
				}
				break;
			}
			any = 1;
			tcpto_record(&a->ip, 0, time(0));
			curfd = fd;
			uses = 0;
			r = session(j, fd, a, tries);
			close(fd);
			curfd = -1;
			if (conn) { tls_free(conn); conn = 0; }
			if (r != 2) break;    /* 2: "may" handshake failed; once more in plain text */
		}
	}
	if (lastwhy.len) report('Z', lastwhy.s, 0, 0);
	report('Z', "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n", 0, 0);
}

int smtpout_run(const char *host, const char *sender, char *const *recips, int n, int mfd, int ofd)
{
	static struct job j;

	outfd = ofd;
	msgfd = mfd;
	signal(SIGPIPE, SIG_IGN);
	getcontrols();
	begin(&j, host, sender, recips, n);
	deliver(&j, 0);
}

/* Whether the session kept after job a (for keptfor) can take job b: the same host,
 * the same route (relay, port, credentials) and the same TLS policy. */
static int samedest(const struct job *a, const struct job *b)
{
	if (!keptfor.s || !case_eq(keptfor.s, b->host)) return 0;
	if (a->route.found != b->route.found || a->pol.level != b->pol.level) return 0;
	if ((a->pol.cafile == 0) != (b->pol.cafile == 0) || (a->pol.cafile && strcmp(a->pol.cafile, b->pol.cafile))) return 0;
	if (a->hasauth != b->hasauth) return 0;
	if (a->hasauth && (!buf_eq(&a->user, &b->user) || !buf_eq(&a->pass, &b->pass))) return 0;
	if (!a->route.found) return 1;
	return a->route.literal == b->route.literal && a->route.port == b->route.port &&
	       case_eq(a->route.relay, b->route.relay);
}

static void closeconn(void)
{
	if (conn) { tls_free(conn); conn = 0; }
	if (curfd >= 0) { close(curfd); curfd = -1; }
	keep = 0;
	keeper = 0;
}

/* Every delivery ends in finish(), which comes back here (top): 1 the
 * reports are written, 2 a kept session was found gone (refresh). The
 * state that crosses the jump is static. */
void smtpout_serve(const smtpout_job *first, int ofd, int (*nextjob)(void *ctx, smtpout_job *jb), void *ctx)
{
	static struct job jobs[2];
	static smtpout_job jb;
	static struct job *j;
	static int controls, anew, ready;

	outfd = ofd;
	signal(SIGPIPE, SIG_IGN);
	serving = 1;
	jb = *first;
	msgfd = jb.msgfd;
	j = &jobs[0];
	for (;;) {
		int r = setjmp(top);
		if (r == 0) {
			if (!controls) { getcontrols(); controls = 1; }
			if (anew) {
				anew = 0;
				closeconn();
				deliver(j, ready);
			}
			ready = 0;
			begin(j, jb.host, jb.sender, jb.recips, jb.n);
			if (keep && keeper && samedest(keeper, j)) {
				readies(j);
				ready = 1;
				reusing = 1;
				transaction(j);
			}
			closeconn();
			deliver(j, 0);
		}
		if (r == 2) {   /* again, on a new connection */
			closeconn();
			reusing = 0;
			anew = 1;
			continue;
		}
		reusing = 0;
		if (msgfd != jb.msgfd) close(msgfd);   /* a copy made by seekable() */
		close(jb.msgfd);
		if (keep && uses >= SMTPOUT_REUSE_MAX) quit();
		if (!keep || uses >= SMTPOUT_REUSE_MAX) { closeconn(); _exit(0); }
		/* idle: "I" tells the caller; then the next job, or the end */
		if (write_all(outfd, "I", 2) < 0 || nextjob(ctx, &jb) <= 0) {
			quit();
			closeconn();
			_exit(0);
		}
		msgfd = jb.msgfd;
		j = keeper == &jobs[0] ? &jobs[1] : &jobs[0];
	}
}
