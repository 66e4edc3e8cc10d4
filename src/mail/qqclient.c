/* qqclient: run qmail-queue and feed it one message (see qqclient.h). */
#include "mail/qqclient.h"
#include "mail/instance.h"
#include "lib/fdpipe.h"
#include "lib/sig.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Pipe ends are kept above the descriptors the child receives (0, 1, 6)
 * so that its dup2 calls never clobber one another. */
#define QQ_FDMIN 10

int qq_open(qq *q, const char *prog)
{
	int pm[2], pe[2], p6[2];
	buf path = BUF_INIT;
	char *argv[2];
	int e;

	memset(q, 0, sizeof *q);
	q->errfd = -1;
	if (!prog || !*prog) prog = getenv("QMAILQUEUE");
	if (!prog || !*prog) {
		buf_copys(&path, nq_home());
		if (buf_puts(&path, "/bin/qmail-queue") < 0) return -1;
		prog = path.s;
	}
	argv[0] = (char *)prog;
	argv[1] = 0;
	if (pipe_above(pm, QQ_FDMIN) < 0) goto fail0;
	if (pipe_above(pe, QQ_FDMIN) < 0) goto fail1;
	if (pipe_above(p6, QQ_FDMIN) < 0) goto fail2;
	q->pid = fork();
	if (q->pid < 0) goto fail3;
	if (q->pid == 0) {
		/* The child: pipes on 0, 1 and 6; SIGPIPE back to default
		 * (an ignored signal stays ignored across exec). */
		if (dup2(pm[0], 0) < 0 || dup2(pe[0], 1) < 0 || dup2(p6[1], 6) < 0) _exit(120);
		sig_default(SIGPIPE);
		execv(prog, argv);
		_exit(120);
	}
	buf_free(&path);
	close(pm[0]);
	close(pe[0]);
	close(p6[1]);
	out_init(&q->mess, pm[1], 0);
	out_init(&q->env, pe[1], 0);
	q->errfd = p6[0];
	return 0;
fail3:
	e = errno; close(p6[0]); close(p6[1]); errno = e;
fail2:
	e = errno; close(pe[0]); close(pe[1]); errno = e;
fail1:
	e = errno; close(pm[0]); close(pm[1]); errno = e;
fail0:
	e = errno; buf_free(&path); errno = e;
	q->pid = -1;
	return -1;
}

void qq_put(qq *q, const void *p, size_t n)
{
	if (q->failed || q->mess.fd < 0) return;
	if (out_put(&q->mess, p, n) < 0) q->failed = 1;
}

void qq_puts(qq *q, const char *s) { qq_put(q, s, strlen(s)); }

static void endmess(qq *q)
{
	if (q->mess.fd < 0) return;
	if (!q->failed && out_flush(&q->mess) < 0) q->failed = 1;
	close(q->mess.fd);
	q->mess.fd = -1;
}

static void envput(qq *q, const void *p, size_t n)
{
	if (q->failed) return;
	if (out_put(&q->env, p, n) < 0) q->failed = 1;
}

void qq_from(qq *q, const char *sender)
{
	endmess(q);
	envput(q, "F", 1);
	envput(q, sender, strlen(sender));
	envput(q, "", 1);
}

void qq_to(qq *q, const char *rcpt, size_t n)
{
	/* A NUL inside would end the address early and shift the envelope;
	 * fail the whole message rather than queue something else. */
	if (memchr(rcpt, 0, n)) { q->failed = 1; return; }
	envput(q, "T", 1);
	envput(q, rcpt, n);
	envput(q, "", 1);
}

int qq_code(int code, const char **why)
{
	switch (code) {
	case 0: *why = ""; return 0;
	case 11: *why = "envelope address too long for qq (#5.1.3)"; return 'D';
	case 31: *why = "mail server permanently rejected message (#5.3.0)"; return 'D';
	case 51: *why = "qq out of memory (#4.3.0)"; return 'Z';
	case 52: *why = "qq timeout (#4.3.0)"; return 'Z';
	case 53: *why = "qq write error or disk full (#4.3.0)"; return 'Z';
	case 54: *why = "qq read error (#4.3.0)"; return 'Z';
	case 55: *why = "qq unable to read configuration (#4.3.0)"; return 'Z';
	case 56: *why = "qq trouble making network connection (#4.3.0)"; return 'Z';
	case 61: *why = "qq trouble in home directory (#4.3.0)"; return 'Z';
	case 62: case 63: case 64: case 65: case 66:
		*why = "qq trouble creating files in queue (#4.3.0)"; return 'Z';
	case 71: *why = "mail server temporarily rejected message (#4.3.0)"; return 'Z';
	case 72: *why = "connection to mail server timed out (#4.4.1)"; return 'Z';
	case 73: *why = "connection to mail server rejected (#4.4.1)"; return 'Z';
	case 74: *why = "communication with mail server failed (#4.4.2)"; return 'Z';
	case 81: *why = "qq internal bug (#4.3.0)"; return 'Z';
	case 91: *why = "envelope format error (#4.3.0)"; return 'Z';
	case 120: *why = "unable to run qq (#4.3.0)"; return 'Z';
	}
	if (code >= 11 && code <= 40) { *why = "qq permanent problem (#5.3.0)"; return 'D'; }
	*why = "qq temporary problem (#4.3.0)";
	return 'Z';
}

/* Code 82: the child wrote its own reason, "D..." or "Z...", to fd 6. */
static int custom(const buf *t, buf *why)
{
	size_t n = t->len;
	size_t i;

	if (n < 2 || (t->s[0] != 'D' && t->s[0] != 'Z')) return 0;
	for (i = 1; i < n; i++) if (t->s[i] == '\n' || t->s[i] == 0) break;
	if (buf_copy(why, t->s + 1, i - 1) < 0) return 0;
	return t->s[0];
}

int qq_close(qq *q, buf *why)
{
	char tmp[256];
	buf err6 = BUF_INIT;
	int status, code, r;
	const char *text;

	if (q->pid < 0) {
		buf_copys(why, "unable to run qq (#4.3.0)");
		return 'Z';
	}
	endmess(q);
	envput(q, "", 1);
	if (!q->failed && out_flush(&q->env) < 0) q->failed = 1;
	close(q->env.fd);
	q->env.fd = -1;
	/* Read the optional reason (bounded; the rest is drained). */
	for (;;) {
		ssize_t k = read(q->errfd, tmp, sizeof tmp);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) break;
		if (err6.len < 1000) buf_put(&err6, tmp, (size_t)k);
	}
	close(q->errfd);
	q->errfd = -1;
	if (wait_pid(q->pid, &status, 0) < 0) {
		buf_free(&err6);
		buf_copys(why, "unable to wait for qq (#4.3.0)");
		return 'Z';
	}
	code = wait_code(status);
	if (code < 0) {
		buf_free(&err6);
		buf_copys(why, "qq crashed (#4.3.0)");
		return 'Z';
	}
	if (code == 82 && (r = custom(&err6, why))) { buf_free(&err6); return r; }
	buf_free(&err6);
	r = qq_code(code, &text);
	if (r == 0 && q->failed) {
		/* qmail-queue cannot have queued a message we did not finish
		 * writing (it waits for the final NUL); be safe anyway. */
		buf_copys(why, "qq write error (#4.3.0)");
		return 'Z';
	}
	if (r) buf_copys(why, text);
	return r;
}
