/* qmail-lmtp: deliver the message of a .qmail program line to an LMTP
 * server (RFC 2033), such as Dovecot's lmtp (qmail-lmtp(8)).
 *
 * qmail-local runs it with the message on descriptor 0 and the envelope
 * in SENDER and RECIPIENT. It speaks LHLO, MAIL, RCPT and DATA to the
 * first server of its argument list that answers, sends the message with
 * qmail-local's Delivered-To line ($DTLINE, which qmail-local gives
 * programs but does not write into their input) in front, as a Maildir
 * delivery would have it, and otherwise unchanged apart from the
 * transport encoding (CRLF line ends, dot-stuffing: src/mail/smtpdata.h,
 * so that no byte of the message can end it early), and turns the answer for
 * its one recipient into qmail-command's exit codes: 0 delivered, 100
 * refused for good (a 5xx), 111 try again later (a 4xx, or no server
 * reachable). The server's reply goes to descriptor 2, where qmail-local
 * picks it up for the log or the bounce.
 *
 * Servers are tried in order: one that cannot be reached, does not greet,
 * does not speak LMTP or answers 4xx is passed over. Once the end of the
 * data is sent, a server that falls silent may have delivered: then no
 * other is tried now (qmail-send tries again later; at worst the message
 * arrives twice, never not at all). A 5xx is final: the servers of a
 * cluster share their user database. Mistakes in the .qmail line (no
 * server, bad option) defer rather than bounce, so nothing is lost while
 * the administrator fixes them. */
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/ipaddr.h"
#include "lib/sig.h"
#include "lib/str.h"
#include "mail/control.h"
#include "mail/smtpdata.h"
#include "mail/smtpreply.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: qmail-lmtp [-n] [-r recipient] [-t timeout] [-c connecttimeout] [-h lhloname] server ..."
#define PORT_LMTP 24
#define ADDR_MAX 1000          /* bytes of an envelope address (RFC 5321's path, and some) */
#define LINE_MAX_ 4096         /* bytes of one reply line */
#define CHUNK 65536
#define TIMEOUT_MAX 86400      /* seconds: -t and -c beyond a day are mistakes */

/* What trying one server came to. */
enum outcome {
	DELIVERED,             /* 2xx for the recipient after the data */
	REFUSED,               /* 5xx: final, whatever server */
	NEXT,                  /* not delivered: the next server may take it */
	STOP                   /* maybe delivered, or the message cannot be sent again: 111 now */
};

static const char *sender, *rcpt, *lhlo;
static const char *dtline = "";  /* put in front of the message */
static unsigned long tio = 600, tconn = 30;
static off_t start = -1;       /* where the message starts on descriptor 0, when seekable */
static int consumed;           /* the message has been read (at least partly) */

/* One connection to a server. */
static struct conn {
	const char *name;
	int fd;
	io_in in;
	io_out out;
	smtpreply r;
} c = {0, -1, {0}, {0}, SMTPREPLY_INIT};

static void usage(void)
{
	err_die(EXIT_TEMP, USAGE, (char *)0);
}

/* --- connecting ---------------------------------------------------------- */

/* A stream connection to the unix socket at path: a full listen queue
 * is waited out for at most tconn seconds. */
static int connect_unix(const char *path)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	time_t end = time(0) + (time_t)tconn;
	int fd;

	if (n == 0 || n >= sizeof sun.sun_path) { errno = ENAMETOOLONG; return -1; }
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) return -1;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) break;
		if (errno == EINTR) continue;
		if (errno != EAGAIN || time(0) >= end) {
			int e = errno;
			close(fd);
			errno = e == EAGAIN ? ETIMEDOUT : e;
			return -1;
		}
		{
			struct timespec ts = {0, 50 * 1000 * 1000};
			nanosleep(&ts, 0);
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* spec: a.b.c.d[:port] or [v6][:port]. -1 with errno EINVAL when spec is
 * not one of those (host names are not looked up). */
static int connect_tcp(const char *spec)
{
	const char *a = spec, *p = 0;
	size_t alen;
	unsigned long port = PORT_LMTP;
	ipaddr ip;

	if (*spec == '[') {
		const char *close_ = strchr(spec, ']');
		if (!close_) { errno = EINVAL; return -1; }
		a = spec + 1;
		alen = (size_t)(close_ - a);
		if (close_[1] == ':') p = close_ + 2;
		else if (close_[1]) { errno = EINVAL; return -1; }
	} else {
		const char *colon = strchr(spec, ':');
		if (colon && strchr(colon + 1, ':')) { errno = EINVAL; return -1; }   /* IPv6 needs brackets */
		alen = colon ? (size_t)(colon - spec) : strlen(spec);
		if (colon) p = colon + 1;
	}
	if (ipaddr_scan(&ip, a, alen) < 0) { errno = EINVAL; return -1; }
	if (p && (str_toul(p, &port) < 0 || port == 0 || port > 65535)) { errno = EINVAL; return -1; }
	return ipaddr_connect(&ip, (unsigned)port, 0, (int)tconn);
}

/* --- talking ------------------------------------------------------------- */

/* "qmail-lmtp: SERVER: what" plus, when r is non-null, the reply's text. */
static void report(const char *what, const smtpreply *r)
{
	buf m = BUF_INIT;

	if (buf_puts(&m, c.name) < 0 || buf_puts(&m, ": ") < 0 || buf_puts(&m, what) < 0) err_nomem();
	if (r && r->text.len) {
		size_t n = r->text.len;
		while (n && r->text.s[n - 1] == '\n') n--;
		if (buf_puts(&m, ": ") < 0 || buf_put(&m, r->text.s, n) < 0) err_nomem();
	}
	err_warn(m.s, (char *)0);
	buf_free(&m);
}

/* The next reply: its code, or 0 when the connection broke, timed out or
 * sent something that is not a reply (said on descriptor 2). */
static unsigned getreply(void)
{
	buf line = BUF_INIT;
	int rc;

	smtpreply_reset(&c.r);
	for (;;) {
		buf_trunc(&line, 0);
		rc = in_getline(&c.in, &line, '\n', LINE_MAX_);
		if (rc <= 0) {
			report(rc == 0 ? "connection closed" : errno == ETIMEDOUT ? "timed out waiting for a reply"
			       : errno == ERANGE ? "reply line too long" : "unable to read a reply", 0);
			break;
		}
		rc = smtpreply_line(&c.r, line.s, line.len);
		if (rc < 0) { report("malformed reply", 0); break; }
		if (rc == 1) { buf_free(&line); return c.r.code; }
	}
	buf_free(&line);
	return 0;
}

/* Send one command line (CRLF added). 0 ok, -1 the connection broke. */
static int cmd(const char *a, const char *b, const char *tail)
{
	if (out_puts(&c.out, a) < 0 || (b && out_puts(&c.out, b) < 0) || (tail && out_puts(&c.out, tail) < 0)
	    || out_puts(&c.out, "\r\n") < 0 || out_flush(&c.out) < 0) {
		report(errno == ETIMEDOUT ? "timed out sending" : "connection broke while sending", 0);
		return -1;
	}
	return 0;
}

/* The answer to a step before the data: 2xx goes on (-1), 5xx is final,
 * anything else passes the message on. */
static int step(const char *what, unsigned code, unsigned want)
{
	buf m = BUF_INIT;

	if (code / 100 == want) return -1;
	if (!code) return NEXT;
	if (buf_puts(&m, what) < 0) err_nomem();
	if (code / 100 == 5) {
		if (buf_puts(&m, " refused") < 0) err_nomem();
		report(m.s, &c.r);
		buf_free(&m);
		return REFUSED;
	}
	if (buf_puts(&m, code / 100 == 4 ? " deferred" : " not accepted") < 0) err_nomem();
	report(m.s, &c.r);
	buf_free(&m);
	return NEXT;
}

/* The message from descriptor 0, encoded for DATA, then ".". */
static enum outcome senddata(void)
{
	static char in[CHUNK];
	buf enc = BUF_INIT;
	smtpdata d;
	ssize_t n;

	if (consumed) {
		if (start < 0) {
			report("the message is not on a file and cannot be offered again now", 0);
			return STOP;
		}
		if (lseek(0, start, SEEK_SET) < 0) {
			err_warnerr("unable to rewind the message", (char *)0);
			return STOP;
		}
	}
	consumed = 1;
	smtpdata_init(&d);
	if (smtpdata_put(&d, dtline, strlen(dtline), &enc) < 0) err_nomem();
	for (;;) {
		n = read(0, in, sizeof in);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) {
			err_warnerr("unable to read the message", (char *)0);
			return STOP;
		}
		if (n == 0 ? smtpdata_end(&d, &enc) < 0 : smtpdata_put(&d, in, (size_t)n, &enc) < 0) err_nomem();
		if (out_put(&c.out, enc.s, enc.len) < 0) {
			report(errno == ETIMEDOUT ? "timed out sending the message" : "connection broke while sending the message", 0);
			buf_free(&enc);
			return NEXT;
		}
		if (n == 0) break;
		buf_trunc(&enc, 0);
	}
	buf_free(&enc);
	if (out_flush(&c.out) < 0) {
		report(errno == ETIMEDOUT ? "timed out sending the message" : "connection broke while sending the message", 0);
		return NEXT;
	}
	return DELIVERED;
}

/* Does s hold a byte outside ASCII (SMTPUTF8 is then needed)? */
static int utf8(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80) return 1;
	return 0;
}

/* One delivery attempt on server spec. */
static enum outcome attempt(const char *spec)
{
	smtpext ext = {0, 0};
	unsigned code;
	int r;
	char num[40];
	buf mail = BUF_INIT;
	struct stat st;

	c.name = spec;
	c.fd = str_start(spec, "unix:") ? connect_unix(spec + 5) : connect_tcp(spec);
	if (c.fd < 0) {
		if (errno == EINVAL) report("not unix:PATH, ADDRESS[:PORT] or [IPV6ADDRESS][:PORT]", 0);
		else {
			buf m = BUF_INIT;
			if (buf_puts(&m, "unable to connect: ") < 0 || buf_puts(&m, strerror(errno)) < 0) err_nomem();
			report(m.s, 0);
			buf_free(&m);
		}
		return NEXT;
	}
	in_init(&c.in, c.fd, (int)tio);
	out_init(&c.out, c.fd, (int)tio);

	if ((r = step("greeting", getreply(), 2)) >= 0) return r == REFUSED ? NEXT : (enum outcome)r;
	if (cmd("LHLO ", lhlo, 0) < 0) return NEXT;
	/* a 5xx here is a server that speaks no LMTP (an SMTP port?): try the next */
	if ((r = step("LHLO", getreply(), 2)) >= 0) return r == REFUSED ? NEXT : (enum outcome)r;
	smtpreply_ehlo(&c.r, &ext);

	if (buf_puts(&mail, "MAIL FROM:<") < 0 || buf_puts(&mail, sender) < 0 || buf_puts(&mail, ">") < 0) err_nomem();
	if ((ext.flags & EHLO_8BITMIME) && buf_puts(&mail, " BODY=8BITMIME") < 0) err_nomem();
	if ((ext.flags & EHLO_SMTPUTF8) && (utf8(sender) || utf8(rcpt)) && buf_puts(&mail, " SMTPUTF8") < 0) err_nomem();
	if ((ext.flags & EHLO_SIZE) && start >= 0 && fstat(0, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= start) {
		num[fmt_ulong(num, (unsigned long long)(st.st_size - start) + strlen(dtline))] = 0;
		if (buf_puts(&mail, " SIZE=") < 0 || buf_puts(&mail, num) < 0) err_nomem();
	}
	r = cmd(mail.s, 0, 0);
	buf_free(&mail);
	if (r < 0) return NEXT;
	if ((r = step("MAIL FROM", getreply(), 2)) >= 0) return (enum outcome)r;
	if (cmd("RCPT TO:<", rcpt, ">") < 0) return NEXT;
	if ((r = step("RCPT TO", getreply(), 2)) >= 0) return (enum outcome)r;
	if (cmd("DATA", 0, 0) < 0) return NEXT;
	if ((r = step("DATA", getreply(), 3)) >= 0) return (enum outcome)r;

	if ((r = senddata()) != DELIVERED) return (enum outcome)r;
	/* One reply for each accepted recipient: here there is one. */
	code = getreply();
	if (!code) {
		report("no answer after the message: it may have been delivered; trying again later", 0);
		return STOP;
	}
	if (code / 100 == 2) {
		report("delivered", &c.r);
		/* a courtesy: the answer that counts is in */
		if (out_puts(&c.out, "QUIT\r\n") == 0) out_flush(&c.out);
		return DELIVERED;
	}
	if (code / 100 == 5) { report("message refused", &c.r); return REFUSED; }
	report("message deferred", &c.r);
	return NEXT;
}

static void hangup(void)
{
	if (c.fd >= 0) close(c.fd);
	c.fd = -1;
}

/* An envelope address fit for one command line. */
static void checkaddr(const char *what, const char *a)
{
	if (strlen(a) > ADDR_MAX) err_die(EXIT_PERM, what, " address is longer than 1000 bytes", (char *)0);
	if (strchr(a, '\r') || strchr(a, '\n')) err_die(EXIT_PERM, what, " address holds a line break", (char *)0);
}

int main(int argc, char **argv)
{
	buf me = BUF_INIT;
	int opt, i, nodt = 0;
	enum outcome r = NEXT;

	err_prog = "qmail-lmtp";
	sig_ignore(SIGPIPE);
	opterr = 0;
	while ((opt = getopt(argc, argv, "+nr:t:c:h:")) != -1) {
		switch (opt) {
		case 'n': nodt = 1; break;
		case 'r': rcpt = optarg; break;
		case 't': if (str_toul(optarg, &tio) < 0 || tio == 0 || tio > TIMEOUT_MAX) usage(); break;
		case 'c': if (str_toul(optarg, &tconn) < 0 || tconn == 0 || tconn > TIMEOUT_MAX) usage(); break;
		case 'h': lhlo = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc) usage();

	/* The envelope, from qmail-local. */
	sender = getenv("SENDER");
	if (!sender) err_die(EXIT_TEMP, "SENDER is not set: run me from a .qmail file", (char *)0);
	if (!rcpt) rcpt = getenv("RECIPIENT");
	if (!rcpt || !*rcpt) err_die(EXIT_TEMP, "no recipient: RECIPIENT is not set and -r was not given", (char *)0);
	checkaddr("the sender's", sender);
	checkaddr("the recipient's", rcpt);
	if (!nodt && getenv("DTLINE")) {
		dtline = getenv("DTLINE");
		/* one header line, as qmail-local makes it */
		if (strlen(dtline) > ADDR_MAX + 64 || !*dtline || strchr(dtline, '\n') != dtline + strlen(dtline) - 1)
			err_die(EXIT_TEMP, "DTLINE is not one header line", (char *)0);
	}
	if (!lhlo) {
		if (control_readline(&me, "me", "localhost") < 0) err_dieerr(EXIT_TEMP, "unable to read control/me", (char *)0);
		if (!me.len || memchr(me.s, '\r', me.len) || memchr(me.s, '\n', me.len)) err_die(EXIT_TEMP, "control/me is empty", (char *)0);
		lhlo = me.s;
	} else if (!*lhlo || strchr(lhlo, '\r') || strchr(lhlo, '\n')) usage();
	start = lseek(0, 0, SEEK_CUR);

	for (i = optind; i < argc; i++) {
		r = attempt(argv[i]);
		hangup();
		if (r != NEXT) break;
	}
	smtpreply_free(&c.r);
	switch (r) {
	case DELIVERED: return 0;
	case REFUSED: return EXIT_PERM;
	case NEXT: err_die(EXIT_TEMP, "no LMTP server took the message; trying again later", (char *)0);
	case STOP: break;
	}
	return EXIT_TEMP;
}
