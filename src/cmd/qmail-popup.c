/* qmail-popup: read a POP3 login and password, then run the program
 * that checks them (qmail-popup(8)).
 *
 *     qmail-popup hostname checkpassword subprogram [arg ...]
 *
 * tcpserver runs it as root, one process per connection, on descriptors
 * 0 and 1, logging on 2. It speaks the authorization state of POP3 (USER,
 * PASS, APOP, CAPA, STLS, NOOP, QUIT) and, given a login, runs
 * "checkpassword subprogram ..." with "login\0password\0timestamp\0" on
 * descriptor 3. checkpassword becomes the user and runs subprogram
 * (qmail-pop3d Maildir), whose first "+OK" answers PASS.
 *
 * Passwords are accepted only inside TLS: STLS, or TLS from the first
 * byte when POP3S is set (port 995). POP3PLAINLOOPBACK lets clients on
 * 127.0.0.0/8 and ::1 log in without it. APOP needs an authenticator that
 * knows the password in clear, which DIR/bin/checkpassword does not: it
 * is offered (the timestamp in the greeting) only when APOP is set.
 *
 * A TLS session cannot cross the exec of checkpassword, so with TLS this
 * process stays: the chain gets one end of a socketpair, and we relay
 * between it and the client. Without TLS the chain gets the client's
 * descriptors themselves, unless the client already pipelined commands
 * behind PASS that sit in our buffer; those are relayed too. Once the
 * chain runs, this process gives up root (it becomes qmaild).
 *
 * A failed login is logged with TCPREMOTEIP, answered after a delay, and
 * ends the connection, as in qmail.
 *
 * Environment: POP3S, POP3PLAINLOOPBACK, APOP, TLSCIPHERS (or
 * control/tlsserverciphers), TCPREMOTEIP; the certificate and key are
 * DIR/control/servercert.pem. */
#include "lib/err.h"
#include "lib/fdpipe.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "lib/stream.h"
#include "lib/tls.h"
#include "mail/control.h"
#include "mail/instance.h"
#include "mail/pop3cmd.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT 1200          /* qmail-popup(8): a 20-minute idle timeout */
#define ERRORS_MAX 20         /* bad commands before we hang up */
#define FIELD_MAX 255         /* bytes of a login or a password */
#define FAIL_DELAY 2          /* seconds before "authorization failed" */
#define CHECKPW_DATA 512      /* what a checkpassword program reads */
#define RELAY_BUF 16384

static stream io;
static tls *session;

static struct {
	const char *hostname, *remoteip;
	char **child;             /* checkpassword subprogram ... */
	buf certfile, ciphers, stamp;
	int pop3s, plainloopback, apop, tlsok;
} cf;

/* ---- talking ------------------------------------------------------------- */

static _Noreturn void bye(int code)
{
	(void)stream_flush(&io);
	if (session) tls_close(session, 5);
	_exit(code);
}

static void outs(const char *s)
{
	if (stream_puts(&io, s) < 0) _exit(0);    /* the client went away */
}

static void done(void)
{
	outs("\r\n");
	if (!stream_buffered(&io) && stream_flush(&io) < 0) _exit(0);
}

static void ok(const char *s) { outs("+OK"); if (*s) { outs(" "); outs(s); } done(); }
static void error(const char *s) { outs("-ERR "); outs(s); done(); }

static _Noreturn void nomem(void)
{
	err_warn("out of memory", (char *)0);
	error("[SYS/TEMP] out of memory");
	bye(111);
}

/* A login, made safe for one log line. */
static const char *printable(const char *s, size_t n, buf *b)
{
	size_t i;
	b->len = 0;
	for (i = 0; i < n && i < 64; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (buf_putc(b, ch >= 0x20 && ch < 0x7f ? (char)ch : '?') < 0) nomem();
	}
	if (buf_put0(b) < 0) nomem();
	return b->s;
}

/* ---- set-up ------------------------------------------------------------------ */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : 0;
}

static int loopback(void)
{
	return str_start(cf.remoteip, "127.") || str_eq(cf.remoteip, "::1") ||
	       str_start(cf.remoteip, "::ffff:127.");
}

static void config(int argc, char **argv)
{
	char num[24];

	if (argc < 4) {
		err_warn("usage: qmail-popup hostname checkpassword subprogram [arg ...]", (char *)0);
		error("[SYS/PERM] qmail-popup is misconfigured");
		bye(100);
	}
	cf.hostname = argv[1];
	cf.child = argv + 2;
	cf.remoteip = env("TCPREMOTEIP") ? env("TCPREMOTEIP") : "unknown";
	cf.pop3s = env("POP3S") != 0;
	cf.plainloopback = env("POP3PLAINLOOPBACK") != 0;
	cf.apop = env("APOP") != 0;
	if (control_readline(&cf.ciphers, "tlsserverciphers", 0) < 0) {
		err_warnerr("unable to read control/tlsserverciphers", (char *)0);
		error("[SYS/TEMP] unable to read controls");
		bye(111);
	}
	if (env("TLSCIPHERS") && buf_copys(&cf.ciphers, env("TLSCIPHERS")) < 0) nomem();
	nq_path(&cf.certfile, "control/servercert.pem");
	cf.tlsok = access(cf.certfile.s, R_OK) == 0;

	/* The APOP timestamp (RFC 1939: <process-ID.clock@hostname>); it is
	 * handed to checkpassword with every login, as qmail-popup does. */
	if (buf_copys(&cf.stamp, "<") < 0) nomem();
	fmt_ulong(num, (unsigned long)getpid());
	if (buf_puts(&cf.stamp, num) < 0 || buf_putc(&cf.stamp, '.') < 0) nomem();
	fmt_ulong(num, (unsigned long long)time(0));
	if (buf_puts(&cf.stamp, num) < 0 || buf_putc(&cf.stamp, '@') < 0 ||
	    buf_puts(&cf.stamp, cf.hostname) < 0 || buf_putc(&cf.stamp, '>') < 0)
		nomem();
}

/* USER and PASS now? */
static int plainok(void)
{
	return session || (cf.plainloopback && loopback());
}

/* ---- TLS ------------------------------------------------------------------------ */

static void starttls(void)
{
	buf why = BUF_INIT;
	tls_ctx *ctx = tls_server_ctx(cf.certfile.s, cf.ciphers.s, &why);

	if (!ctx) {
		err_warn("TLS unavailable: ", why.s, (char *)0);
		if (cf.pop3s) bye(111);
		error("[SYS/TEMP] TLS not available");
		return;
	}
	if (!cf.pop3s) {
		ok("begin TLS negotiation");
		if (stream_flush(&io) < 0) bye(0);
	}
	session = tls_accept(ctx, 0, 1, TIMEOUT, &why);
	tls_ctx_free(ctx);
	if (!session) {
		err_warn("TLS handshake failed: ", why.s, " from ", cf.remoteip, (char *)0);
		bye(0);
	}
	/* Whatever the client sent before the handshake is dropped here. */
	stream_tls(&io, session);
	buf_free(&why);
}

/* ---- the relay ---------------------------------------------------------------------- */

/* Carry bytes between the client (io: TLS, or plain text with commands
 * already buffered) and the chain's end of the socketpair, fd, until the
 * chain closes it. Returns 1 when the chain said anything. The chain's
 * side is non-blocking and never read into more than one buffer ahead,
 * so neither side can make us block on the other; the client's side
 * honours the timeout. */
static int relay(int fd)
{
	static char down[RELAY_BUF], up[RELAY_BUF];
	size_t uplen = 0, upoff = 0;
	int client_open = 1, spoke = 0;
	struct pollfd p[2];

	if (fd_nonblock(fd, 1) < 0) return 0;
	for (;;) {
		int n = 0, k;
		ssize_t r;

		/* Client to chain: take what the client sent when there is room. */
		if (client_open && uplen == upoff) {
			uplen = upoff = 0;
			if (stream_buffered(&io) || (session && tls_pending(session))) {
				r = stream_fill(&io);
				if (r > 0) {
					uplen = (size_t)r;
					memcpy(up, io.in + io.pos, uplen);
					io.pos = io.len;
				}
			}
		}
		p[0].fd = fd;
		p[0].events = POLLIN | (uplen > upoff ? POLLOUT : 0);
		p[0].revents = 0;
		n = 1;
		if (client_open && uplen == upoff) {
			p[1].fd = io.rfd;
			p[1].events = POLLIN;
			p[1].revents = 0;
			n = 2;
		}
		k = poll(p, (nfds_t)n, TIMEOUT * 1000);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) { err_warn("timeout", (char *)0); return spoke; }

		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(fd, down, sizeof down);
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;
			if (r > 0) {
				spoke = 1;
				if (stream_put(&io, down, (size_t)r) < 0 || stream_flush(&io) < 0) {
					/* The client is gone: let the chain see the end. */
					return spoke;
				}
			}
		}
		if (uplen > upoff && (p[0].revents & POLLOUT)) {
			r = write(fd, up + upoff, uplen - upoff);
			if (r > 0) upoff += (size_t)r;
			else if (r < 0 && errno != EAGAIN && errno != EINTR) client_open = 0;
		}
		if (n == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			r = stream_fill(&io);
			if (r <= 0) {
				client_open = 0;
				shutdown(fd, SHUT_WR);
			} else {
				uplen = (size_t)r;
				upoff = 0;
				memcpy(up, io.in + io.pos, uplen);
				io.pos = io.len;
			}
		}
	}
	return spoke;
}

/* ---- logging in --------------------------------------------------------------------- */

static _Noreturn void failed(const char *login, size_t ll)
{
	buf b = BUF_INIT;
	err_warn("authentication failed for ", printable(login, ll, &b), " from ", cf.remoteip, (char *)0);
	/* Slow down password guessing; one guess per connection. */
	sleep(FAIL_DELAY);
	error("[AUTH] authorization failed");
	bye(0);
}

/* The parent of the chain needs root no more: it only relays, waits and
 * reports. Give it up (to qmaild, qmail-smtpd's user) so that a flaw in
 * the TLS code it keeps running cannot be a root compromise. */
static void droppriv(void)
{
	nq_ids ids;
	gid_t g;

	if (getuid() != 0 || nq_ids_read(&ids) < 0 || ids.single) return;
	g = ids.gid[R_QMAILD];
	if (setgroups(1, &g) < 0 || setgid(g) < 0 || setuid(ids.uid[R_QMAILD]) < 0)
		err_warnerr("unable to give up root while relaying", (char *)0);
}

/* Run checkpassword and what follows it for this login; never returns. */
static _Noreturn void login(const char *user, size_t ul, const char *pass, size_t pl)
{
	char data[CHECKPW_DATA];
	size_t n = 0;
	int pi[2], sp[2] = {-1, -1}, st, code, spoke = 0;
	int relaying = session || stream_buffered(&io);
	pid_t pid;

	if (ul + pl + cf.stamp.len + 3 > sizeof data) failed(user, ul);
	memcpy(data + n, user, ul); n += ul; data[n++] = 0;
	memcpy(data + n, pass, pl); n += pl; data[n++] = 0;
	memcpy(data + n, cf.stamp.s, cf.stamp.len); n += cf.stamp.len; data[n++] = 0;

	if (stream_flush(&io) < 0) bye(0);
	if (pipe_above(pi, 4) < 0) goto temp;
	if (relaying && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) goto temp;
	if (relaying && (sp[0] < 4 || sp[1] < 4)) {
		/* keep clear of 0..3, which the child is about to receive */
		int a = fcntl(sp[0], F_DUPFD_CLOEXEC, 4), b = fcntl(sp[1], F_DUPFD_CLOEXEC, 4);
		if (a < 0 || b < 0) goto temp;
		close(sp[0]); close(sp[1]);
		sp[0] = a; sp[1] = b;
	}
	pid = fork();
	if (pid < 0) goto temp;
	if (pid == 0) {
		if (relaying && (dup2(sp[1], 0) < 0 || dup2(sp[1], 1) < 0)) _exit(111);
		if (dup2(pi[0], 3) < 0) _exit(111);
		sig_default(SIGPIPE);
		execvp(cf.child[0], cf.child);
		err_warnerr("unable to run ", cf.child[0], (char *)0);
		_exit(111);
	}
	close(pi[0]);
	/* A pipe holds far more than CHECKPW_DATA: this cannot block. */
	(void)write_all(pi[1], data, n);
	close(pi[1]);
	memset(data, 0, sizeof data);
	droppriv();
	if (relaying) {
		close(sp[1]);
		spoke = relay(sp[0]);
		close(sp[0]);
	}
	if (wait_pid(pid, &st, 0) < 0) goto temp;
	code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (code == 0) bye(0);
	if (code == 1 && !spoke) failed(user, ul);
	if (code < 0) err_warn("child crashed", (char *)0);
	/* Whoever spoke to the client last said what went wrong. */
	if (!spoke) error("[SYS/TEMP] temporary failure");
	bye(111);
temp:
	memset(data, 0, sizeof data);
	err_warnerr("unable to start checkpassword", (char *)0);
	error("[SYS/TEMP] temporary failure");
	bye(111);
}

/* ---- commands --------------------------------------------------------------------------- */

static void capa(void)
{
	outs("+OK capability list follows\r\n"
	     "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (plainok()) outs("USER\r\n");
	if (cf.tlsok && !session) outs("STLS\r\n");
	outs("IMPLEMENTATION nqmail\r\n.");
	done();
}

int main(int argc, char **argv)
{
	buf line = BUF_INIT, user = BUF_INIT;
	unsigned errors = 0;
	pop3cmd c;

	err_prog = "qmail-popup";
	sig_ignore(SIGPIPE);
	stream_init(&io, 0, 1, TIMEOUT);
	config(argc, argv);
	if (cf.pop3s) starttls();
	if (cf.apop) {
		outs("+OK ");
		outs(cf.stamp.s);
		done();
	} else {
		ok("POP3 server ready");
	}

	for (;;) {
		int k;
		line.len = 0;
		k = stream_getline(&io, &line, POP3_LINE_MAX);
		if (k == 0) bye(0);
		if (k < 0) {
			if (errno == ERANGE) { error("line too long"); if (++errors >= ERRORS_MAX) bye(0); continue; }
			if (errno == ETIMEDOUT) err_warn("timeout from ", cf.remoteip, (char *)0);
			bye(0);
		}
		pop3cmd_parse(&c, line.s, line.len);
		switch (c.verb) {
		case P3_QUIT:
			ok("bye");
			bye(0);
		case P3_NOOP:
			ok("");
			break;
		case P3_CAPA:
			capa();
			break;
		case P3_STLS:
			if (session) { error("TLS already active"); errors++; }
			else if (!cf.tlsok) { error("STLS not available"); errors++; }
			else { user.len = 0; starttls(); }
			break;
		case P3_USER:
			if (!plainok()) { error("[AUTH] USER and PASS only after STLS"); errors++; break; }
			if (!c.arglen || c.arglen > FIELD_MAX) { error("usage: USER name"); errors++; break; }
			if (buf_copy(&user, c.arg, c.arglen) < 0) nomem();
			ok("");
			break;
		case P3_PASS:
			if (!plainok()) { error("[AUTH] USER and PASS only after STLS"); errors++; break; }
			if (!user.len) { error("USER first"); errors++; break; }
			if (c.arglen > FIELD_MAX) failed(user.s, user.len);
			login(user.s, user.len, c.arg, c.arglen);
		case P3_APOP: {
			size_t sp = c.arglen ? byte_rchr(c.arg, c.arglen, ' ') : 0;
			if (!cf.apop) { error("APOP not available"); errors++; break; }
			if (!c.arglen || sp == c.arglen || sp == 0 || sp > FIELD_MAX) { error("usage: APOP name digest"); errors++; break; }
			login(c.arg, sp, c.arg + sp + 1, c.arglen - sp - 1);
		}
		default:
			error("unimplemented");
			errors++;
		}
		if (errors >= ERRORS_MAX) { error("too many errors"); bye(0); }
	}
}
