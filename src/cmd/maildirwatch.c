/* maildirwatch: show the new mail of a Maildir, refreshed twice a minute.
 *
 *   MAILDIR=dir maildirwatch
 *
 * Meant for a terminal window of its own (VT100 escapes): every 30
 * seconds it clears the window and lists each message in MAILDIR/new,
 * oldest first, as
 *   FROM <envelope sender> TO <envelope recipient>
 *   From: field (in bold)
 *   Subject and the start of the body (two lines' worth)
 * The envelope comes from the Return-Path and Delivered-To lines that
 * delivery put on top. Every byte that is not printable ASCII is shown as
 * '?' or '/', so a message cannot send escape sequences to the terminal.
 * Files left in MAILDIR/tmp for 36 hours are removed, as maildir(5) asks
 * of a reader.
 *
 * Each message's header is read with every field cut to a few kilobytes,
 * and only 158 bytes of summary are kept: memory does not depend on the
 * messages. Runs until killed; exit 111 when MAILDIR cannot be read. */
#include "mail/hdrscan.h"
#include "mail/header.h"
#include "mail/mdlist.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/io.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PERIOD 30            /* seconds between summaries */
#define TEXT_MAX 158         /* bytes of Subject and body shown */
#define FIELD_KEEP 4096      /* bytes kept of one header field */
#define LINE_MAX_ 400        /* bytes shown of a From: field or an address */

static void clean(buf *b, char bad)
{
	size_t i;
	for (i = 0; i < b->len; i++)
		if ((unsigned char)b->s[i] < 32 || (unsigned char)b->s[i] > 126) b->s[i] = bad;
}

static void addtext(buf *t, const char *s, size_t n)
{
	if (t->len >= TEXT_MAX) return;
	if (n > TEXT_MAX - t->len) n = TEXT_MAX - t->len;
	if (buf_put(t, s, n) < 0) err_nomem();
}

/* The summary of one message, written to out. */
static void one(io_out *out, const char *name)
{
	buf f = BUF_INIT, v = BUF_INIT, sender = BUF_INIT, rcpt = BUF_INIT, from = BUF_INIT, text = BUF_INIT;
	io_in in;
	hdrscan h;
	int fd, r;
	char c;

	fd = open(name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) return;                 /* read and moved meanwhile */
	if (buf_copys(&sender, "?") < 0 || buf_copys(&rcpt, "?") < 0) err_nomem();
	in_init(&in, fd, 0);
	hdrscan_init(&h, &in, FIELD_KEEP);
	while ((r = hdrscan_field(&h, &f)) == 1) {
		if (hdrscan_value(&f, &v) < 0) err_nomem();
		if (v.len > LINE_MAX_) buf_trunc(&v, LINE_MAX_);
		if (hdrscan_is(&f, "Subject")) {
			addtext(&text, v.s, v.len);
			addtext(&text, "\n", 1);
		} else if (hdrscan_is(&f, "Delivered-To")) {
			if (buf_copy(&rcpt, v.s, v.len) < 0) err_nomem();
		} else if (hdrscan_is(&f, "Return-Path")) {
			if (buf_copy(&sender, v.s, v.len) < 0) err_nomem();
		} else if (hdrscan_is(&f, "From")) {
			if (header_unfold(&from, f.s, f.len) < 0) err_nomem();
			if (from.len > LINE_MAX_) buf_trunc(&from, LINE_MAX_);
		}
	}
	if (r == 0 && h.bodyline) addtext(&text, f.s, f.len);
	while (r == 0 && text.len < TEXT_MAX && in_getc(&in, &c) == 1) addtext(&text, &c, 1);
	close(fd);
	clean(&sender, '?');
	clean(&rcpt, '?');
	clean(&from, '/');
	clean(&text, '/');
	out_puts(out, "FROM ");
	out_put(out, sender.s, sender.len);
	out_puts(out, " TO <");
	out_put(out, rcpt.s, rcpt.len);
	out_puts(out, ">\n");
	if (from.len) {
		out_puts(out, "\033[1m");
		out_put(out, from.s, from.len);
		out_puts(out, "\033[0m\n");
	}
	out_put(out, text.s, text.len);
	out_puts(out, "\n\n");
	buf_free(&f); buf_free(&v); buf_free(&sender); buf_free(&rcpt); buf_free(&from); buf_free(&text);
}

int main(void)
{
	const char *maildir, *what;
	mdlist l = MDLIST_INIT;
	io_out out;
	size_t i;

	err_prog = "maildirwatch";
	if (!(maildir = getenv("MAILDIR")) || !*maildir) err_die(EXIT_TEMP, "MAILDIR not set", (char *)0);
	if (chdir(maildir) < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", maildir, (char *)0);
	out_init(&out, 1, 0);
	for (;;) {
		(void)mdlist_cleantmp(time(0));
		if (mdlist_scan(&l, 0, &what) < 0) err_dieerr(EXIT_TEMP, "unable to scan $MAILDIR/", what, (char *)0);
		out_puts(&out, "\033[;H\033[;J");
		for (i = 0; i < l.n; i++) one(&out, mdlist_name(&l, i));
		if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write the summary", (char *)0);
		sleep(PERIOD);
	}
}
