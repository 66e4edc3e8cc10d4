/* qlist: subscription requests for a mailing list kept in a .qmail file.
 *
 *   in .qmail-list-request:
 *   | qlist list@host list-request@host .qmail-list .qmail-list-request .qtemp-list owner [moreinfo]
 *
 * A list is a file .qmail-list of "&address" lines; qmail-local forwards
 * each message for list@host to every one of them. qlist edits that file
 * when a message reaches list-request@host:
 *   - every body line that starts with "subs" (any case) subscribes, every
 *     one that starts with "unsu" unsubscribes; when the body has neither,
 *     the Subject is looked at the same way, and a message with no command
 *     at all is taken as a request to subscribe;
 *   - the address acted on is the first address of the Reply-To field,
 *     else of From, else the envelope sender ($NEWSENDER);
 *   - the message itself, with an explanation and a note after each
 *     command saying what was done, goes to that address and to owner.
 *     So nobody can be subscribed behind their back without being told,
 *     and the owner sees every change.
 *
 * Only "&address" lines are ever added or removed; other lines stay as
 * they are. The new list is written to .qtemp-list, flushed to disk and
 * renamed over .qmail-list, so a reader sees the old list or the new one,
 * never half of one; .qmail-list-request is locked meanwhile, so two
 * requests never lose each other's change. The list file gets mode 0500:
 * its owner-execute bit tells qmail-local to accept only forwarding lines
 * in it (dot-qmail(5)), so an address can never turn into a program or
 * file delivery.
 *
 * Addresses of more than 100 bytes, with control characters, empty ones
 * and "#@[]" are refused (100). The header is kept (bounded: fields are
 * cut at 64 kB and the whole at 1 MB) to be sent back; the body is
 * streamed, so memory does not depend on the message.
 * Exit codes: 0 done, 100 usage or a refused address or a permanent
 * qmail-queue refusal, 111 temporary trouble. */
#include "mail/hdrscan.h"
#include "mail/qqclient.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/io.h"
#include "lib/sig.h"
#include "lib/str.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USAGE "usage: qlist list@host list-request@host .qmail-list .qmail-list-request .qtemp-list owner [moreinfo]"
#define ADDR_LIMIT 100           /* longest address qlist puts in a list */
#define FIELD_KEEP 65536         /* bytes kept of one header field */
#define SAVED_MAX (1024 * 1024)  /* header bytes sent back */
#define PIECE 8192               /* body is handled in pieces of lines */
#define LISTLINE_MAX 65536       /* longest line in the list file */

static const char *listaddr, *requestaddr, *listfile, *lockfile, *tempfile, *owner, *moreinfo;
static const char *target;
static int fdlock;
static int ncommands;
static qq q;

static void put(const char *s) { qq_puts(&q, s); }

static void banner(void)
{
	put("***** Note from ");
	put(requestaddr);
	put("\n*\n");
}

/* Write the list without target (unsubscribe) or with it (subscribe).
 * Returns 1 target was on the list before, 0 it was not, -1 trouble. */
static int rewrite(int add)
{
	buf line = BUF_INIT;
	io_in in;
	io_out out;
	int fdin, fdout, r, was = 0, ok = -1;
	size_t tlen = strlen(target);

	if (lock_ex(fdlock) < 0) return -1;
	fdin = open(listfile, O_RDONLY | O_CLOEXEC);
	if (fdin < 0 && errno != ENOENT) goto unlock;
	if (unlink(tempfile) < 0 && errno != ENOENT) goto closein;
	fdout = open(tempfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0500);
	if (fdout < 0) goto closein;
	out_init(&out, fdout, 0);
	if (fdin >= 0) {
		in_init(&in, fdin, 0);
		for (;;) {
			line.len = 0;
			r = in_getline(&in, &line, '\n', LISTLINE_MAX);
			if (r < 0) goto closeout;
			if (!line.len) break;
			if (line.s[line.len - 1] != '\n' && buf_putc(&line, '\n') < 0) goto closeout;
			if (line.len == tlen + 2 && line.s[0] == '&' && !memcmp(line.s + 1, target, tlen)) {
				was = 1;
				if (!add) continue;
			}
			if (out_put(&out, line.s, line.len) < 0) goto closeout;
			if (r == 0) break;
		}
	}
	if (add && !was && (out_put(&out, "&", 1) < 0 || out_puts(&out, target) < 0 || out_put(&out, "\n", 1) < 0))
		goto closeout;
	if (out_flush(&out) < 0 || fsync(fdout) < 0) goto closeout;
	if (close(fdout) < 0) { fdout = -1; goto closein; }
	fdout = -1;
	if (rename(tempfile, listfile) < 0) goto closein;
	if (fsync_parent(listfile) < 0) goto closein;
	ok = was;
closeout:
	if (fdout >= 0) { close(fdout); unlink(tempfile); }
closein:
	if (fdin >= 0) close(fdin);
unlock:
	lock_un(fdlock);
	buf_free(&line);
	return ok;
}

static void command(int add)
{
	int was;

	++ncommands;
	was = rewrite(add);
	banner();
	if (was < 0) {
		put("* Trouble: the list could not be updated just now. My owner gets a copy\n"
		    "* of this message and will see to it.\n");
	} else if (add) {
		put(was ? "* Done already: " : "* Done: ");
		put(target);
		put(was ? " was on the list before.\n" : " is now on the list.\n");
	} else if (was) {
		put("* Done: ");
		put(target);
		put(" is no longer on the list.\n");
	} else {
		put("* ");
		put(target);
		put(" was not on the list, so there was nothing to remove.\n"
		    "* My owner gets a copy of this message.\n");
	}
	put("*\n*****\n");
}

/* "subs" or "unsu" (any case) at the start of s[0..n): 1, 2 or 0. */
static int which(const char *s, size_t n)
{
	if (n >= 4 && case_eqn(s, "subs", 4)) return 1;
	if (n >= 4 && case_eqn(s, "unsu", 4)) return 2;
	return 0;
}

static void intro(void)
{
	put("\n");
	banner();
	put("* This is qlist, the program that keeps the subscriber list of\n* ");
	put(listaddr);
	put(".\n*\n");
	if (moreinfo) {
		put("* ");
		put(moreinfo);
		put("\n*\n");
	}
	put("* The person who looks after the list is ");
	put(owner);
	put(".\n*\n"
	    "* To the reader: this message came to me naming your address (in its\n"
	    "* Reply-To or From field, or as its sender). So that nobody is put on\n"
	    "* or taken off the list without knowing, I send it on to you, with my\n"
	    "* notes, and a copy to the list's owner.\n"
	    "*\n"
	    "* To join, send an empty message to ");
	put(requestaddr);
	put(".\n* To leave, send one with a line that begins with UNSUBSCRIBE.\n*\n"
	    "* Requests found in this message follow, each after its line.\n"
	    "*\n*****\n");
}

/* Bytes of the current line, up to PIECE or the LF: 1 piece (with *eol
 * when it ended the line), 0 end of input, -1 error. */
static int piece(io_in *in, buf *p, int *eol)
{
	ssize_t r;
	const char *start, *nl;
	size_t k;

	p->len = 0;
	*eol = 0;
	while (p->len < PIECE) {
		r = in_fill(in);
		if (r < 0) return -1;
		if (r == 0) break;
		start = in->b + in->pos;
		nl = memchr(start, '\n', in->len - in->pos);
		k = nl ? (size_t)(nl - start) + 1 : in->len - in->pos;
		if (k > PIECE - p->len) { k = PIECE - p->len; nl = 0; }
		if (buf_put(p, start, k) < 0) return -1;
		in->pos += k;
		if (nl) { *eol = 1; break; }
	}
	return p->len ? 1 : 0;
}

static int goodtarget(const char *t)
{
	size_t i, n = strlen(t);
	if (n > ADDR_LIMIT) return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] < 32 || t[i] == 127) return 0;
	return 1;
}

int main(int argc, char **argv)
{
	const char *newsender, *dtline;
	buf f = BUF_INIT, v = BUF_INIT, saved = BUF_INIT, rt = BUF_INIT, fr = BUF_INIT, why = BUF_INIT;
	addr_cfg cfg;
	int havecfg = 0, subject = 0, r, eol, atstart, cmd;
	io_in in;
	hdrscan h;

	err_prog = "qlist";
	sig_ignore(SIGPIPE);
	if (argc < 7 || argc > 8) err_die(EXIT_PERM, USAGE, (char *)0);
	listaddr = argv[1]; requestaddr = argv[2]; listfile = argv[3];
	lockfile = argv[4]; tempfile = argv[5]; owner = argv[6];
	moreinfo = argc == 8 ? argv[7] : 0;
	if (!(newsender = getenv("NEWSENDER"))) err_die(EXIT_PERM, "NEWSENDER not set", (char *)0);
	if (!(dtline = getenv("DTLINE"))) err_die(EXIT_PERM, "DTLINE not set", (char *)0);

	fdlock = open(lockfile, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fdlock < 0) err_dieerr(EXIT_TEMP, "unable to open the lock file ", lockfile, (char *)0);

	/* The header: kept to be sent back, and read for the addresses. */
	in_init(&in, 0, 0);
	hdrscan_init(&h, &in, FIELD_KEEP);
	while ((r = hdrscan_field(&h, &f)) == 1) {
		/* Our notes change the body: its old length and type are wrong. */
		if (hdrscan_is(&f, "Content-Length") || hdrscan_is(&f, "Content-Type")
		    || hdrscan_is(&f, "Content-Transfer-Encoding"))
			continue;
		if (hdrscan_is(&f, "Subject")) {
			if (hdrscan_value(&f, &v) < 0) err_nomem();
			subject = which(v.s, v.len);
		}
		if ((hdrscan_is(&f, "Reply-To") && !rt.len) || (hdrscan_is(&f, "From") && !fr.len)) {
			buf *to = hdrscan_is(&f, "From") ? &fr : &rt;
			if (!havecfg) {
				r = hdrscan_cfg(&cfg);
				if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the control files", (char *)0);
				if (r == 0) err_die(EXIT_TEMP, "defaulthost, defaultdomain or plusdomain is not a host name", (char *)0);
				havecfg = 1;
			}
			v.len = 0;
			if (!h.cut && hdrscan_addrs(&cfg, &f, &v) == 1 && v.len && v.s[0]
			    && buf_copys(to, v.s) < 0)
				err_nomem();
		}
		if (saved.len + f.len + 1 > SAVED_MAX) continue;
		if (buf_put(&saved, f.s, f.len) < 0) err_nomem();
		if (f.len && f.s[f.len - 1] != '\n' && buf_putc(&saved, '\n') < 0) err_nomem();
	}
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the message", (char *)0);

	target = rt.len ? rt.s : fr.len ? fr.s : newsender;
	if (!*target || !strcmp(target, "#@[]")) err_die(EXIT_PERM, "this looks like a bounce; qlist does not answer bounces", (char *)0);
	if (!goodtarget(target)) err_die(EXIT_PERM, "the address to act on is too long or has control characters", (char *)0);

	if (qq_open(&q, 0) < 0) err_dieerr(EXIT_TEMP, "unable to run qmail-queue", (char *)0);
	put(dtline);
	qq_put(&q, saved.s, saved.len);
	intro();

	/* The body: each line passes through; a command acts after its line. */
	atstart = 1;
	cmd = 0;
	for (;;) {
		if (h.bodyline) {
			/* The scanner already took the body's first line (or its start). */
			h.bodyline = 0;
			if (buf_copy(&v, f.s, f.len) < 0) err_nomem();
			eol = v.len && v.s[v.len - 1] == '\n';
		} else {
			r = piece(&in, &v, &eol);
			if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the message", (char *)0);
			if (r == 0) break;
		}
		if (atstart) cmd = which(v.s, v.len);
		qq_put(&q, v.s, v.len);
		atstart = eol;
		if (eol && cmd) { command(cmd == 1); cmd = 0; }
	}
	if (cmd) { put("\n"); command(cmd == 1); }
	if (!ncommands) {
		banner();
		if (subject) put("* No request in the body; the Subject line says what to do.\n*\n*****\n");
		else put("* No request in the message: I take it as a request to join.\n*\n*****\n");
		command(subject != 2);
	}

	qq_from(&q, newsender);
	qq_to(&q, owner, strlen(owner));
	qq_to(&q, target, strlen(target));
	r = qq_close(&q, &why);
	if (r) err_die(r == 'D' ? EXIT_PERM : EXIT_TEMP, why.s, (char *)0);
	return 0;
}
