/* qmail-pop3d: let a user read and delete mail over POP3 (qmail-pop3d(8)).
 *
 *     qmail-pop3d maildirname
 *
 * It runs after qmail-popup and checkpassword: the password is checked,
 * the process is the user (checkpassword switched uids and went to the
 * home directory), descriptors 0 and 1 talk to the client (or to the
 * qmail-popup that holds the client's TLS session). It opens the Maildir
 * only now, never as root, reads nothing outside it (src/mail/pop3box.c),
 * answers the transaction-state commands of RFC 1939 (STAT LIST UIDL TOP
 * RETR DELE RSET NOOP LAST QUIT, and CAPA of RFC 2449), and changes the
 * Maildir only at QUIT: deleted messages are removed, the others move
 * from new/ to cur/.
 *
 * Its first line, "+OK", is the reply to the client's PASS or APOP.
 * Trouble is reported to the client as "-ERR ..." and logged on
 * descriptor 2; the exit code is then 0, as in qmail, so that qmail-popup
 * adds nothing. A message that cannot be read to its end, after "+OK"
 * went out, ends the connection (exit 111): a client must not take half
 * a message for a whole one and delete it. */
#include "lib/err.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "lib/stream.h"
#include "mail/mdlist.h"
#include "mail/pop3box.h"
#include "mail/pop3cmd.h"
#include "mail/pop3msg.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT 1200          /* qmail-pop3d(8): a 20-minute idle timeout */
#define ERRORS_MAX 20         /* bad commands before we hang up */
#define CHUNK 16384

static stream io;
static pop3box box = POP3BOX_INIT;
static unsigned long last;    /* highest message retrieved (LAST) */

/* ---- talking ------------------------------------------------------------- */

static _Noreturn void bye(int code)
{
	(void)stream_flush(&io);
	_exit(code);
}

static void out(const char *s, size_t n)
{
	if (stream_put(&io, s, n) < 0) _exit(0);   /* the client went away */
}

static void outs(const char *s) { out(s, strlen(s)); }

static void outnum(unsigned long long u)
{
	char num[24];
	out(num, fmt_ulong(num, u));
}

/* End a response; flush unless more pipelined commands are waiting. */
static void done(void)
{
	out("\r\n", 2);
	if (!stream_buffered(&io) && stream_flush(&io) < 0) _exit(0);
}

static void ok(const char *s) { outs("+OK"); if (*s) { outs(" "); outs(s); } done(); }
static void error(const char *s) { outs("-ERR "); outs(s); done(); }

static _Noreturn void nomem(void)
{
	error("[SYS/TEMP] out of memory");
	err_warn("out of memory", (char *)0);
	bye(0);
}

/* ---- message numbers -------------------------------------------------------- */

/* The message an argument names, as an index, or -1 (replied). */
static long msgarg(const char *arg, size_t n)
{
	unsigned long u;

	if (pop3_num(arg, n, &u) < 0) { error("invalid message number"); return -1; }
	if (u > box.n) { error("no such message"); return -1; }
	if (box.m[u - 1].deleted) { error("message deleted"); return -1; }
	return (long)(u - 1);
}

/* ---- commands ------------------------------------------------------------- */

static void capa(void)
{
	outs("+OK capability list follows\r\n"
	     "TOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nIMPLEMENTATION nqmail\r\n.");
	done();
}

static void stat_(void)
{
	unsigned long long bytes = 0;
	size_t i, count = 0;

	for (i = 0; i < box.n; i++)
		if (!box.m[i].deleted) { count++; bytes += (unsigned long long)box.m[i].size; }
	outs("+OK ");
	outnum(count);
	outs(" ");
	outnum(bytes);
	done();
}

static void listone(size_t i, int uidl)
{
	outnum(i + 1);
	outs(" ");
	if (uidl) {
		char id[POP3_UIDL_MAX + 1];
		pop3box_uidl(&box, i, id);
		outs(id);
	} else {
		outnum((unsigned long long)box.m[i].size);
	}
}

static void list(const pop3cmd *c, int uidl)
{
	size_t i;
	long k;

	if (c->arglen) {
		if ((k = msgarg(c->arg, c->arglen)) < 0) return;
		outs("+OK ");
		listone((size_t)k, uidl);
		done();
		return;
	}
	outs("+OK\r\n");
	for (i = 0; i < box.n; i++) {
		if (box.m[i].deleted) continue;
		listone(i, uidl);
		outs("\r\n");
	}
	outs(".");
	done();
}

/* The connection cannot go on sensibly: say nothing more, hang up. */
static _Noreturn void drop(void)
{
	(void)stream_flush(&io);
	shutdown(1, SHUT_RDWR);
	shutdown(0, SHUT_RDWR);
	_exit(111);
}

/* RETR (top 0) and TOP. */
static void retr(const pop3cmd *c, int top)
{
	static char chunk[CHUNK];
	unsigned long num, lines = 0;
	buf wire = BUF_INIT;
	pop3msg m;
	ssize_t r;
	size_t i;
	int fd;

	if (top) {
		if (pop3_twonum(c->arg, c->arglen, &num, &lines) < 0) { error("usage: TOP msg lines"); return; }
	} else if (pop3_num(c->arg, c->arglen, &num) < 0) {
		error("invalid message number");
		return;
	}
	if (num > box.n) { error("no such message"); return; }
	if (box.m[num - 1].deleted) { error("message deleted"); return; }
	i = num - 1;
	fd = pop3box_openmsg(&box, i);
	if (fd < 0) {
		int e = errno;
		err_warnerr("unable to open ", pop3box_name(&box, i), (char *)0);
		if (e == ENOENT) error("message no longer exists");
		else if (e == EINVAL) error("message is not a regular file");
		else error("[SYS/TEMP] unable to read message");
		return;
	}
	/* Read before saying +OK: an unreadable file is still an -ERR. */
	while ((r = read(fd, chunk, sizeof chunk)) < 0 && errno == EINTR) {}
	if (r < 0) {
		err_warnerr("unable to read ", pop3box_name(&box, i), (char *)0);
		close(fd);
		error("[SYS/TEMP] unable to read message");
		return;
	}
	if (!top && num > last) last = num;
	outs(top ? "+OK top of message follows\r\n" : "+OK message follows\r\n");
	pop3msg_init(&m, top, lines);
	while (r > 0) {
		wire.len = 0;
		if (pop3msg_put(&m, chunk, (size_t)r, &wire) < 0) { close(fd); nomem(); }
		out(wire.s, wire.len);
		if (m.done) break;
		while ((r = read(fd, chunk, sizeof chunk)) < 0 && errno == EINTR) {}
	}
	close(fd);
	if (r < 0) {
		err_warnerr("unable to read ", pop3box_name(&box, i), " to its end; hanging up", (char *)0);
		drop();
	}
	wire.len = 0;
	if (pop3msg_end(&m, &wire) < 0) nomem();
	/* the final CRLF comes from done() */
	out(wire.s, wire.len - 2);
	buf_free(&wire);
	done();
}

static void dele(const pop3cmd *c)
{
	long k = msgarg(c->arg, c->arglen);
	if (k < 0) return;
	box.m[k].deleted = 1;
	ok("message deleted");
}

static void rset(void)
{
	size_t i;
	for (i = 0; i < box.n; i++) box.m[i].deleted = 0;
	last = 0;
	ok("");
}

static void lastcmd(void)
{
	outs("+OK ");
	outnum(last);
	done();
}

static _Noreturn void quit(void)
{
	size_t failed = pop3box_commit(&box);
	if (failed) {
		err_warn("unable to remove some deleted messages", (char *)0);
		error("[SYS/TEMP] some deleted messages were not removed");
	} else {
		ok("");
	}
	bye(0);
}

/* ---- set-up ----------------------------------------------------------------- */

/* Go to the Maildir and list it, or say why not and stop. */
static void openbox(const char *maildir)
{
	const char *home = getenv("HOME");

	/* checkpassword run by root has gone home already; one run by the
	 * owner of a single-user instance cannot, and only sets HOME. */
	if (maildir[0] != '/' && home && *home && chdir(home) < 0) {
		err_warnerr("unable to switch to ", home, (char *)0);
		error("[SYS/TEMP] unable to switch to the home directory");
		bye(0);
	}
	if (pop3box_open(&box, maildir) < 0) {
		int e = errno;
		err_warnerr("unable to open the Maildir ", maildir, (char *)0);
		if (e == ENOENT || e == ENOTDIR) error("[SYS/PERM] this user has no $HOME/Maildir");
		else error("[SYS/TEMP] unable to read the Maildir");
		bye(0);
	}
	/* tmp/ is cleaned relative to the Maildir, as maildir(5) asks. */
	if (fchdir(box.dir) == 0) (void)mdlist_cleantmp(time(0));
}

int main(int argc, char **argv)
{
	buf line = BUF_INIT;
	pop3cmd c;
	unsigned errors = 0;

	err_prog = "qmail-pop3d";
	sig_ignore(SIGPIPE);
	stream_init(&io, 0, 1, TIMEOUT);
	if (argc < 2 || !*argv[1]) {
		err_warn("usage: qmail-pop3d maildirname", (char *)0);
		error("[SYS/PERM] qmail-pop3d is misconfigured");
		bye(0);
	}
	if (getuid() == 0 || geteuid() == 0) {
		err_warn("refusing to run as root (is checkpassword in front of me?)", (char *)0);
		error("[SYS/PERM] refusing to open a mailbox as root");
		bye(0);
	}
	openbox(argv[1]);
	ok("");

	for (;;) {
		int k;
		line.len = 0;
		k = stream_getline(&io, &line, POP3_LINE_MAX);
		if (k == 0) bye(0);                     /* no QUIT: nothing changes */
		if (k < 0) {
			if (errno == ERANGE) { error("line too long"); if (++errors >= ERRORS_MAX) bye(0); continue; }
			if (errno == ETIMEDOUT) err_warn("timeout", (char *)0);
			bye(0);
		}
		pop3cmd_parse(&c, line.s, line.len);
		switch (c.verb) {
		case P3_QUIT: quit();
		case P3_STAT: stat_(); break;
		case P3_LIST: list(&c, 0); break;
		case P3_UIDL: list(&c, 1); break;
		case P3_RETR: retr(&c, 0); break;
		case P3_TOP: retr(&c, 1); break;
		case P3_DELE: dele(&c); break;
		case P3_RSET: rset(); break;
		case P3_NOOP: ok(""); break;
		case P3_LAST: lastcmd(); break;
		case P3_CAPA: capa(); break;
		case P3_USER: case P3_PASS: case P3_APOP: case P3_STLS:
			error("already authenticated");
			errors++;
			break;
		default:
			error("unimplemented");
			errors++;
		}
		if (errors >= ERRORS_MAX) { error("too many errors"); bye(0); }
	}
}
