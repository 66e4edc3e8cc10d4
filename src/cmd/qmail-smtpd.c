/* qmail-smtpd: receive mail via SMTP (qmail-smtpd(8)).
 *
 * tcpserver runs it as qmaild, one process per connection, talking on
 * descriptors 0 and 1 and logging on 2. It speaks RFC 5321 with the
 * ESMTP extensions PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES,
 * SMTPUTF8, STARTTLS and AUTH PLAIN/LOGIN, and hands each message to
 * qmail-queue (or $QMAILQUEUE) once it is whole and checked; memory does
 * not grow with the message. A message is accepted (250) only once
 * qmail-queue has said it is safely queued.
 *
 * Arguments, when given, are a checkpassword command line for AUTH:
 *     qmail-smtpd DIR/bin/checkpassword /bin/true
 * Environment: tcpserver's TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO,
 * TCPLOCALIP and RELAYCLIENT; DATABYTES, GREETDELAY, MAXPERIP, NORCPTCHECK
 * (override control files); SUBMISSION (AUTH required before MAIL),
 * SMTPS (TLS from the first byte), AUTHPLAINLOOPBACK (AUTH without TLS for
 * loopback clients), TLSCIPHERS, QMAILQUEUE.
 *
 * What is refused, and how, is in doc/qmail-smtpd.8; the readers for
 * commands, addresses and DATA are src/mail/smtpin.c, the Received line
 * src/mail/received.c, the recipient check src/mail/rcptcheck.c, the SPF
 * check src/mail/spf.c, DKIM verification src/mail/dkimverify.c, DMARC
 * src/mail/dmarc.c, the Authentication-Results field (ours added, forged
 * ones removed) src/mail/authres.c.
 *
 * DATA is spooled (src/mail/spool.h: memory, then an unlinked file)
 * before anything goes to qmail-queue, because the results of checking
 * the whole message go in a header field in front of it, and a DMARC
 * reject must leave nothing queued. The spool, with its header block, is
 * where the milters of control/milters (src/mail/smtpdmilter.c) look at
 * the message and change its header before it is queued. */
#include "lib/base64.h"
#include "lib/err.h"
#include "lib/lockslot.h"
#include "lib/ratelimit.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "lib/stream.h"
#include "lib/tls.h"
#include "mail/addrlist.h"
#include "mail/authres.h"
#include "mail/checkpw.h"
#include "mail/dkimverify.h"
#include "mail/dmarc.h"
#include "mail/control.h"
#include "mail/instance.h"
#include "mail/smtpdmilter.h"
#include "mail/qqclient.h"
#include "mail/rcptcheck.h"
#include "mail/rcpthosts.h"
#include "mail/received.h"
#include "mail/route.h"
#include "mail/senders.h"
#include "mail/smtpin.h"
#include "mail/spf.h"
#include "mail/spool.h"
#include "mail/users.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ERRORS_MAX 20        /* error replies before we hang up */
#define JUNK_MAX 100         /* NOOP, RSET, VRFY, HELP... between messages */
#define AUTHFAIL_MAX 3       /* failed AUTH attempts before we hang up */
#define AUTH_FIELD_MAX 255   /* bytes of a login or a password */
#define MAXRCPT_DEFAULT 1000
#define CHECKPW_TIMEOUT 60

static stream io;

/* ---- configuration ---------------------------------------------------- */

static struct {
	buf me, greeting, localiphost, certfile, ciphers, rcptprog, statedir, cdbpath, aliashome;
	buf loginsenders, authrates;
	buf authservid;            /* control/authservid, else control/me */
	int spfpolicy;             /* control/spfpolicy: SPF_POLICY_* */
	int dkimverify;            /* control/dkimverify: DKIM and DMARC checks on */
	int dmarcpolicy;           /* control/dmarcpolicy: enum dmarc_enforce */
	unsigned long databytes, timeout, maxrcpt, greetdelay, maxperip;
	int rcptcheck, submission, smtps, tlsok, plainloopback;
	char **checkpw;            /* argv for AUTH, or 0 */
	const char *remoteip, *remotehost, *remoteinfo, *localip, *relayclient;
	rcpthosts rh;
	addrlist badfrom, badrcpt;
	route route;
	nq_ids ids;
	int haveids;
	smilter milter;            /* control/milters */
} cf;

/* ---- session state ---------------------------------------------------- */

static struct {
	int helo, esmtp;
	buf heloname;
	int mail, badfrom, utf8;
	buf from;
	buf rcpts;                 /* each recipient followed by a NUL */
	unsigned long nrcpt;
	unsigned errors, junk, authfails;
	tls *tls;
	int authed;
	buf login;
	rcptclient rc;
	struct authres ar;         /* results for this message's header */
	int spfpass;               /* SPF said pass for spfdomain */
	buf spfdomain;             /* the domain SPF checked, for DMARC */
	spool spool;               /* the message between DATA and qmail-queue */
	int refused;               /* a milter refused the session: only QUIT */
} ss;

/* ---- replies ------------------------------------------------------------- */

static void out(const char *s) { (void)stream_puts(&io, s); }

static _Noreturn void bye(int code)
{
	(void)stream_flush(&io);
	if (ss.tls) tls_close(ss.tls, 5);
	rcptclient_close(&ss.rc);
	smilter_close(&cf.milter);
	_exit(code);
}

/* One whole reply line. */
static void reply(const char *s)
{
	out(s);
	out("\r\n");
}

static void logmsg(const char *a, const char *b, const char *c)
{
	err_warn(a, b ? b : "", c ? c : "", " from ", cf.remoteip, (char *)0);
}

/* The milters' verdicts, changes and failures (src/mail/milter.c). */
static void milterlog(const char *line)
{
	err_warn(line, " from ", cf.remoteip, (char *)0);
}

/* An error reply: counted, and too many end the session. */
static void error(const char *s)
{
	reply(s);
	if (++ss.errors >= ERRORS_MAX) {
		reply("421 4.7.0 too many errors; closing connection");
		logmsg("too many errors", 0, 0);
		bye(0);
	}
}

/* A refusal a milter chose: a 5xx counts as an error, a 4xx does not. */
static void refuse(const char *s)
{
	if (s[0] == '5') error(s);
	else reply(s);
}

static void junk(void)
{
	if (++ss.junk > JUNK_MAX) {
		reply("421 4.7.0 too many commands without mail; closing connection");
		bye(0);
	}
}

static _Noreturn void dieread(void)
{
	/* A timeout deserves a word; a reset or end of input does not. */
	if (errno == ETIMEDOUT) {
		reply("421 4.4.2 timeout; closing connection");
		logmsg("timeout", 0, 0);
	}
	bye(0);
}

static _Noreturn void diecontrol(const char *name)
{
	err_warnerr("unable to read control/", name, (char *)0);
	reply("421 4.3.0 unable to read controls");
	bye(111);
}

static _Noreturn void nomem(void)
{
	reply("421 4.3.0 out of memory");
	err_nomem();
}

/* ---- set-up ------------------------------------------------------------ */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : 0;
}

/* An unsigned number from the environment if set, else from control/name. */
static void setting(unsigned long *u, const char *envname, const char *name, unsigned long def)
{
	const char *v = envname ? env(envname) : 0;
	if (v && str_toul(v, u) == 0) return;
	if (control_readulong(u, name, def) < 0) diecontrol(name);
}

static void config(int argc, char **argv)
{
	const char *what;
	int k;

	nq_chdir_home();
	if (control_readline(&cf.me, "me", 0) < 0) diecontrol("me");
	if ((k = control_readline(&cf.greeting, "smtpgreeting", cf.me.s)) < 0) diecontrol("smtpgreeting");
	if (!cf.greeting.len) {
		err_warn("control/me and control/smtpgreeting are missing: refusing to run", (char *)0);
		reply("421 4.3.0 unable to read controls");
		bye(111);
	}
	if (!cf.me.len && buf_copys(&cf.me, "unknown") < 0) nomem();
	if (control_readline(&cf.localiphost, "localiphost", cf.me.s) < 0) diecontrol("localiphost");
	if (control_readline(&cf.authservid, "authservid", cf.me.s) < 0) diecontrol("authservid");
	if ((cf.spfpolicy = spf_policy()) < 0) diecontrol("spfpolicy");
	if ((cf.dmarcpolicy = dmarc_policy()) < 0) diecontrol("dmarcpolicy");
	{
		unsigned long dv;
		setting(&dv, 0, "dkimverify", 1);
		cf.dkimverify = dv != 0;
	}
	setting(&cf.databytes, "DATABYTES", "databytes", 0);
	setting(&cf.timeout, 0, "timeoutsmtpd", 1200);
	setting(&cf.maxrcpt, 0, "maxrcpt", MAXRCPT_DEFAULT);
	if (!cf.maxrcpt) cf.maxrcpt = MAXRCPT_DEFAULT;
	setting(&cf.greetdelay, "GREETDELAY", "greetdelay", 0);
	setting(&cf.maxperip, "MAXPERIP", "maxperip", 0);
	{
		unsigned long rc;
		setting(&rc, 0, "rcptcheck", 1);
		cf.rcptcheck = rc != 0 && !getenv("NORCPTCHECK");
	}
	if (rcpthosts_load(&cf.rh) < 0) diecontrol("rcpthosts");
	if (addrlist_load(&cf.badfrom, "badmailfrom") < 0) diecontrol("badmailfrom");
	if (addrlist_load(&cf.badrcpt, "badrcptto") < 0) diecontrol("badrcptto");
	if (route_load(&cf.route, &what) < 0) diecontrol(what + (str_start(what, "control/") ? 8 : 0));
	if (control_readlines(&cf.loginsenders, "loginsenders") < 0) diecontrol("loginsenders");
	if (control_readlines(&cf.authrates, "authratelimit") < 0) diecontrol("authratelimit");
	if (control_readline(&cf.ciphers, "tlsserverciphers", 0) < 0) diecontrol("tlsserverciphers");
	if (env("TLSCIPHERS") && buf_copys(&cf.ciphers, env("TLSCIPHERS")) < 0) nomem();
	nq_path(&cf.certfile, "control/servercert.pem");
	nq_path(&cf.rcptprog, "bin/qmail-rcptcheck");
	nq_path(&cf.cdbpath, "users/cdb");
	nq_path(&cf.aliashome, "alias");
	cf.haveids = nq_ids_read(&cf.ids) == 0;
	nq_path(&cf.statedir, "state/smtpd");
	cf.tlsok = access(cf.certfile.s, R_OK) == 0;
	spool_init(&ss.spool, cf.statedir.s);
	{
		buf why = BUF_INIT;
		if (smilter_load(&cf.milter, cf.statedir.s, milterlog, &why) < 0) {
			if (why.len) err_warn("control/milters: ", why.s, (char *)0);
			diecontrol("milters");
		}
		buf_free(&why);
	}

	cf.remoteip = env("TCPREMOTEIP") ? env("TCPREMOTEIP") : "unknown";
	cf.remotehost = env("TCPREMOTEHOST");
	cf.remoteinfo = env("TCPREMOTEINFO");
	cf.localip = env("TCPLOCALIP");
	cf.relayclient = getenv("RELAYCLIENT");   /* "" is meaningful */
	cf.submission = env("SUBMISSION") != 0;
	cf.smtps = env("SMTPS") != 0;
	cf.plainloopback = env("AUTHPLAINLOOPBACK") != 0;
	if (argc > 1) cf.checkpw = argv + 1;
	{
		buf why = BUF_INIT;
		if (spf_init(cf.me.s, &why) < 0) {
			err_warn("unable to set up SPF: ", why.s ? why.s : "out of memory", (char *)0);
			reply("421 4.3.0 unable to set up SPF checks");
			bye(111);
		}
		buf_free(&why);
	}
	if (!cf.rh.have) err_warn("control/rcpthosts is missing: accepting no domain from unauthenticated clients", (char *)0);
}

/* ---- connection-level policy -------------------------------------------- */

/* control/maxperip: at most that many sessions per client address. A
 * missing state directory only disables the limit (and says so): a
 * broken limit must not stop all mail. */
static void perip(void)
{
	buf path = BUF_INIT;
	int fd;

	if (!cf.maxperip) return;
	if (buf_copy(&path, cf.statedir.s, cf.statedir.len) < 0 || buf_puts(&path, "/perip") < 0) nomem();
	fd = open(path.s, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err_warnerr("unable to open ", path.s, " (per-IP limit not enforced)", (char *)0);
		buf_free(&path);
		return;
	}
	buf_free(&path);
	if (lockslot_take(fd, cf.remoteip, strlen(cf.remoteip), cf.maxperip) < 0) {
		if (errno == EAGAIN) {
			logmsg("too many connections", 0, 0);
			reply("421 4.7.0 too many connections from your address; try again later");
			bye(0);
		}
		err_warnerr("per-IP limit not enforced", (char *)0);
	}
	/* fd stays open: it holds our slot until we exit */
}

/* control/greetdelay: say nothing for that many seconds; a client that
 * talks first is not a patient SMTP client. */
static void greetdelay(void)
{
	struct pollfd p;
	time_t end;
	int k;

	if (!cf.greetdelay || cf.smtps) return;
	end = time(0) + (time_t)cf.greetdelay;
	p.fd = 0;
	p.events = POLLIN;
	for (;;) {
		time_t now = time(0);
		if (now >= end) return;
		k = poll(&p, 1, (int)(end - now) * 1000);
		if (k == 0) return;
		if (k > 0) break;
		if (errno != EINTR) return;
	}
	{
		/* End of input is a client that gave up, not an early talker. */
		char c;
		if (recv(0, &c, 1, MSG_PEEK) == 0) bye(0);
	}
	logmsg("client talked before the greeting", 0, 0);
	reply("554 5.5.0 you talked before my greeting; closing connection");
	bye(0);
}

/* ---- TLS ------------------------------------------------------------------ */

/* 1 TLS is on, 0 it is not available (replied). */
static int starttls(void)
{
	buf why = BUF_INIT;
	tls_ctx *ctx;

	ctx = tls_server_ctx(cf.certfile.s, cf.ciphers.s, &why);
	if (!ctx) {
		err_warn("TLS unavailable: ", why.s, (char *)0);
		if (cf.smtps) bye(111);
		reply("454 4.7.0 TLS not available due to temporary reason");
		return 0;
	}
	if (!cf.smtps) {
		reply("220 2.0.0 ready to start TLS");
		if (stream_flush(&io) < 0) bye(0);
	}
	ss.tls = tls_accept(ctx, 0, 1, (int)cf.timeout, &why);
	tls_ctx_free(ctx);
	if (!ss.tls) {
		logmsg("TLS handshake failed: ", why.s, 0);
		bye(0);
	}
	/* Whatever the client sent before the handshake is dropped here. */
	stream_tls(&io, ss.tls);
	buf_free(&why);
	return 1;
}

/* ---- transaction state ------------------------------------------------------ */

static void reset(void)
{
	ss.mail = 0;
	ss.badfrom = 0;
	ss.utf8 = 0;
	ss.from.len = 0;
	ss.rcpts.len = 0;
	ss.nrcpt = 0;
	authres_clear(&ss.ar);
	ss.spfpass = 0;
	ss.spfdomain.len = 0;
	spool_reset(&ss.spool);
	smilter_reset(&cf.milter);
}

static int loopback(void)
{
	return str_start(cf.remoteip, "127.") || str_eq(cf.remoteip, "::1") ||
	       str_start(cf.remoteip, "::ffff:127.");
}

static int authoffered(void)
{
	return cf.checkpw && (ss.tls || (cf.plainloopback && loopback()));
}

/* ---- HELO, EHLO ------------------------------------------------------------- */

static void helo(const char *arg, size_t n, int esmtp)
{
	char num[24];

	if (n == 0) { error("501 5.5.4 HELO and EHLO need a domain name"); return; }
	if (buf_copy(&ss.heloname, arg, n) < 0) nomem();
	ss.helo = 1;
	ss.esmtp = esmtp;
	reset();
	{
		struct smilter_tls t = {0, 0, 0};
		buf no = BUF_INIT;
		int k;
		if (ss.tls) {
			t.version = tls_version(ss.tls);
			t.cipher = tls_cipher(ss.tls);
			t.bits = tls_bits(ss.tls);
		}
		if ((k = smilter_helo(&cf.milter, ss.heloname.s, &t, &no)) < 0) nomem();
		if (k) { refuse(no.s); buf_free(&no); return; }
	}
	if (!esmtp) { out("250 "); reply(cf.me.s); return; }
	out("250-"); reply(cf.me.s);
	reply("250-PIPELINING");
	reply("250-8BITMIME");
	if (cf.databytes) {
		fmt_ulong(num, cf.databytes);
		out("250-SIZE "); reply(num);
	} else reply("250-SIZE");
	reply("250-ENHANCEDSTATUSCODES");
	if (cf.tlsok && !ss.tls) reply("250-STARTTLS");
	if (authoffered() && !ss.authed) reply("250-AUTH PLAIN LOGIN");
	reply("250 SMTPUTF8");
}

/* ---- MAIL ------------------------------------------------------------------- */

static const char *patherr(int e, int sender)
{
	switch (e) {
	case SP_PREFIX: return sender ? "501 5.5.4 syntax: MAIL FROM:<address>" : "501 5.5.4 syntax: RCPT TO:<address>";
	case SP_TOOLONG: return sender ? "501 5.1.7 address too long" : "501 5.1.3 address too long";
	case SP_BADCHAR: return sender ? "501 5.1.7 control character in address" : "501 5.1.3 control character in address";
	default: return sender ? "501 5.1.7 bad sender address syntax" : "501 5.1.3 bad recipient address syntax";
	}
}

/* The limit for this login from control/authratelimit: "login:N" or
 * "login:N/SECONDS" (default an hour), "*:..." for everyone else.
 * 1 limited (max, window set), 0 no limit. */
static int ratefor(const char *login, unsigned long *max, unsigned long *window)
{
	const char *p, *use = 0;
	size_t ll = strlen(login);

	for (p = 0; (p = list_next(&cf.authrates, p)); ) {
		size_t c = byte_chr(p, strlen(p), ':');
		if (p[c] != ':') continue;
		if (c == ll && case_eqn(p, login, ll)) { use = p + c + 1; break; }
		if (c == 1 && p[0] == '*' && !use) use = p + c + 1;
	}
	if (!use) return 0;
	{
		size_t k = scan_ulong(use, strlen(use), max);
		*window = 3600;
		if (!k) return 0;
		if (use[k] == '/' && !scan_ulong(use + k + 1, strlen(use + k + 1), window)) *window = 3600;
		if (!*window) *window = 3600;
	}
	return 1;
}

/* 1 a message may be sent now, 0 the limit is reached, -1 no state. */
static int ratecheck(int take)
{
	unsigned long max, window;
	if (!ss.authed || !ratefor(ss.login.s, &max, &window)) return 1;
	return ratelimit(cf.statedir.s, ss.login.s, ss.login.len, max, window, take, time(0));
}

/* The SPF check of the sender (or, for <>, of the HELO name), and the
 * result noted for the Authentication-Results field. Clients we relay
 * for are not checked: their mail is ours. 1 go on, 0 refused (replied). */
static int spf(const char *from)
{
	struct spf_check c = {SPFR_NONE, 0, BUF_INIT};
	int r;

	if (ss.authed) {
		if (authres_add(&ss.ar, "auth", "pass", 0, "smtp.auth", ss.login.s) < 0) nomem();
		return 1;
	}
	if (cf.relayclient) return 1;
	if (spf_check(cf.remoteip, ss.heloname.s, from, &c) < 0) nomem();
	r = 1;
	if (c.result == SPFR_FAIL && cf.spfpolicy >= SPF_POLICY_REFUSE) {
		logmsg("SPF fail for ", c.domain.s, 0);
		out("550 5.7.23 SPF: ");
		out(c.domain.s);
		out(" does not allow ");
		out(cf.remoteip);
		error(" to send its mail");
		r = 0;
	} else if (c.result == SPFR_TEMPERROR && cf.spfpolicy >= SPF_POLICY_DEFER) {
		logmsg("SPF temporary error for ", c.domain.s, 0);
		reply("451 4.4.3 SPF: temporary DNS error; try again later");
		r = 0;
	} else if (authres_add(&ss.ar, "spf", spf_name(c.result), 0,
	                       c.helo ? "smtp.helo" : "smtp.mailfrom", c.helo ? ss.heloname.s : from) < 0)
		nomem();
	/* kept for DMARC's SPF alignment */
	ss.spfpass = c.result == SPFR_PASS;
	if (buf_copys(&ss.spfdomain, c.domain.s ? c.domain.s : "") < 0) nomem();
	buf_free(&c.domain);
	return r;
}

static void mail(const char *arg, size_t n)
{
	struct smtp_path p = {BUF_INIT, 0, 0};
	const char *k, *v;
	size_t kl, vl, pos;
	int r, utf8 = 0;

	if (cf.submission && !ss.authed) { error("530 5.7.0 authentication required"); return; }
	if (!ss.helo) { error("503 5.5.1 send HELO or EHLO first"); return; }
	if (ss.mail) { error("503 5.5.1 nested MAIL command"); return; }
	if (smilter_helorefused(&cf.milter)) { refuse(smilter_helorefused(&cf.milter)); return; }
	r = smtp_path(arg, n, "FROM:", &p);
	if (r < 0) nomem();
	if (r != SP_OK) { error(patherr(r, 1)); goto out; }
	for (pos = p.params; (r = smtp_param(arg, n, &pos, &k, &kl, &v, &vl)) > 0; ) {
		if (!ss.esmtp) { r = -2; break; }
		if (kl == 4 && case_eqn(k, "SIZE", 4)) {
			unsigned long size;
			if (!vl || scan_ulong(v, vl, &size) != vl) { r = -1; break; }
			if (cf.databytes && size > cf.databytes) {
				error("552 5.3.4 sorry, that message size exceeds my databytes limit");
				goto out;
			}
		} else if (kl == 4 && case_eqn(k, "BODY", 4)) {
			if (!((vl == 4 && case_eqn(v, "7BIT", 4)) || (vl == 8 && case_eqn(v, "8BITMIME", 8)))) {
				error("501 5.5.4 BODY must be 7BIT or 8BITMIME");
				goto out;
			}
		} else if (kl == 8 && case_eqn(k, "SMTPUTF8", 8) && !vl) {
			utf8 = 1;
		} else if (kl == 4 && case_eqn(k, "AUTH", 4)) {
			/* RFC 4954's AUTH= is informational: ignored */
		} else { r = -2; break; }
	}
	if (r == -1) { error("501 5.5.4 malformed MAIL parameter"); goto out; }
	if (r == -2) { error("555 5.5.4 unsupported MAIL parameter"); goto out; }
	if (p.utf8 && !utf8) { error("553 5.6.7 a non-ASCII address needs SMTPUTF8"); goto out; }
	if (ss.authed) {
		r = senders_owns(&cf.route, &cf.loginsenders, ss.login.s, p.addr.s);
		if (r < 0) nomem();
		if (!r) {
			logmsg("sender <", p.addr.s, "> refused for the login");
			error("553 5.7.1 sender address not owned by the authenticated user");
			goto out;
		}
		r = ratecheck(0);
		if (r < 0) {
			err_warnerr("unable to check the rate limit in ", cf.statedir.s, (char *)0);
			reply("451 4.3.0 unable to check the sending rate; try again later");
			goto out;
		}
		if (!r) {
			logmsg("rate limit reached by ", ss.login.s, 0);
			reply("450 4.7.0 you have sent too many messages; try again later");
			goto out;
		}
	}
	if (!spf(p.addr.s)) goto out;
	{
		buf no = BUF_INIT;
		r = smilter_mail(&cf.milter, p.addr.s, ss.authed ? ss.login.s : 0, &no);
		if (r < 0) nomem();
		if (r) {
			refuse(no.s);
			buf_free(&no);
			reset();   /* this sender's results go */
			goto out;
		}
	}
	ss.badfrom = addrlist_match(&cf.badfrom, p.addr.s, p.addr.len);
	if (buf_copy(&ss.from, p.addr.s, p.addr.len) < 0) nomem();
	ss.utf8 = utf8;
	ss.mail = 1;
	reply("250 2.1.0 ok");
out:
	buf_free(&p.addr);
}

/* ---- RCPT ------------------------------------------------------------------- */

/* Is the address literal lit ("[1.2.3.4]", "[IPv6:...]") one of ours? */
static int localip(const char *lit, size_t n)
{
	char a[INET6_ADDRSTRLEN + 8];
	unsigned char want[16], have[16];
	struct ifaddrs *ifs, *i;
	int fam = AF_INET, found = 0;

	if (n < 3 || n - 2 >= sizeof a) return 0;
	memcpy(a, lit + 1, n - 2);
	a[n - 2] = 0;
	if (case_eqn(a, "IPv6:", 5)) {
		fam = AF_INET6;
		memmove(a, a + 5, strlen(a + 5) + 1);
	}
	if (inet_pton(fam, a, want) != 1) return 0;
	if (cf.localip && inet_pton(fam, cf.localip, have) == 1 &&
	    memcmp(want, have, fam == AF_INET ? 4 : 16) == 0) return 1;
	if (getifaddrs(&ifs) < 0) return 0;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != fam) continue;
		if (fam == AF_INET)
			found = memcmp(&((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, want, 4) == 0;
		else
			found = memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, want, 16) == 0;
	}
	freeifaddrs(ifs);
	return found;
}

/* May this recipient be accepted from this client? 1 yes, 0 no, -1 error.
 * Besides rcpthosts, the address as qmail-send will route it must stay
 * here or go to an rcpthosts domain: percenthack cannot turn an accepted
 * "user%elsewhere@here" into a relay. */
static int relayok(const char *addr, size_t n)
{
	buf rw = BUF_INIT;
	int r;
	size_t at;

	if (cf.relayclient || ss.authed) return 1;
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

/* The recipient check (src/mail/rcptcheck.h), first here, without
 * privilege: users/cdb, the password file and every home we may look
 * into (the alias user's, homes that are not 0700) are answered at once.
 * Only what needs privilege to know goes to qmail-rcptcheck. */
static int inpasswd(users_ent *e, const char *local, size_t len, void *arg)
{
	return users_passwd(e, cf.aliashome.s, local, len);
}

static int indotqmail(const users_ent *e, void *arg)
{
	return rcptcheck_dotqmail(e->home, e->dash, e->ext);
}

static int mailbox(const char *addr, size_t n)
{
	struct rc_cfg c;
	int r = RC_UNKNOWN;

	if (cf.haveids) {
		memset(&c, 0, sizeof c);
		c.route = &cf.route;
		c.cdbpath = cf.cdbpath.s;
		c.aliashome = cf.aliashome.s;
		c.ids = &cf.ids;
		c.owner = getuid();
		c.passwd = inpasswd;
		c.dotqmail = indotqmail;
		r = rcptcheck(&c, addr, n);
	}
	if (r == RC_UNKNOWN && !(cf.haveids && cf.ids.single))
		r = rcptclient_ask(&ss.rc, cf.rcptprog.s, addr, n, (int)cf.timeout);
	return r;
}

static void rcpt(const char *arg, size_t n)
{
	struct smtp_path p = {BUF_INIT, 0, 0};
	const char *k, *v;
	size_t kl, vl, pos, at, plain;
	int r;

	if (!ss.mail) { error("503 5.5.1 MAIL first"); return; }
	r = smtp_path(arg, n, "TO:", &p);
	if (r < 0) nomem();
	if (r != SP_OK) { error(patherr(r, 0)); goto out; }
	pos = p.params;
	r = smtp_param(arg, n, &pos, &k, &kl, &v, &vl);
	if (r != 0) { error(r < 0 ? "501 5.5.4 malformed RCPT parameter" : "555 5.5.4 unsupported RCPT parameter"); goto out; }
	if (!p.addr.len) { error("501 5.1.3 the null address is no recipient"); goto out; }
	if (p.utf8 && !ss.utf8) { error("553 5.6.7 a non-ASCII address needs SMTPUTF8"); goto out; }
	if (ss.badfrom) { error("553 5.7.1 sorry, your envelope sender is in my badmailfrom list"); goto out; }

	at = byte_rchr(p.addr.s, p.addr.len, '@');
	if (at < p.addr.len && p.addr.s[at + 1] == '[' && localip(p.addr.s + at + 1, p.addr.len - at - 1)) {
		buf_trunc(&p.addr, at + 1);
		if (buf_put(&p.addr, cf.localiphost.s, cf.localiphost.len) < 0) nomem();
	}
	if (addrlist_match(&cf.badrcpt, p.addr.s, p.addr.len)) {
		error("553 5.7.1 sorry, mail to that recipient is not accepted");
		goto out;
	}
	r = relayok(p.addr.s, p.addr.len);
	if (r < 0) {
		err_warnerr("unable to read control/morercpthosts.cdb", (char *)0);
		reply("451 4.3.0 unable to check the recipient; try again later");
		goto out;
	}
	if (!r) {
		error("553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts");
		goto out;
	}
	plain = p.addr.len;    /* as the client gave it, for the milters */
	if (cf.relayclient && buf_puts(&p.addr, cf.relayclient) < 0) nomem();
	if (ss.nrcpt >= cf.maxrcpt) { reply("452 4.5.3 too many recipients"); goto out; }
	if (cf.rcptcheck && mailbox(p.addr.s, p.addr.len) == RC_NO) {
		error("550 5.1.1 sorry, no mailbox here by that name");
		goto out;
	}
	{
		buf no = BUF_INIT;
		r = smilter_rcpt(&cf.milter, p.addr.s, plain, &no);
		if (r < 0) nomem();
		if (r) { refuse(no.s); buf_free(&no); goto out; }
	}
	if (buf_put(&ss.rcpts, p.addr.s, p.addr.len) < 0 || buf_put0(&ss.rcpts) < 0) nomem();
	ss.nrcpt++;
	reply("250 2.1.5 ok");
out:
	buf_free(&p.addr);
}

/* ---- DATA -------------------------------------------------------------------- */

/* The checks made on the whole message (DKIM, then DMARC), their results
 * added to the Authentication-Results field. 1 go on, 0 refused by the
 * DMARC policy (replied); *quarantine set when the field that marks the
 * message is wanted. */
static int checkmessage(dkimv *dv, int *quarantine)
{
	struct dmarc_in in;
	struct dmarc_out o;
	const char *hp;

	*quarantine = 0;
	dkimv_end(dv);
	if (dkimv_authres(dv, &ss.ar) < 0) nomem();
	memset(&in, 0, sizeof in);
	in.hdrlen = (size_t)spool_header(&ss.spool, &hp);
	in.hdr = hp;
	in.ip = cf.remoteip;
	in.spfdomain = ss.spfdomain.s;
	in.spfpass = ss.spfpass;
	in.dkim = dv;
	in.enforce = cf.dmarcpolicy;
	if (dmarc_check(&in, &o) < 0 || dmarc_authres(&o, &ss.ar) < 0) nomem();
	if (o.action == DMARC_DO_REJECT) {
		logmsg("DMARC reject for ", o.from, 0);
		out("550 5.7.1 message refused: the DMARC policy of ");
		out(o.from);
		error(" says to reject mail that fails its checks");
		return 0;
	}
	*quarantine = o.action == DMARC_DO_QUARANTINE;
	return 1;
}

static int toqueue(void *q, const char *p, size_t n)
{
	qq_put(q, p, n);
	return 0;
}

/* qmail's reply to an accepted message: the time and qmail-queue's pid. */
static void accepted(pid_t qp)
{
	char num[24];
	ss.junk = 0;
	out("250 2.0.0 ok ");
	fmt_ulong(num, (unsigned long long)time(0));
	out(num);
	out(" qp ");
	fmt_ulong(num, (unsigned long long)qp);
	reply(num);
}

static void data(size_t n)
{
	struct smtp_data d;
	struct received rv;
	struct authres_filter af;
	dkimv dv;
	buf chunk = BUF_INIT, clean = BUF_INIT, why = BUF_INIT;
	const char *r;
	pid_t qp;
	qq q;
	int code, spoolerr = 0, quarantine = 0;
	const int check = cf.dkimverify && !cf.relayclient && !ss.authed;

	if (!ss.mail) { error("503 5.5.1 MAIL first"); return; }
	if (!ss.nrcpt) { error("503 5.5.1 RCPT first"); return; }
	if (n) { error("501 5.5.4 DATA takes no argument"); return; }
	if (qq_open(&q, 0) < 0) {
		err_warnerr("unable to start qmail-queue", (char *)0);
		reply("451 4.3.0 unable to start qmail-queue");
		return;
	}
	qp = q.pid;
	reply("354 go ahead; end with <CRLF>.<CRLF>");
	if (stream_flush(&io) < 0) {
		int e = errno;
		q.failed = 1;
		qq_close(&q, &why);
		errno = e;
		dieread();
	}

	memset(&rv, 0, sizeof rv);
	rv.helo = ss.heloname.s;
	rv.remoteip = cf.remoteip;
	rv.remotehost = cf.remotehost;
	rv.remoteinfo = cf.remoteinfo;
	rv.me = cf.me.s;
	rv.proto = received_proto(ss.esmtp, ss.tls != 0, ss.authed);
	if (ss.tls) {
		rv.tlsversion = tls_version(ss.tls);
		rv.tlscipher = tls_cipher(ss.tls);
		rv.tlsbits = tls_bits(ss.tls);
	}
	rv.when = time(0);

	/* The message as the client sent it goes to the DKIM verifier; less
	 * the Authentication-Results fields in our name, to the spool. */
	memset(&dv, 0, sizeof dv);
	if (check) (void)dkimv_start(&dv);
	spool_reset(&ss.spool);
	smtp_data_init(&d, cf.databytes);
	authres_filter_init(&af, cf.authservid.s);
	while (d.st != SD_END) {
		ssize_t k = stream_fill(&io);
		long long used;
		if (k <= 0) {
			/* The client is gone: nothing may be queued. */
			int e = k < 0 ? errno : 0;
			q.failed = 1;
			qq_close(&q, &why);
			errno = e;
			dieread();
		}
		chunk.len = 0;
		used = smtp_data_feed(&d, io.in + io.pos, stream_buffered(&io), &chunk);
		if (used < 0) nomem();
		io.pos += (size_t)used;
		if (check && dkimv_feed(&dv, chunk.s, chunk.len) < 0) nomem();
		clean.len = 0;
		if (authres_filter_feed(&af, chunk.s, chunk.len, &clean) < 0 ||
		    (d.st == SD_END && authres_filter_end(&af, &clean) < 0)) nomem();
		if (clean.len && !spoolerr && spool_put(&ss.spool, clean.s, clean.len) < 0) spoolerr = errno ? errno : EIO;
	}
	buf_free(&chunk);
	buf_free(&clean);
	authres_filter_free(&af);

	r = 0;
	if (d.bad & (SD_BARELF | SD_BARECR)) {
		r = "554 5.6.0 message refused: bare LF or CR in it (lines must end with CRLF)";
		logmsg("bare LF or CR in DATA", 0, 0);
	} else if (d.bad & SD_NUL) r = "554 5.6.0 message refused: it contains NUL bytes";
	else if (d.bad & SD_TOOBIG) r = "552 5.3.4 sorry, that message size exceeds my databytes limit";
	else if (d.bad & SD_HOPS) r = "554 5.4.6 too many hops, this message is looping";
	if (!r && spoolerr) {
		errno = spoolerr;
		err_warnerr("unable to spool the message in ", cf.statedir.s, (char *)0);
		r = "451 4.3.0 unable to store the message for now; try again later";
	}
	if (!r && check && !checkmessage(&dv, &quarantine)) r = "";
	dkimv_free(&dv);
	if (r) {
		q.failed = 1;
		qq_close(&q, &why);
		reset();
		if (*r) error(r);
		buf_free(&why);
		return;
	}

	/* Our Received line and our results go in front of the message. The
	 * milters see it so, and may refuse it, drop it, or change its
	 * header and envelope (src/mail/smtpdmilter.c). */
	chunk.len = 0;
	if (received_line(&chunk, &rv) < 0 || authres_header(&chunk, cf.authservid.s, &ss.ar) < 0 ||
	    (quarantine && buf_puts(&chunk, DMARC_QFIELD) < 0)) nomem();
	{
		struct smilter_out o = {BUF_INIT, 0, 0};
		buf no = BUF_INIT;
		int k = smilter_eom(&cf.milter, &chunk, &ss.spool, qp, &ss.from, &ss.rcpts, &o, &no);
		if (k < 0) nomem();
		buf_free(&chunk);
		if (k) {
			q.failed = 1;
			qq_close(&q, &why);
			reset();
			if (no.len) refuse(no.s);
			else accepted(qp);    /* discarded */
			buf_free(&no);
			buf_free(&why);
			return;
		}
		qq_put(&q, o.front.s, o.front.len);
		buf_free(&o.front);
		if ((o.rest || o.body ? smilter_tail(o.body ? o.body : &ss.spool, o.rest, toqueue, &q)
		                      : spool_each(&ss.spool, toqueue, &q)) != 0) {
			err_warnerr("unable to read the spooled message", (char *)0);
			q.failed = 1;
		}
	}
	qq_from(&q, ss.from.s);
	{
		const char *p;
		for (p = ss.rcpts.s; p < ss.rcpts.s + ss.rcpts.len; p += strlen(p) + 1)
			qq_to(&q, p, strlen(p));
	}
	code = qq_close(&q, &why);
	reset();
	if (code == 'D') { out("554 5.3.0 "); reply(why.s); }
	else if (code) { out("451 4.3.0 "); reply(why.s); }
	else {
		if (ss.authed && ratecheck(1) < 0)
			err_warnerr("unable to count the message in ", cf.statedir.s, (char *)0);
		accepted(qp);
	}
	buf_free(&why);
}

/* ---- AUTH ----------------------------------------------------------------- */

/* Read one SASL response line (base64) and decode it into out.
 * 1 ok, 0 the client cancelled ("*") or sent garbage (replied). */
static int response(buf *out)
{
	buf line = BUF_INIT;
	int r;

	if (stream_flush(&io) < 0) dieread();
	r = stream_getline(&io, &line, SMTP_LINE_MAX);
	if (r == 0) bye(0);
	if (r < 0) {
		if (errno != ERANGE) dieread();
		buf_free(&line);
		error("500 5.5.2 line too long");
		return 0;
	}
	buf_trunc(&line, line.len - 1);
	if (line.len && line.s[line.len - 1] == '\r') buf_trunc(&line, line.len - 1);
	if (line.len == 1 && line.s[0] == '*') { buf_free(&line); error("501 5.0.0 AUTH cancelled"); return 0; }
	out->len = 0;
	r = b64_decode(out, line.s, line.len);
	buf_free(&line);
	if (r < 0) { error("501 5.5.2 cannot decode the response"); return 0; }
	return 1;
}

static void auth(const char *arg, size_t n)
{
	buf dec = BUF_INIT, user = BUF_INIT, pass = BUF_INIT, stamp = BUF_INIT;
	size_t sp = byte_chr(arg, n, ' '), ir;
	int r;

	if (!cf.checkpw) { error("502 5.5.1 AUTH not available"); return; }
	if (ss.authed) { error("503 5.5.1 already authenticated"); return; }
	if (ss.mail) { error("503 5.5.1 AUTH not allowed during a mail transaction"); return; }
	if (!authoffered()) { error("538 5.7.11 encryption required for authentication"); return; }
	for (ir = sp; ir < n && arg[ir] == ' '; ir++) ;
	if (sp == 5 && case_eqn(arg, "PLAIN", 5)) {
		size_t a, b;
		if (ir < n) {
			if (!(n - ir == 1 && arg[ir] == '=') && b64_decode(&dec, arg + ir, n - ir) < 0) {
				error("501 5.5.2 cannot decode the response");
				goto out;
			}
		} else {
			out("334 \r\n");
			if (!response(&dec)) goto out;
		}
		/* authzid NUL authcid NUL password */
		a = byte_chr(dec.s, dec.len, 0);
		b = a < dec.len ? a + 1 + byte_chr(dec.s + a + 1, dec.len - a - 1, 0) : dec.len;
		if (b >= dec.len) { error("501 5.5.2 malformed PLAIN response"); goto out; }
		if (buf_copy(&user, dec.s + a + 1, b - a - 1) < 0 || buf_copy(&pass, dec.s + b + 1, dec.len - b - 1) < 0) nomem();
		if (a && (a != user.len || memcmp(dec.s, user.s, a) != 0)) {
			error("535 5.7.8 authorization identity must be empty or the login");
			goto out;
		}
	} else if (sp == 5 && case_eqn(arg, "LOGIN", 5)) {
		if (ir < n) {
			if (b64_decode(&user, arg + ir, n - ir) < 0) { error("501 5.5.2 cannot decode the response"); goto out; }
		} else {
			out("334 VXNlcm5hbWU6\r\n");
			if (!response(&user)) goto out;
		}
		out("334 UGFzc3dvcmQ6\r\n");
		if (!response(&pass)) goto out;
	} else {
		error("504 5.5.4 unrecognized authentication mechanism");
		goto out;
	}
	if (!user.len || user.len > AUTH_FIELD_MAX || pass.len > AUTH_FIELD_MAX ||
	    memchr(user.s, 0, user.len) || memchr(pass.s, 0, pass.len)) {
		r = CHECKPW_BAD;
	} else {
		if (buf_copys(&stamp, "<") < 0 || buf_putnum(&stamp, (unsigned long long)getpid()) < 0 ||
		    buf_putc(&stamp, '.') < 0 || buf_putnum(&stamp, (unsigned long long)time(0)) < 0 ||
		    buf_putc(&stamp, '@') < 0 || buf_puts(&stamp, cf.me.s) < 0 || buf_putc(&stamp, '>') < 0)
			nomem();
		r = checkpw(cf.checkpw, user.s, user.len, pass.s, pass.len, stamp.s, CHECKPW_TIMEOUT);
	}
	if (r == CHECKPW_OK) {
		if (buf_copy(&ss.login, user.s, user.len) < 0) nomem();
		ss.authed = 1;
		logmsg("AUTH ok for ", user.s, 0);
		reply("235 2.7.0 authentication successful");
	} else if (r == CHECKPW_BAD) {
		/* Slow down password guessing, and stop it after a few tries. */
		ss.authfails++;
		logmsg("AUTH failed for ", user.len <= AUTH_FIELD_MAX ? user.s : "(too long)", 0);
		if (stream_flush(&io) < 0) dieread();
		sleep(ss.authfails);
		if (ss.authfails >= AUTHFAIL_MAX) {
			reply("421 4.7.0 too many failed authentications; closing connection");
			bye(0);
		}
		error("535 5.7.8 authentication failed");
	} else {
		logmsg("AUTH could not be checked for ", user.s, 0);
		reply("454 4.7.0 temporary authentication failure");
	}
out:
	buf_wipe(&dec);
	buf_wipe(&pass);
	buf_free(&user);
	buf_free(&stamp);
}

/* ---- the command loop ---------------------------------------------------- */

/* Replies wait in the output buffer while the client has more commands
 * queued up (PIPELINING) and go out before we wait for input. */
static void flushmaybe(void)
{
	if (!memchr(io.in + io.pos, '\n', stream_buffered(&io)) && stream_flush(&io) < 0) bye(0);
}

int main(int argc, char **argv)
{
	buf line = BUF_INIT;

	err_prog = "qmail-smtpd";
	sig_ignore(SIGPIPE);
	stream_init(&io, 0, 1, 1200);
	config(argc, argv);
	io.timeout = (int)cf.timeout;
	perip();
	greetdelay();
	if (cf.smtps) starttls();
	{
		/* The milters hear of the client before it hears from us. */
		struct smilter_client c = {cf.me.s, cf.remoteip, cf.remotehost, env("TCPREMOTEPORT"), cf.localip};
		buf no = BUF_INIT;
		int k = smilter_connect(&cf.milter, &c, &no);
		if (k < 0) nomem();
		if (k) {
			/* 554: only QUIT from now on (RFC 5321 3.1); 421: goodbye */
			reply(no.s);
			if (no.s[0] == '4') bye(0);
			ss.refused = 1;
		}
		buf_free(&no);
	}
	if (!ss.refused) {
		out("220 ");
		out(cf.greeting.s);
		reply(" ESMTP");
	}

	for (;;) {
		enum smtp_verb v;
		size_t arg;
		int r;

		flushmaybe();
		line.len = 0;
		r = stream_getline(&io, &line, SMTP_LINE_MAX);
		if (r == 0) bye(0);
		if (r < 0) {
			if (errno == ERANGE) { error("500 5.5.2 line too long"); continue; }
			dieread();
		}
		buf_trunc(&line, line.len - 1);
		if (line.len && line.s[line.len - 1] == '\r') buf_trunc(&line, line.len - 1);
		if (memchr(line.s, 0, line.len)) { error("500 5.5.2 NUL byte in command"); continue; }
		v = smtp_verb(line.s, line.len, &arg);
		if (ss.refused && v != SV_QUIT) {
			error("503 5.5.1 this session was refused; only QUIT is accepted");
			continue;
		}
		switch (v) {
		case SV_HELO: helo(line.s + arg, line.len - arg, 0); break;
		case SV_EHLO: helo(line.s + arg, line.len - arg, 1); break;
		case SV_MAIL: mail(line.s + arg, line.len - arg); break;
		case SV_RCPT: rcpt(line.s + arg, line.len - arg); break;
		case SV_DATA: data(line.len - arg); break;
		case SV_RSET: junk(); reset(); reply("250 2.0.0 flushed"); break;
		case SV_NOOP: junk(); reply("250 2.0.0 ok"); break;
		case SV_VRFY: junk(); reply("252 2.1.5 send some mail, I'll try my best"); break;
		case SV_HELP: junk(); reply("214 2.0.0 nqmail: see RFC 5321"); break;
		case SV_QUIT: out("221 2.0.0 "); out(cf.me.s); reply(" closing connection"); bye(0);
		case SV_STARTTLS:
			if (!cf.tlsok) error("502 5.5.1 STARTTLS not available");
			else if (ss.tls) error("503 5.5.1 TLS already active");
			else if (line.len != arg) error("501 5.5.4 STARTTLS takes no argument");
			else if (starttls()) {
				/* RFC 3207: forget everything learnt before TLS. */
				ss.helo = ss.esmtp = 0;
				reset();
			}
			break;
		case SV_AUTH: auth(line.s + arg, line.len - arg); break;
		default: junk(); error("502 5.5.1 unimplemented"); break;
		}
	}
}
