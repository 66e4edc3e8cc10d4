/* local: the delivery engine behind qmail-local (see local.h).
 *
 * The order of work follows qmail-local(8) and dot-qmail(5):
 *   1. the home directory: deferred when writable by others or sticky;
 *   2. Delivered-To loop check (bounded memory whatever the header);
 *   3. the .qmail file: .qmail<dash><ext>, then the -default files;
 *      none for a non-empty dash: "no mailbox here" (permanent);
 *   4. NEWSENDER from the -owner files;
 *   5. the instructions in order: files and programs now, forwards
 *      collected and queued at the end in one qmail-queue run, so a failure
 *      anywhere before prevents every forward. A program's exit 99 ends
 *      the list (forwards seen before it still go).
 * Before anything is delivered, the whole .qmail file is checked, so a
 * broken line defers the message instead of leaving it half delivered. */
#include "mail/local.h"
#include "mail/dotqmail.h"
#include "mail/maildir.h"
#include "mail/mbox.h"
#include "mail/qqclient.h"
#include "mail/route.h"
#include "mail/srs.h"
#include "lib/fdpipe.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CHILD_FDMIN 10   /* pipe ends stay above the child's 0, 1, 2 */

typedef struct ctx {
	const struct local_req *r;
	struct local_result *res;
	int homefd;
	int qfd;                   /* the .qmail file, or -1 */
	int forwardonly;           /* the .qmail file has its x bit: forwards only */
	size_t defat;              /* DEFAULT = ext + defat, or DQ_NODEFAULT */
	size_t progout;            /* program output bytes kept so far */
	unsigned long nfile, nforward, nprog, qp, mdcount;
	int flag99;
	buf dtline, rpline, ufline, safeext, newsender, qme, cmds, tmp, why;
	buf envs;                  /* "NAME=value\0" for the variables we set */
	char **envp;
	/* SRS: the settings (req's, else ours), the route that says which
	 * forwards leave our domains, and the rewritten sender */
	const struct srs_cfg *srs;
	struct srs_cfg ownsrs;
	route route;
	int haveroute;
	int passeson;              /* a forward or program line: SRS may matter */
	int srsed;                 /* srssender holds the SRS form of newsender */
	const char *srserr;        /* a file that could not be read, or 0 */
	int srserrno;
	buf srssender;
} ctx;

/* --- the report ---------------------------------------------------------- */

static void say(ctx *c, const char *s, size_t n)
{
	buf *t = &c->res->text;
	if (t->len >= LOCAL_TEXT_MAX) return;
	if (n > LOCAL_TEXT_MAX - t->len) n = LOCAL_TEXT_MAX - t->len;
	buf_put(t, s, n);
}

static void says(ctx *c, const char *s) { say(c, s, strlen(s)); }

/* Set the result code and append the strings (ending with 0) as a line. */
static int fail(ctx *c, int code, const char *s, ...)
{
	va_list ap;
	c->res->code = code;
	va_start(ap, s);
	for (; s; s = va_arg(ap, const char *)) says(c, s);
	va_end(ap);
	says(c, "\n");
	return -1;
}

static int nomem(ctx *c) { return fail(c, 111, "Out of memory. (#4.3.0)", (char *)0); }

/* --- header lines ---------------------------------------------------------- */

static int atomchar(unsigned char ch)
{
	if (ch <= 32 || ch >= 127) return 0;
	return !strchr("()<>@,;:\\\"[]", ch);
}

/* qmail's rule: quote a local part that is empty or is not a dot-atom. */
static int needquote(const char *s, size_t n)
{
	size_t i;
	if (n == 0) return 1;
	for (i = 0; i < n; i++) if (!atomchar((unsigned char)s[i])) return 1;
	if (s[0] == '.' || s[n - 1] == '.') return 1;
	for (i = 0; i + 1 < n; i++) if (s[i] == '.' && s[i + 1] == '.') return 1;
	return 0;
}

int local_quote_addr(buf *out, const char *addr)
{
	size_t n = strlen(addr), at = byte_rchr(addr, n, '@'), i;

	out->len = 0;
	if (buf_ready(out, 0) < 0) return -1;
	out->s[0] = 0;
	if (n == 0) return 0;
	if (!needquote(addr, at)) return buf_put(out, addr, n);
	if (buf_putc(out, '"') < 0) return -1;
	for (i = 0; i < at; i++) {
		char ch = addr[i];
		if ((ch == '"' || ch == '\\' || ch == '\r' || ch == '\n') && buf_putc(out, '\\') < 0) return -1;
		if (buf_putc(out, ch) < 0) return -1;
	}
	if (buf_putc(out, '"') < 0) return -1;
	return buf_put(out, addr + at, n - at);
}

/* Newlines in remote input would end a header line early: qmail writes
 * them as '_'. */
static void flatten(buf *b, size_t from)
{
	size_t i;
	for (i = from; i < b->len; i++) if (b->s[i] == '\n') b->s[i] = '_';
}

static int headerlines(ctx *c)
{
	const struct local_req *r = c->r;
	char date[64];
	struct tm tm;
	time_t now = time(0);
	size_t i, n;

	if (buf_copys(&c->dtline, "Delivered-To: ") < 0 || buf_puts(&c->dtline, r->local) < 0 ||
	    buf_putc(&c->dtline, '@') < 0 || buf_puts(&c->dtline, r->host) < 0) return -1;
	flatten(&c->dtline, 0);
	if (buf_putc(&c->dtline, '\n') < 0) return -1;

	if (local_quote_addr(&c->tmp, r->sender) < 0 || buf_copys(&c->rpline, "Return-Path: <") < 0 ||
	    buf_put(&c->rpline, c->tmp.s, c->tmp.len) < 0) return -1;
	flatten(&c->rpline, 0);
	if (buf_puts(&c->rpline, ">\n") < 0) return -1;

	/* "From sender date": the sender cannot hold blanks there. */
	if (buf_copys(&c->ufline, "From ") < 0) return -1;
	n = strlen(r->sender);
	if (n == 0) {
		if (buf_puts(&c->ufline, "MAILER-DAEMON") < 0) return -1;
	} else {
		size_t at = c->ufline.len;
		if (buf_put(&c->ufline, r->sender, n) < 0) return -1;
		for (i = at; i < c->ufline.len; i++) {
			char ch = c->ufline.s[i];
			if (ch == ' ' || ch == '\t' || ch == '\n') c->ufline.s[i] = '-';
		}
	}
	gmtime_r(&now, &tm);
	n = strftime(date, sizeof date, " %a %b %e %H:%M:%S %Y\n", &tm);
	if (n == 0 || buf_put(&c->ufline, date, n) < 0) return -1;
	return 0;
}

/* --- the loop check ------------------------------------------------------- */

/* 1 when the header holds our Delivered-To line, 0 not, -1 read error.
 * Only a position in the current line and a match flag are kept, so a
 * header line of any size costs no memory (qmail's 2020 exploit grew a
 * buffer with a 4 GB line). The field name compares without case. */
static int looping(int fd, const buf *dt)
{
	char b[8192];
	size_t want = dt->len - 1;     /* without the newline */
	size_t col = 0;
	int match = 1;

	if (lseek(fd, 0, SEEK_SET) < 0) return -1;
	for (;;) {
		ssize_t r = read(fd, b, sizeof b);
		size_t i = 0;
		if (r < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		if (r == 0) return 0;
		while (i < (size_t)r) {
			char ch = b[i];
			if (!match) {
				/* nothing to compare until the next line */
				const char *nl = memchr(b + i, '\n', (size_t)r - i);
				if (!nl) { i = (size_t)r; break; }
				i = (size_t)(nl - b);
				ch = '\n';
			}
			i++;
			if (ch == '\n') {
				if (col == 0 && match) return 0;   /* end of header */
				if (match && col == want) return 1;
				col = 0;
				match = 1;
				continue;
			}
			if (col >= want) match = 0;
			else if (col < 13 ? !case_eqn(&ch, dt->s + col, 1) : ch != dt->s[col]) match = 0;
			col++;
		}
	}
}

/* --- finding the .qmail file ---------------------------------------------- */

/* Errors that mean "this candidate is not there" rather than "cannot tell
 * now": the latter defer the message, as qmail does. */
static int absent(int e)
{
	return e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP || e == EISDIR || e == ENXIO;
}

/* 1 found (c->qfd open), 0 not this one, -1 failed (reported). */
static int tryqmail(ctx *c, const char *name)
{
	struct stat st;
	int fd = openat(c->homefd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		if (absent(errno)) return 0;
		return fail(c, 111, "Unable to open ", name, ": ", strerror(errno), ". (#4.3.0)", (char *)0);
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return fail(c, 111, "Unable to open ", name, ": ", strerror(e), ". (#4.3.0)", (char *)0);
	}
	if (!S_ISREG(st.st_mode)) { close(fd); return 0; }
	if (st.st_mode & LOCAL_PATRN) {
		close(fd);
		return fail(c, 111, "Uh-oh: .qmail file is writable. (#4.7.0)", (char *)0);
	}
	c->forwardonly = !!(st.st_mode & 0100);
	c->qfd = fd;
	return 1;
}

static int findqmail(ctx *c)
{
	size_t iter = 0, defat;
	int r;

	c->qfd = -1;
	c->defat = DQ_NODEFAULT;
	for (;;) {
		r = dq_candidate(&c->qme, c->r->dash, &c->safeext, &iter, &defat);
		if (r < 0) return nomem(c);
		if (r == 0) return 0;
		r = tryqmail(c, c->qme.s);
		if (r < 0) return -1;
		if (r > 0) {
			if (defat != DQ_NODEFAULT && defat <= strlen(c->r->ext)) c->defat = defat;
			return 0;
		}
	}
}

/* 1 when .qmail<dash><ext><suffix> exists, 0 not, -1 failed (reported). */
static int qmeox(ctx *c, const char *suffix)
{
	struct stat st;

	if (buf_copys(&c->qme, ".qmail") < 0 || buf_puts(&c->qme, c->r->dash) < 0 ||
	    buf_put(&c->qme, c->safeext.s, c->safeext.len) < 0 || buf_puts(&c->qme, suffix) < 0)
		return nomem(c);
	if (fstatat(c->homefd, c->qme.s, &st, 0) == 0) return 1;
	if (absent(errno) || errno == EACCES) return 0;
	return fail(c, 111, "Unable to stat ", c->qme.s, ": ", strerror(errno), ". (#4.3.0)", (char *)0);
}

/* dot-qmail(5): forwards get local-owner@host as sender when
 * .qmail-ext-owner exists (a VERP form with -owner-default too); bounces
 * ("" and "#@[]") keep theirs. */
static int newsender(ctx *c)
{
	const struct local_req *r = c->r;
	int o;

	if (buf_copys(&c->newsender, r->sender) < 0) return nomem(c);
	if (!*r->sender || strcmp(r->sender, "#@[]") == 0) return 0;
	o = qmeox(c, "-owner");
	if (o <= 0) return o;
	o = qmeox(c, "-owner-default");
	if (o < 0) return -1;
	if (buf_copys(&c->newsender, r->local) < 0 ||
	    buf_puts(&c->newsender, o ? "-owner-@" : "-owner@") < 0 ||
	    buf_puts(&c->newsender, r->host) < 0 ||
	    (o && buf_puts(&c->newsender, "-@[]") < 0)) return nomem(c);
	return 0;
}

static int readqmail(ctx *c)
{
	char b[8192];

	c->cmds.len = 0;
	if (buf_ready(&c->cmds, 0) < 0) return nomem(c);
	for (;;) {
		ssize_t r = read(c->qfd, b, sizeof b);
		if (r < 0) {
			if (errno == EINTR) continue;
			return fail(c, 111, "Unable to read ", c->qme.s, ": ", strerror(errno), ". (#4.3.0)", (char *)0);
		}
		if (r == 0) return 0;
		if (c->cmds.len + (size_t)r > DQ_FILE_MAX)
			return fail(c, 111, "Uh-oh: .qmail file is too big. (#4.2.1)", (char *)0);
		if (buf_put(&c->cmds, b, (size_t)r) < 0) return nomem(c);
	}
}

/* --- the environment of programs (qmail-command(8)) ------------------------ */

static const char *const ourvars[] = {
	"SENDER", "NEWSENDER", "RECIPIENT", "USER", "HOME", "HOST", "HOST2", "HOST3", "HOST4",
	"LOCAL", "EXT", "EXT2", "EXT3", "EXT4", "DEFAULT", "DTLINE", "RPLINE", "UFLINE", 0
};

static int ours(const char *e)
{
	size_t i, n = byte_chr(e, strlen(e), '=');
	for (i = 0; ourvars[i]; i++)
		if (strlen(ourvars[i]) == n && memcmp(ourvars[i], e, n) == 0) return 1;
	return 0;
}

static int setvar(buf *b, const char *name, const char *v, size_t n)
{
	if (buf_puts(b, name) < 0 || buf_putc(b, '=') < 0 || buf_put(b, v, n) < 0 || buf_put0(b) < 0)
		return -1;
	return 0;
}

static int setvars(buf *b, const char *name, const char *v) { return setvar(b, name, v, strlen(v)); }

/* EXT2..EXT4: what follows the first, second, third dash of ext. */
static const char *afterdash(const char *x)
{
	x += byte_chr(x, strlen(x), '-');
	return *x ? x + 1 : x;
}

static int buildenv(ctx *c)
{
	const struct local_req *r = c->r;
	char *const *base = r->env ? r->env : environ;
	const char *x;
	size_t nbase = 0, nours = 0, i, k, h;
	int e = 0;

	c->envs.len = 0;
	e |= setvars(&c->envs, "SENDER", r->sender);
	if (c->srsed) e |= setvar(&c->envs, "NEWSENDER", c->srssender.s, c->srssender.len);
	else e |= setvar(&c->envs, "NEWSENDER", c->newsender.s, c->newsender.len);
	e |= setvars(&c->envs, "USER", r->user);
	e |= setvars(&c->envs, "HOME", r->home);
	e |= setvars(&c->envs, "LOCAL", r->local);
	e |= setvars(&c->envs, "HOST", r->host);
	/* RECIPIENT is local@host, as the Delivered-To line has it */
	e |= setvar(&c->envs, "RECIPIENT", c->dtline.s + 14, c->dtline.len - 15);
	/* HOST2..HOST4: the domain without its last one, two, three parts */
	h = strlen(r->host);
	h = byte_rchr(r->host, h, '.');
	e |= setvar(&c->envs, "HOST2", r->host, h);
	h = byte_rchr(r->host, h, '.');
	e |= setvar(&c->envs, "HOST3", r->host, h);
	h = byte_rchr(r->host, h, '.');
	e |= setvar(&c->envs, "HOST4", r->host, h);
	x = r->ext;
	e |= setvars(&c->envs, "EXT", x);
	x = afterdash(x);
	e |= setvars(&c->envs, "EXT2", x);
	x = afterdash(x);
	e |= setvars(&c->envs, "EXT3", x);
	x = afterdash(x);
	e |= setvars(&c->envs, "EXT4", x);
	if (c->defat != DQ_NODEFAULT) e |= setvars(&c->envs, "DEFAULT", r->ext + c->defat);
	e |= setvar(&c->envs, "DTLINE", c->dtline.s, c->dtline.len);
	e |= setvar(&c->envs, "RPLINE", c->rpline.s, c->rpline.len);
	e |= setvar(&c->envs, "UFLINE", c->ufline.s, c->ufline.len);
	if (e) return nomem(c);

	for (i = 0; base && base[i]; i++) nbase++;
	for (i = 0; i < c->envs.len; i++) if (c->envs.s[i] == 0) nours++;
	if (nbase > SIZE_MAX / sizeof(char *) - nours - 1) return nomem(c);
	c->envp = malloc((nbase + nours + 1) * sizeof(char *));
	if (!c->envp) return nomem(c);
	k = 0;
	for (i = 0; i < nbase; i++) if (!ours(base[i])) c->envp[k++] = base[i];
	for (i = 0; i < c->envs.len; i += strlen(c->envs.s + i) + 1) c->envp[k++] = c->envs.s + i;
	c->envp[k] = 0;
	return 0;
}

/* --- the instructions ------------------------------------------------------- */

static void progout(ctx *c, const char *s, size_t n)
{
	if (c->progout >= LOCAL_PROGOUT_MAX) return;
	if (n > LOCAL_PROGOUT_MAX - c->progout) n = LOCAL_PROGOUT_MAX - c->progout;
	c->progout += n;
	say(c, s, n);
}

/* qmail-command(8): sh -c command in the home directory, the message on
 * stdin, stdout and stderr collected (bounded) for the report. */
static int program(ctx *c, const char *cmd)
{
	char *argv[4];
	char b[1024];
	int p[2], status, code;
	size_t before = c->progout;
	pid_t pid;

	if (lseek(c->r->msgfd, 0, SEEK_SET) < 0)
		return fail(c, 111, "Unable to rewind message. (#4.3.0)", (char *)0);
	if (pipe_above(p, CHILD_FDMIN) < 0)
		return fail(c, 111, "Unable to make a pipe: ", strerror(errno), ". (#4.3.0)", (char *)0);
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)cmd;
	argv[3] = 0;
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return fail(c, 111, "Unable to fork: ", strerror(e), ". (#4.3.0)", (char *)0);
	}
	if (pid == 0) {
		/* dup2 onto the same number keeps close-on-exec: clear it */
		if (c->r->msgfd == 0 ? fcntl(0, F_SETFD, 0) < 0 : dup2(c->r->msgfd, 0) < 0) _exit(111);
		if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0) _exit(111);
		if (fchdir(c->homefd) < 0) {
			static const char m[] = "Unable to switch to home directory. (#4.3.0)\n";
			(void)!write(2, m, sizeof m - 1);
			_exit(111);
		}
		sig_default(SIGPIPE);
		execve("/bin/sh", argv, c->envp);
		{
			static const char m[] = "Unable to run /bin/sh. (#4.3.0)\n";
			(void)!write(2, m, sizeof m - 1);
		}
		_exit(111);
	}
	close(p[1]);
	for (;;) {
		ssize_t r = read(p[0], b, sizeof b);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		progout(c, b, (size_t)r);     /* beyond the limit: read and dropped */
	}
	close(p[0]);
	if (wait_pid(pid, &status, 0) < 0)
		return fail(c, 111, "Unable to wait for program: ", strerror(errno), ". (#4.3.0)", (char *)0);
	code = wait_code(status);
	if (code < 0) return fail(c, 111, "Aack, child crashed. (#4.3.0)", (char *)0);
	switch (code) {
	case 0:
		return 0;
	case 99:
		c->flag99 = 1;
		return 0;
	case 100: case 64: case 65: case 70: case 76: case 77: case 78: case 112:
		c->res->code = 100;
		break;
	default:
		c->res->code = 111;
		break;
	}
	/* The program's own words are the reason; say something when it
	 * gave none, so the bounce or the log is never empty. */
	if (c->progout == before) {
		char num[24];
		fmt_ulong(num, (unsigned long long)code);
		return fail(c, c->res->code, "Program exited with status ", num,
		            c->res->code == 100 ? ". (#5.2.0)" : ". (#4.2.0)", (char *)0);
	}
	if (c->res->text.len && c->res->text.s[c->res->text.len - 1] != '\n') says(c, "\n");
	return -1;
}

static int file(ctx *c, const dq_line *l)
{
	if (buf_copy(&c->tmp, l->text, l->len) < 0) return nomem(c);
	c->why.len = 0;
	if (l->type == DQ_MAILDIR) {
		buf pre = BUF_INIT;
		int r;
		if (buf_put(&pre, c->rpline.s, c->rpline.len) < 0 ||
		    buf_put(&pre, c->dtline.s, c->dtline.len) < 0) { buf_free(&pre); return nomem(c); }
		r = maildir_deliver(c->homefd, c->tmp.s, c->r->msgfd, pre.s, pre.len, &c->mdcount, 0, &c->why);
		buf_free(&pre);
		if (r < 0) return fail(c, 111, c->why.s, (char *)0);
	} else {
		buf pre = BUF_INIT;
		int r;
		if (buf_put(&pre, c->ufline.s, c->ufline.len) < 0 ||
		    buf_put(&pre, c->rpline.s, c->rpline.len) < 0 ||
		    buf_put(&pre, c->dtline.s, c->dtline.len) < 0) { buf_free(&pre); return nomem(c); }
		r = mbox_deliver(c->homefd, c->tmp.s, c->r->msgfd, pre.s, pre.len, &c->why);
		buf_free(&pre);
		if (r < 0) return fail(c, 111, c->why.s, (char *)0);
	}
	return 0;
}

/* Is the forward target a[0..n) delivered elsewhere? */
static int remote(ctx *c, const char *a, size_t n)
{
	int k;
	if (!c->haveroute) return 0;
	k = route_rewrite(&c->route, a, n, &c->tmp);
	return k == ROUTE_REMOTE ? 1 : k < 0 ? -1 : 0;
}

/* The forwards of the lines before stop (want: 0 all of them, 1 only
 * those to other domains, 2 only ours), in one qmail-queue run, with
 * sender: the message with our Delivered-To line on top (no
 * Return-Path: the new envelope carries the sender). */
static int queue(ctx *c, size_t stop, int want, const char *sender)
{
	char b[16384];
	size_t pos = 0;
	const char *why;
	dq_line l;
	qq q;
	int r;

	if (lseek(c->r->msgfd, 0, SEEK_SET) < 0)
		return fail(c, 111, "Unable to rewind message. (#4.3.0)", (char *)0);
	if (qq_open(&q, c->r->qmailqueue) < 0)
		return fail(c, 111, "Unable to fork: ", strerror(errno), ". (#4.3.0)", (char *)0);
	c->qp = (unsigned long)q.pid;
	qq_put(&q, c->dtline.s, c->dtline.len);
	for (;;) {
		ssize_t k = read(c->r->msgfd, b, sizeof b);
		if (k < 0 && errno == EINTR) continue;
		if (k < 0) { q.failed = 1; break; }
		if (k == 0) break;
		qq_put(&q, b, (size_t)k);
	}
	qq_from(&q, sender);
	l.lineno = 0;
	while (pos < stop && dq_parse(c->cmds.s, stop, &pos, &l, &why) > 0) {
		if (l.type != DQ_FORWARD) continue;
		if (want) {
			r = remote(c, l.text, l.len);
			if (r < 0) { q.failed = 1; break; }
			if (r != (want == 1)) continue;
		}
		qq_to(&q, l.text, l.len);
	}
	c->why.len = 0;
	r = qq_close(&q, &c->why);
	if (r == 0) return 0;
	return fail(c, r == 'D' ? 100 : 111, "Unable to forward message: ", c->why.s, ".", (char *)0);
}

/* All forwards of the lines before stop. With SRS, those to other
 * domains go in a run of their own with the SRS sender; ours keep the
 * sender, so local bounces need no reversal. */
static int forward(ctx *c, size_t stop)
{
	size_t pos = 0;
	const char *why;
	dq_line l;
	int nremote = 0, nlocal = 0, r;

	if (!c->srsed && !c->srserr) return queue(c, stop, 0, c->newsender.s);
	l.lineno = 0;
	while (pos < stop && dq_parse(c->cmds.s, stop, &pos, &l, &why) > 0) {
		if (l.type != DQ_FORWARD) continue;
		r = remote(c, l.text, l.len);
		if (r < 0) return nomem(c);
		if (r) nremote++; else nlocal++;
	}
	/* without the settings we cannot tell which forwards leave: all do */
	if (c->srserr && (nremote || !c->haveroute))
		return fail(c, 111, "Unable to read ", c->srserr, " for SRS: ", strerror(c->srserrno), ". (#4.3.0)", (char *)0);
	if (!nremote || !c->srsed) return queue(c, stop, 0, c->newsender.s);
	if (nlocal && queue(c, stop, 2, c->newsender.s) < 0) return -1;
	return queue(c, stop, 1, c->srssender.s);
}

/* SRS (srs.h): the rewritten sender for forwards that leave our domains
 * and for $NEWSENDER. Trouble reading the settings matters only to a
 * forward that leaves: forward() defers it. */
static int srsprep(ctx *c)
{
	const char *what;
	int k;

	c->srs = c->r->srs;
	if (!c->srs) {
		/* qmail-local run by hand or as QMAILLOCAL: control/srs may be
		 * closed to this uid */
		k = srs_load(&c->ownsrs, &what);
		if (k < 0) {
			int e = errno;
			srs_free(&c->ownsrs);
			if (e == ENOMEM) return nomem(c);
			if (!c->newsender.len || str_eq(c->newsender.s, "#@[]")) return 0;   /* never rewritten */
			c->srserr = what;
			c->srserrno = e;
			if (srs_load_domain(&c->ownsrs) > 0 && route_load(&c->route, &what) == 0) {
				c->haveroute = 1;
				/* a sender of ours is never rewritten: nothing is missing */
				if (route_rewrite(&c->route, c->newsender.s, c->newsender.len, &c->tmp) == ROUTE_LOCAL)
					c->srserr = 0;
			}
			return 0;
		}
		c->srs = &c->ownsrs;
	}
	if (!c->srs->domain.len || !c->newsender.len) return 0;
	if (route_load(&c->route, &what) < 0) {
		if (errno == ENOMEM) return nomem(c);
		c->srserr = what;
		c->srserrno = errno;
		return 0;
	}
	c->haveroute = 1;
	k = srs_forward(&c->srssender, c->srs, &c->route, c->newsender.s, time(0));
	if (k < 0) {
		if (errno == ENOMEM) return nomem(c);
		c->srserr = "control/srs";
		c->srserrno = errno;
		return 0;
	}
	c->srsed = k;
	return 0;
}

/* Check every line before acting on any. */
static int validate(ctx *c)
{
	size_t pos = 0;
	int fwdonly = c->forwardonly, r;
	const char *why;
	dq_line l;
	char num[24];

	l.lineno = 0;
	while ((r = dq_parse(c->cmds.s, c->cmds.len, &pos, &l, &why)) != 0) {
		if (r < 0) {
			if (strcmp(why, DQ_WHY_BLANKFIRST) == 0)
				return fail(c, 111, "Uh-oh: ", why, ". (#4.2.1)", (char *)0);
			fmt_ulong(num, l.lineno);
			return fail(c, 111, "Uh-oh: .qmail line ", num, ": ", why, ". (#4.2.1)", (char *)0);
		}
		if (l.type == DQ_LIST) fwdonly = 1;
		if (l.type == DQ_FORWARD || l.type == DQ_PROGRAM) c->passeson = 1;
		if (fwdonly && (l.type == DQ_MBOX || l.type == DQ_MAILDIR))
			return fail(c, 111, "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)", (char *)0);
		if (fwdonly && l.type == DQ_PROGRAM)
			return fail(c, 111, "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)", (char *)0);
	}
	return 0;
}

static void describe(ctx *c, const char *what, const dq_line *l)
{
	says(c, what);
	say(c, l->text, l->len);
	says(c, "\n");
}

/* Follow the instructions; forwards last. */
static int follow(ctx *c)
{
	size_t pos = 0;
	const char *why;
	dq_line l;

	l.lineno = 0;
	while (!c->flag99 && dq_parse(c->cmds.s, c->cmds.len, &pos, &l, &why) > 0) {
		switch (l.type) {
		case DQ_COMMENT:
		case DQ_BLANK:
		case DQ_LIST:
			break;
		case DQ_MBOX:
		case DQ_MAILDIR:
			c->nfile++;
			if (!c->r->doit) describe(c, l.type == DQ_MBOX ? "mbox " : "maildir ", &l);
			else if (file(c, &l) < 0) return -1;
			break;
		case DQ_PROGRAM:
			c->nprog++;
			if (!c->r->doit) describe(c, "program ", &l);
			else {
				if (buf_copy(&c->tmp, l.text, l.len) < 0) return nomem(c);
				if (program(c, c->tmp.s) < 0) return -1;
			}
			break;
		case DQ_FORWARD:
			c->nforward++;
			if (!c->r->doit) describe(c, "forward ", &l);
			break;
		}
	}
	if (c->nforward && c->r->doit && forward(c, pos) < 0) return -1;
	return 0;
}

static int checkhome(ctx *c)
{
	struct stat st;

	if (fstat(c->homefd, &st) < 0)
		return fail(c, 111, "Unable to stat home directory: ", strerror(errno), ". (#4.3.0)", (char *)0);
	if (st.st_mode & LOCAL_PATRN)
		return fail(c, 111, "Uh-oh: home directory is writable. (#4.7.0)", (char *)0);
	if (st.st_mode & S_ISVTX) {
		if (c->r->doit)
			return fail(c, 111, "Home directory is sticky: user is editing his .qmail file. (#4.2.1)", (char *)0);
		says(c, "Warning: home directory is sticky.\n");
	}
	return 0;
}

static int deliver(ctx *c)
{
	const struct local_req *r = c->r;
	char num[24];
	int lp;

	if (r->home[0] != '/')
		return fail(c, 100, "Home directory ", r->home, " is not an absolute path. (#5.3.5)", (char *)0);
	c->homefd = open(r->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->homefd < 0)
		return fail(c, 111, "Unable to switch to ", r->home, ": ", strerror(errno), ". (#4.3.0)", (char *)0);
	if (checkhome(c) < 0) return -1;
	if (headerlines(c) < 0) return nomem(c);
	if (r->doit) {
		lp = looping(r->msgfd, &c->dtline);
		if (lp < 0) return fail(c, 111, "Unable to read message: ", strerror(errno), ". (#4.3.0)", (char *)0);
		if (lp) return fail(c, 100, "This message is looping: it already has my Delivered-To line. (#5.4.6)", (char *)0);
	}
	if (dq_safeext(&c->safeext, r->ext, strlen(r->ext)) < 0) return nomem(c);
	if (findqmail(c) < 0) return -1;
	if (c->qfd < 0 && *r->dash)
		return fail(c, 100, "Sorry, no mailbox here by that name. (#5.1.1)", (char *)0);
	c->cmds.len = 0;
	if (c->qfd >= 0 && readqmail(c) < 0) return -1;
	if (newsender(c) < 0) return -1;
	if (c->cmds.len == 0) {
		/* an empty or missing .qmail: the administrator's default */
		if (buf_copys(&c->cmds, r->defaultdelivery) < 0) return nomem(c);
		c->forwardonly = 0;
	}
	if (validate(c) < 0) return -1;
	/* mailbox deliveries alone never need SRS: no control files read */
	if (r->doit && c->passeson && srsprep(c) < 0) return -1;
	if (buildenv(c) < 0 || follow(c) < 0) return -1;

	/* a program's last words may lack their newline */
	if (c->res->text.len && c->res->text.s[c->res->text.len - 1] != '\n') says(c, "\n");
	says(c, "did ");
	fmt_ulong(num, c->nfile);
	says(c, num);
	says(c, "+");
	fmt_ulong(num, c->nforward);
	says(c, num);
	says(c, "+");
	fmt_ulong(num, c->nprog);
	says(c, num);
	says(c, "\n");
	if (c->qp) {
		says(c, "qp ");
		fmt_ulong(num, c->qp);
		says(c, num);
		says(c, "\n");
	}
	c->res->code = 0;
	return 0;
}

void local_deliver(const struct local_req *req, struct local_result *res)
{
	ctx c;

	memset(&c, 0, sizeof c);
	c.r = req;
	c.res = res;
	c.homefd = -1;
	c.qfd = -1;
	c.defat = DQ_NODEFAULT;
	c.ownsrs.maxage = SRS_MAXAGE_DEFAULT;
	res->code = 111;
	res->text.len = 0;
	if (buf_ready(&res->text, 0) == 0) res->text.s[0] = 0;
	deliver(&c);
	if (c.homefd >= 0) close(c.homefd);
	if (c.qfd >= 0) close(c.qfd);
	buf_free(&c.dtline);
	buf_free(&c.rpline);
	buf_free(&c.ufline);
	buf_free(&c.safeext);
	buf_free(&c.newsender);
	buf_free(&c.qme);
	buf_free(&c.cmds);
	buf_free(&c.tmp);
	buf_free(&c.why);
	buf_free(&c.envs);
	free(c.envp);
	srs_free(&c.ownsrs);
	route_free(&c.route);
	buf_free(&c.srssender);
}

void local_result_free(struct local_result *res)
{
	buf_free(&res->text);
}
