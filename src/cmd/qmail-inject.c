/* qmail-inject: read a message on standard input, fix its header as
 * qmail-header(5) says (Date, Message-ID, From, completed addresses, Bcc
 * and Return-Path removed), find its envelope sender and recipients, and
 * hand it to qmail-queue (qmail-inject(8)).
 *
 * The header is held in memory, bounded (HEADER_FIELD_MAX per field,
 * HEADER_MAX in all): the fields qmail-inject adds go in front of it, and
 * the recipients in To/Cc/Bcc must be known before the body is sent. The
 * body is streamed and never held, whatever its size. Input lines ending
 * in CR LF are stored ending in LF. */
#include "mail/addr.h"
#include "mail/control.h"
#include "mail/header.h"
#include "mail/qqclient.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: qmail-inject [ -nNaAhH ] [ -fsender ] [ recip ... ]"
#define SAVED_MAX (2 * HEADER_MAX)   /* the header after rewriting */

/* Where recipients come from (qmail-inject(8) -a -A -h -H). */
enum { RECIP_DEFAULT, RECIP_ARGS, RECIP_HEADER, RECIP_BOTH };

/* QMAILINJECT letters. */
static int flagcomment, flagdelsender, flagdelfrom, flagdelmsgid, flagverprcpt, flagverpmess;
static int flagqueue = 1;   /* -N (default) or -n */
static int flagrh;          /* header recipients are used */

static const char *mailuser, *mailhost, *mailruser, *mailrhost, *fullname;
static time_t starttime;
static addr_cfg cfg;
static buf idhost = BUF_INIT;

static buf sender = BUF_INIT;
static int senderset;
static buf rcpts = BUF_INIT;   /* from the arguments; NUL after each */
static buf hr = BUF_INIT;      /* To, Cc, Bcc, Apparently-To */
static buf hrr = BUF_INIT;     /* Resent-To, Resent-Cc, Resent-Bcc */
static buf tocc = BUF_INIT;    /* To, Cc: for Mail-Followup-To */
static buf saved = BUF_INIT;   /* header fields kept, rewritten */
static int seen[H_NKINDS];

static qq q;
static io_out out;             /* standard output, for -n */
static io_out *o;              /* where the message goes */

static _Noreturn void nomem(void) { err_nomem(); }

static void put(const char *p, size_t n)
{
	if (!n) return;   /* p may be the null pointer of an empty buf */
	if (out_put(o, p, n) < 0) {
		if (!flagqueue) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
		q.failed = 1;   /* qmail-queue stopped reading: qq_close says why */
	}
}

static void puts_(const char *s) { put(s, strlen(s)); }

static int has_control(const char *s)
{
	for (; *s; s++) if ((unsigned char)*s < 32 || *s == 127) return 1;
	return 0;
}

static const char *env_first(const char *a, const char *b, const char *c, const char *d)
{
	const char *names[4] = {a, b, c, d};
	int i;
	for (i = 0; i < 4; i++) {
		const char *v = names[i] ? getenv(names[i]) : 0;
		if (v) return v;
	}
	return 0;
}

static void getflags(void)
{
	const char *x = getenv("QMAILINJECT");
	for (; x && *x; x++)
		switch (*x) {
		case 'c': flagcomment = 1; break;
		case 's': flagdelsender = 1; break;
		case 'f': flagdelfrom = 1; break;
		case 'i': flagdelmsgid = 1; break;
		case 'r': flagverprcpt = 1; break;
		case 'm': flagverpmess = 1; break;
		}
	mailhost = env_first("QMAILHOST", "MAILHOST", 0, 0);
	mailrhost = env_first("QMAILSHOST", 0, 0, 0);
	if (!mailrhost) mailrhost = mailhost;
	mailuser = env_first("QMAILUSER", "MAILUSER", "USER", "LOGNAME");
	if (!mailuser) mailuser = "anonymous";
	mailruser = env_first("QMAILSUSER", 0, 0, 0);
	if (!mailruser) mailruser = mailuser;
	fullname = env_first("QMAILNAME", "MAILNAME", "NAME", 0);
	/* These go into header lines: a line break would forge new fields. */
	if (has_control(mailuser) || has_control(mailruser)
	    || (mailhost && has_control(mailhost)) || (mailrhost && has_control(mailrhost)))
		err_die(EXIT_PERM, "control characters in the user or host name from the environment", (char *)0);
}

/* A control file with qmail's default: control/me, else the literal
 * name; the environment variable env overrides both. */
static void readdef(buf *b, const char *name, const char *env)
{
	const char *e = getenv(env);
	int r;

	if (e) { if (buf_copys(b, e) < 0) nomem(); return; }
	r = control_readline(b, name, 0);
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to read control/", name, (char *)0);
	if (r == 1 && b->len) return;
	if (control_readline(b, "me", name) < 0)
		err_dieerr(EXIT_TEMP, "unable to read control/me", (char *)0);
	if (!b->len && buf_copys(b, name) < 0) nomem();
}

static void getcontrols(void)
{
	buf host = BUF_INIT, domain = BUF_INIT, plus = BUF_INIT;
	int r;

	readdef(&domain, "defaultdomain", "QMAILDEFAULTDOMAIN");
	readdef(&host, "defaulthost", "QMAILDEFAULTHOST");
	readdef(&plus, "plusdomain", "QMAILPLUSDOMAIN");
	readdef(&idhost, "idhost", "QMAILIDHOST");
	r = addr_cfg_init(&cfg, host.s, domain.s, plus.s);
	if (r < 0) nomem();
	if (r == 0)
		err_die(EXIT_PERM, "defaulthost, defaultdomain or plusdomain is not a host name: ",
		        host.s, ", ", domain.s, ", ", plus.s, (char *)0);
	if (has_control(idhost.s))
		err_die(EXIT_PERM, "idhost holds control characters", (char *)0);
	buf_free(&host); buf_free(&domain); buf_free(&plus);
}

/* An address from the command line, completed, into b. */
static void argaddr(buf *b, const char *s)
{
	int r = addr_arg(&cfg, s, strlen(s), b);
	if (r < 0) nomem();
	if (r == 0) err_die(EXIT_PERM, "unable to parse address: ", s, (char *)0);
}

static void addrcat(buf *list, const char *a, size_t n)
{
	if (!n) return;                     /* <> is no recipient */
	if (buf_put(list, a, n) < 0 || buf_put0(list) < 0) {
		if (errno == ERANGE) err_die(EXIT_PERM, "too many recipients", (char *)0);
		nomem();
	}
}

static void setsender(const char *a, size_t n)
{
	if (buf_copy(&sender, a, n) < 0) nomem();
	if (flagverprcpt && buf_puts(&sender, "-@[]") < 0) nomem();
	senderset = 1;
}

static int is_rcptfield(enum header_kind k)
{
	return k == H_TO || k == H_CC || k == H_BCC || k == H_APPARENTLYTO
	    || k == H_RTO || k == H_RCC || k == H_RBCC;
}

/* Rewrite an address field in f; collect its addresses. */
static void doaddrs(buf *f, enum header_kind kind)
{
	buf val = BUF_INIT, nf = BUF_INIT, addrs = BUF_INIT;
	size_t namelen, off, i;
	int r;

	off = header_field(f->s, f->len, &namelen);
	nf.max = HEADER_FIELD_MAX * 2;
	if (header_unfold(&val, f->s + off, f->len - off) < 0) nomem();
	if (buf_put(&nf, f->s, namelen) < 0 || buf_puts(&nf, ": ") < 0) nomem();
	r = addr_list(&cfg, val.s, val.len, namelen + 2, &nf, &addrs);
	if (r < 0) {
		if (errno == ERANGE) err_die(EXIT_PERM, "header field too long after rewriting", (char *)0);
		nomem();
	}
	if (r == 0) {
		/* A recipient field nobody takes recipients from stays as it
		 * was (qmail-inject -a); any other one must parse. */
		if (is_rcptfield(kind) && !flagrh) goto done;
		if (namelen > 100) namelen = 100;
		f->s[namelen] = 0;
		err_die(EXIT_PERM, "unable to parse the addresses in header field ", f->s, (char *)0);
	}
	if (buf_putc(&nf, '\n') < 0 || buf_copy(f, nf.s, nf.len) < 0) nomem();
	for (i = 0; i < addrs.len; i += strlen(addrs.s + i) + 1) {
		const char *a = addrs.s + i;
		size_t n = strlen(a);
		switch (kind) {
		case H_TO: case H_CC: addrcat(&hr, a, n); addrcat(&tocc, a, n); break;
		case H_BCC: case H_APPARENTLYTO: addrcat(&hr, a, n); break;
		case H_RTO: case H_RCC: case H_RBCC: addrcat(&hrr, a, n); break;
		case H_RETURNPATH: if (!senderset) setsender(a, n); break;
		default: break;
		}
	}
done:
	buf_free(&val); buf_free(&nf); buf_free(&addrs);
}

static void dofield(buf *f)
{
	enum header_kind kind = header_kind(f->s, f->len);

	if (flagdelfrom && kind == H_FROM) return;
	if (flagdelmsgid && kind == H_MESSAGEID) return;
	if (flagdelsender && kind == H_RETURNPATH) return;
	seen[kind] = 1;
	if (header_is_addrlist(kind)) doaddrs(f, kind);
	switch (kind) {
	case H_BCC: case H_RBCC: case H_RETURNPATH: case H_CONTENTLENGTH: return;
	default: break;
	}
	if (buf_put(&saved, f->s, f->len) < 0) {
		if (errno == ERANGE) err_die(EXIT_PERM, "header too large after rewriting", (char *)0);
		nomem();
	}
}

/* Address text "local@host" (local quoted when it must be; no "@host"
 * when host is null), to be completed by addr_list like any address. */
static void makeaddr(buf *text, const char *local, size_t n, const char *host)
{
	if (addr_put_local(text, local, n) < 0) nomem();
	if (host && (buf_putc(text, '@') < 0 || buf_puts(text, host) < 0)) nomem();
}

/* The From (or Resent-From) field for a message that has none. */
static void defaultfrom(const char *prefix)
{
	buf text = BUF_INIT, line = BUF_INIT, addrs = BUF_INIT;
	int r;

	if (fullname && !flagcomment) {
		if (addr_put_quoted(&text, fullname, strlen(fullname)) < 0 || buf_puts(&text, " <") < 0) nomem();
		makeaddr(&text, mailuser, strlen(mailuser), mailhost);
		if (buf_putc(&text, '>') < 0) nomem();
	} else {
		makeaddr(&text, mailuser, strlen(mailuser), mailhost);
		if (fullname && (buf_putc(&text, ' ') < 0 || addr_put_comment(&text, fullname, strlen(fullname)) < 0))
			nomem();
	}
	if (buf_copys(&line, prefix) < 0 || buf_puts(&line, "From: ") < 0) nomem();
	r = addr_list(&cfg, text.s, text.len, line.len, &line, &addrs);
	if (r < 0) nomem();
	if (r == 0) err_die(EXIT_PERM, "unable to make a From field of ", text.s, (char *)0);
	if (buf_putc(&line, '\n') < 0) nomem();
	put(line.s, line.len);
	buf_free(&text); buf_free(&line); buf_free(&addrs);
}

/* The envelope sender when neither -f nor Return-Path gave one:
 * QMAILSUSER@QMAILSHOST, with the VERP marks QMAILINJECT asks for. */
static void defaultsender(void)
{
	buf user = BUF_INIT, text = BUF_INIT, line = BUF_INIT, addrs = BUF_INIT;
	int r;

	if (buf_copys(&user, mailruser) < 0) nomem();
	if (flagverpmess) {
		if (buf_putc(&user, '-') < 0 || buf_putnum(&user, (unsigned long long)starttime) < 0
		    || buf_putc(&user, '.') < 0 || buf_putnum(&user, (unsigned long long)getpid()) < 0) nomem();
	}
	if (flagverprcpt && buf_putc(&user, '-') < 0) nomem();
	makeaddr(&text, user.s, user.len, mailrhost);
	r = addr_list(&cfg, text.s, text.len, 0, &line, &addrs);
	if (r < 0) nomem();
	if (r == 0 || !addrs.len) err_die(EXIT_PERM, "unable to make a sender address of ", text.s, (char *)0);
	setsender(addrs.s, strlen(addrs.s));
	buf_free(&user); buf_free(&text); buf_free(&line); buf_free(&addrs);
}

/* An envelope address written back as header text (local part quoted
 * when it needs to be). */
static void putenvaddr(buf *b, const char *a, size_t n)
{
	size_t at = byte_rchr(a, n, '@');
	if (addr_put_local(b, a, at) < 0) nomem();
	if (at < n && buf_put(b, a + at, n - at) < 0) nomem();
}

/* Mail-Followup-To: when QMAILMFTFILE names a file of mailing lists and
 * a To or Cc address is one of them, the To and Cc addresses. */
static void followupto(void)
{
	buf lists = BUF_INIT, line = BUF_INIT;
	const char *file = getenv("QMAILMFTFILE");
	size_t i, j;
	int hit = 0;

	if (!file || seen[H_MAILFOLLOWUPTO] || !tocc.len) return;
	if (read_file(file, &lists, CONTROL_MAX) < 0) {
		if (errno == ENOENT) return;
		err_dieerr(EXIT_TEMP, "unable to read ", file, (char *)0);
	}
	for (i = 0; !hit && i < tocc.len; i += strlen(tocc.s + i) + 1) {
		size_t n = strlen(tocc.s + i);
		for (j = 0; !hit && j < lists.len; ) {
			size_t k = byte_chr(lists.s + j, lists.len - j, '\n');
			size_t t = k;
			while (t && (lists.s[j + t - 1] == ' ' || lists.s[j + t - 1] == '\t' || lists.s[j + t - 1] == '\r')) t--;
			if (t == n && case_eqn(lists.s + j, tocc.s + i, n)) hit = 1;
			j += k + 1;
		}
	}
	if (hit) {
		if (buf_copys(&line, "Mail-Followup-To: ") < 0) nomem();
		for (i = 0; i < tocc.len; i += strlen(tocc.s + i) + 1) {
			if (i && buf_puts(&line, ",\n  ") < 0) nomem();
			putenvaddr(&line, tocc.s + i, strlen(tocc.s + i));
		}
		if (buf_putc(&line, '\n') < 0) nomem();
		put(line.s, line.len);
	}
	buf_free(&lists); buf_free(&line);
}

static void stamp(const char *prefix, const char *name, int msgid)
{
	buf b = BUF_INIT;
	if (buf_copys(&b, prefix) < 0 || buf_puts(&b, name) < 0) nomem();
	if ((msgid ? header_msgid(&b, starttime, getpid(), idhost.s) : header_date(&b, starttime)) < 0
	    || buf_putc(&b, '\n') < 0) nomem();
	put(b.s, b.len);
	buf_free(&b);
}

/* The header is read: the fields qmail-inject adds, then the kept ones. */
static void finishheader(void)
{
	int resent = seen[H_RSENDER] || seen[H_RFROM] || seen[H_RREPLYTO] || seen[H_RTO]
	          || seen[H_RCC] || seen[H_RBCC] || seen[H_RDATE] || seen[H_RMESSAGEID];
	const char *p = resent ? "Resent-" : "";

	if (!senderset) defaultsender();
	if (flagrh) {
		buf *h = resent ? &hrr : &hr;
		if (buf_put(&rcpts, h->s, h->len) < 0) nomem();
	}
	if (flagqueue) {
		if (!rcpts.len) err_die(EXIT_PERM, "no recipients", (char *)0);
		if (qq_open(&q, 0) < 0) err_dieerr(EXIT_TEMP, "unable to run qmail-queue", (char *)0);
		o = &q.mess;
	} else {
		buf rp = BUF_INIT;
		out_init(&out, 1, 0);
		o = &out;
		if (buf_copys(&rp, "Return-Path: <") < 0) nomem();
		if (sender.len) putenvaddr(&rp, sender.s, sender.len);
		if (buf_puts(&rp, ">\n") < 0) nomem();
		put(rp.s, rp.len);
		buf_free(&rp);
	}
	if (!seen[resent ? H_RDATE : H_DATE]) stamp(p, "Date: ", 0);
	if (!seen[resent ? H_RMESSAGEID : H_MESSAGEID]) stamp(p, "Message-ID: ", 1);
	if (!seen[resent ? H_RFROM : H_FROM]) defaultfrom(p);
	if (resent ? !seen[H_RTO] && !seen[H_RCC] : !seen[H_TO] && !seen[H_CC]) {
		puts_(p);
		puts_("Cc: recipient list not shown: ;\n");
	}
	if (!resent) followupto();
	put(saved.s, saved.len);
}

/* The body: what the header reader already holds, then the rest of
 * standard input, streamed. A last line without LF gets one. */
static void dobody(header_in *h, io_in *in)
{
	char last = '\n';
	int cr = 0;

	if (h->blank) puts_("\n");
	if (h->next.len) {
		if (h->partial) {
			if (header_lf_put(o, &cr, &last, h->next.s, h->next.len) < 0) goto wfail;
		} else {
			put(h->next.s, h->next.len);
			last = h->next.s[h->next.len - 1];
		}
	}
	while (!q.failed) {
		ssize_t r = in_fill(in);
		if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the message", (char *)0);
		if (r == 0) break;
		if (header_lf_put(o, &cr, &last, in->b + in->pos, in->len - in->pos) < 0) goto wfail;
		in->pos = in->len;
	}
	if (header_lf_end(o, &cr, &last) < 0) goto wfail;
	if (last != '\n') puts_("\n");
	return;
wfail:
	if (!flagqueue) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	q.failed = 1;   /* qmail-queue stopped reading: qq_close says why */
}

static void finish(void)
{
	buf why = BUF_INIT;
	size_t i;
	int r;

	if (!flagqueue) {
		if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
		_exit(0);
	}
	qq_from(&q, sender.s);
	for (i = 0; i < rcpts.len; i += strlen(rcpts.s + i) + 1)
		qq_to(&q, rcpts.s + i, strlen(rcpts.s + i));
	r = qq_close(&q, &why);
	if (r == 'D') err_die(EXIT_PERM, "qmail-queue refused the message: ", why.s, (char *)0);
	if (r) err_die(EXIT_TEMP, "unable to queue the message: ", why.s, (char *)0);
	_exit(0);
}

/* The header could not be read: say which limit it broke, or why. */
static _Noreturn void toolong(const header_in *h)
{
	char num[24];

	switch (h->err) {
	case HIN_FIELD_TOO_LONG:
		fmt_ulong(num, HEADER_FIELD_MAX);
		err_die(EXIT_PERM, "header field too long (the limit is ", num, " bytes)", (char *)0);
	case HIN_HEADER_TOO_LONG:
		fmt_ulong(num, HEADER_MAX);
		err_die(EXIT_PERM, "header too long (the limit is ", num, " bytes)", (char *)0);
	case HIN_NOMEM:
		nomem();
	default:
		err_dieerr(EXIT_TEMP, "unable to read the message", (char *)0);
	}
}

/* -aAhHnN -f sender; returns the index of the first recipient argument. */
static int options(int argc, char **argv, int *strategy)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *s = argv[i] + 1;
		if (!strcmp(argv[i], "--")) return i + 1;
		for (; *s; s++) {
			switch (*s) {
			case 'a': *strategy = RECIP_ARGS; continue;
			case 'A': *strategy = RECIP_DEFAULT; continue;
			case 'h': *strategy = RECIP_HEADER; continue;
			case 'H': *strategy = RECIP_BOTH; continue;
			case 'n': flagqueue = 0; continue;
			case 'N': flagqueue = 1; continue;
			case 'f':
				if (s[1]) s++;
				else if (++i < argc) s = argv[i];
				else err_die(EXIT_PERM, USAGE, (char *)0);
				argaddr(&sender, s);
				senderset = 1;
				break;
			default:
				err_die(EXIT_PERM, USAGE, (char *)0);
			}
			break;   /* -f took the rest of the argument */
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	int strategy = RECIP_DEFAULT;
	header_in h;
	io_in in;
	buf field = BUF_INIT, a = BUF_INIT;
	int i, r;

	err_prog = "qmail-inject";
	sig_ignore(SIGPIPE);
	starttime = time(0);
	getflags();              /* QMAILINJECT, the user, host and name variables */
	getcontrols();           /* defaultdomain, defaulthost, plusdomain, idhost */
	saved.max = SAVED_MAX;
	hr.max = hrr.max = tocc.max = SAVED_MAX;

	i = options(argc, argv, &strategy);
	if (strategy == RECIP_DEFAULT) strategy = i < argc ? RECIP_ARGS : RECIP_HEADER;
	if (strategy != RECIP_HEADER)
		for (; i < argc; i++) {
			argaddr(&a, argv[i]);
			addrcat(&rcpts, a.s, a.len);
		}
	flagrh = strategy != RECIP_ARGS;

	in_init(&in, 0, 0);
	header_in_init(&h, &in);
	while ((r = header_in_field(&h, &field)) == 1) dofield(&field);
	if (r < 0) toolong(&h);
	finishheader();          /* sender, recipients, new fields, kept fields */
	dobody(&h, &in);
	finish();                /* envelope to qmail-queue, its verdict */
	return 0;
}
