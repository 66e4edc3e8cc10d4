/* sendmail: the sendmail command line, as MUAs, cron, PHP's mail() and
 * scripts use it, turned into one exec of qmail-inject (or qmail-qread
 * for -bp and the name mailq, qmail-smtpd for -bs). See sendmail(8).
 *
 * qmail has one delivery mode and one error mode, and qmail-inject never
 * treats a line holding a lone "." specially, so the options that choose
 * among sendmail's modes (-i, -oi, -od*, -oe*, -e, -m, -v, ...) are
 * accepted and change nothing. What cannot be honoured is refused with a
 * clear message and exit code 100, never silently misread. */
#include "mail/instance.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/str.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "usage: sendmail [ -t ] [ -i ] [ -f sender ] [ -F name ] [ -bm | -bp | -bs ] [ -o option ] [ -q ] [ address ... ]"

static _Noreturn void usage(const char *why)
{
	if (why) err_warn(why, (char *)0);
	err_die(EXIT_PERM, USAGE, (char *)0);
}

static void setvar(const char *name, const char *value)
{
	if (setenv(name, value, 1) < 0) err_nomem();
}

/* Run DIR/bin/prog with argv (argv[0] is replaced by the full path). */
static _Noreturn void run(const char *prog, char **argv)
{
	buf path = BUF_INIT, rel = BUF_INIT;

	if (buf_copys(&rel, "bin/") < 0 || buf_puts(&rel, prog) < 0) err_nomem();
	nq_path(&path, rel.s);
	argv[0] = path.s;
	execv(path.s, argv);
	if (errno == ENOENT)
		err_die(EXIT_TEMP, "unable to run ", prog, ": ", path.s,
		        " is not installed in this instance", (char *)0);
	err_dieerr(EXIT_TEMP, "unable to run ", path.s, (char *)0);
}

static _Noreturn void mailq(void)
{
	char *argv[2] = {0, 0};
	nq_chdir_home();
	run("qmail-qread", argv);
}

/* -bs: an SMTP conversation on stdin/stdout with qmail-smtpd, which
 * then sees a trusted local client (as qmail's sendmail sets it up). */
static _Noreturn void smtp(void)
{
	char *argv[2] = {0, 0};

	if (!getenv("PROTO")) {
		setvar("RELAYCLIENT", "");
		setvar("DATABYTES", "0");
		setvar("PROTO", "TCP");
		setvar("TCPLOCALIP", "127.0.0.1");
		setvar("TCPLOCALHOST", "localhost");
		setvar("TCPREMOTEIP", "127.0.0.1");
		setvar("TCPREMOTEHOST", "localhost");
		setvar("TCPREMOTEINFO", "sendmail-bs");
	}
	nq_chdir_home();
	run("qmail-smtpd", argv);
}

/* -f sender also names the From field qmail-inject makes (as netqmail's
 * sendmail does): its user and host replace the caller's. */
static void fromsender(const char *s)
{
	size_t n = strlen(s), at = byte_rchr(s, n, '@');
	buf user = BUF_INIT;

	if (!n) return;
	unsetenv("QMAILNAME");
	unsetenv("MAILNAME");
	unsetenv("NAME");
	unsetenv("QMAILHOST");
	unsetenv("MAILHOST");
	if (buf_copy(&user, s, at) < 0) err_nomem();
	setvar("QMAILUSER", user.s);
	if (at < n) setvar("QMAILHOST", s + at + 1);
	buf_free(&user);
}

/* The argument of option c: the rest of this word, else the next one. */
static const char *optarg_of(char c, const char *rest, int argc, char **argv, int *i)
{
	char opt[3] = {'-', c, 0};
	if (*rest) return rest;
	if (*i + 1 < argc) return argv[++*i];
	err_warn("option ", opt, " needs an argument", (char *)0);
	usage(0);
}

int main(int argc, char **argv)
{
	const char *prog, *sender = 0, *name = 0;
	int flagt = 0, flagq = 0, mode = 'm';
	char **iargv, **a;
	buf s = BUF_INIT;
	int i;

	err_prog = "sendmail";
	prog = argc > 0 ? argv[0] + byte_rchr(argv[0], strlen(argv[0]), '/') : "sendmail";
	if (*prog == '/') prog++;
	if (!strcmp(prog, "mailq")) mailq();
	if (!strcmp(prog, "newaliases"))
		err_die(EXIT_PERM, "qmail has no aliases database: use DIR/alias/.qmail-NAME files (or fastforward's newaliases)", (char *)0);

	for (i = 1; i < argc; i++) {
		const char *w = argv[i];
		if (w[0] != '-' || !w[1]) break;
		if (!strcmp(w, "--")) { i++; break; }
		for (w++; *w; w++) {
			char c = *w;
			const char *v;
			switch (c) {
			case 't': flagt = 1; continue;
			/* accepted, nothing to do in qmail: */
			case 'i': case 'v': case 'm': case 'n': case 'U': case 'G': case 'x': case 's':
				continue;
			case 'q':               /* -q, -q15m, -qR..., -qf: qmail-send runs the queue itself */
				flagq = 1;
				break;
			case 'E': case 'J':     /* Sony NEWS-OS: the rest of the word is ignored */
				break;
			case 'f': case 'r':
				sender = optarg_of(c, w + 1, argc, argv, &i);
				break;
			case 'F':
				name = optarg_of(c, w + 1, argc, argv, &i);
				break;
			case 'b':
				v = optarg_of(c, w + 1, argc, argv, &i);
				if (*v == 'm' || *v == 'p' || *v == 's') { mode = *v; break; }
				if (*v == 'i') err_die(EXIT_PERM, "-bi: qmail has no aliases database", (char *)0);
				err_die(EXIT_PERM, "-b", v, " is not supported (only -bm, -bp and -bs are)", (char *)0);
			case 'C':
				err_die(EXIT_PERM, "-C is not supported: run the sendmail of the qmail instance you mean", (char *)0);
			/* options with an argument that mean nothing to qmail:
			 * -o (-oi -odi -odb -oem ...), -O, -B 8BITMIME, -N dsn,
			 * -R ret, -V envid, -X log, -L tag, -h hops, -p proto,
			 * -e mode, -A c|m, -d debug */
			case 'o': case 'O': case 'B': case 'N': case 'R': case 'V': case 'X':
			case 'L': case 'h': case 'p': case 'e': case 'A': case 'd':
				(void)optarg_of(c, w + 1, argc, argv, &i);
				break;
			default: {
				char opt[3] = {'-', c, 0};
				err_warn("unknown option ", opt, (char *)0);
				usage(0);
			}
			}
			break;   /* the option took the rest of the word */
		}
	}

	if (mode == 'p') mailq();
	if (mode == 's') smtp();
	if (flagq) _exit(0);
	if (!flagt && i >= argc)
		err_die(EXIT_PERM, "no recipients: give addresses as arguments, or -t to take them from the header", (char *)0);

	iargv = malloc(((size_t)argc + 6) * sizeof *iargv);
	if (!iargv) err_nomem();
	a = iargv;
	*a++ = 0;                                    /* run() fills in the path */
	*a++ = flagt ? "-H" : "-a";
	if (sender) {
		/* "<addr>" and "<>" are common spellings of addr and the null sender. */
		size_t n = strlen(sender);
		if (n >= 2 && sender[0] == '<' && sender[n - 1] == '>') {
			if (buf_copy(&s, sender + 1, n - 2) < 0) err_nomem();
			sender = s.s;
		}
		*a++ = "-f";
		*a++ = (char *)sender;
		fromsender(sender);
	}
	if (name) setvar("QMAILNAME", name);
	*a++ = "--";
	for (; i < argc; i++) *a++ = argv[i];
	*a = 0;
	run("qmail-inject", iargv);
}
