/* qmail-qread: list the messages qmail-send has taken into its queue and
 * the recipients still under consideration (qmail-qread(8)), in qmail's
 * format, one block per message:
 *     29 Nov 2026 17:00:00 GMT  #N  SIZE  <sender>  bouncing
 *     \tlocal\trecipient
 *       done\tremote\trecipient
 * The date is when qmail-send preprocessed the message (its info file),
 * SIZE the bytes of mess/S/N, "bouncing" appears while a bounce is being
 * collected, and "  done" marks a recipient already delivered or bounced.
 * As qmail's, it lists messages from info/: one still in todo/ has no
 * local/remote split yet (qmail-qstat counts those).
 * Bytes outside printable ASCII are shown as '_', so an address cannot
 * play tricks on the terminal. Reading info/ needs root or qmails. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/date822.h"
#include "mail/envelope.h"
#include "mail/instance.h"
#include "mail/queue.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_MAX (ENVELOPE_ADDR_MAX + 2)  /* type letter, address, NUL */

static io_out out;

static _Noreturn void die_write(void)
{
	err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}

static _Noreturn void die_queue(const char *what)
{
	if (errno == EACCES || errno == EPERM)
		err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/queue/", what,
		           " (qmail-qread must run as root or as qmails)", (char *)0);
	err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/queue/", what, (char *)0);
}

static void put(const char *s, size_t n)
{
	if (out_put(&out, s, n) < 0) die_write();
}

static void puts_ok(const char *s)
{
	if (out_puts(&out, s) < 0) die_write();
}

/* Untrusted bytes: printable ASCII as is, anything else as '_'. */
static void put_safe(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		char c = (s[i] >= 32 && s[i] <= 126) ? s[i] : '_';
		put(&c, 1);
	}
}

static void trouble(unsigned long num)
{
	char n[24];
	if (errno == ENOENT) return;         /* finished while we looked */
	fmt_ulong(n, num);
	err_warnerr("warning: trouble with #", n, (char *)0);
}

/* The first record of a file (NUL-terminated, at most RECORD_MAX bytes
 * kept) into line; the file's status into st. 0 ok, -1 error. */
static int first_record(const char *fn, buf *line, struct stat *st)
{
	io_in in;
	int fd = open(fn, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) return -1;
	if (fstat(fd, st) < 0) { close(fd); return -1; }
	in_init(&in, fd, 0);
	line->len = 0;
	r = in_getline(&in, line, 0, RECORD_MAX);
	close(fd);
	if (r < 0 && errno != ERANGE) return -1;
	return 0;
}

/* One line per recipient of local/S/N or remote/S/N. */
static void recipients(unsigned long num, const char *dir, const char *tag, buf *fn, buf *line)
{
	io_in in;
	int fd, r;

	queue_fn(fn, dir, num);
	fd = open(fn->s, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		trouble(num);
		return;
	}
	in_init(&in, fd, 0);
	for (;;) {
		line->len = 0;
		r = in_getline(&in, line, 0, RECORD_MAX);
		if (r == 0) break;               /* a record without NUL is not one */
		if (r < 0 && errno != ERANGE) { trouble(num); break; }
		if (line->len == 0) continue;
		if (line->s[0] == 'D') puts_ok("  done");
		else if (line->s[0] != 'T') continue;
		puts_ok(tag);
		/* The NUL ends the record; a cut record shows what we kept. */
		put_safe(line->s + 1, line->len - 1 - (line->s[line->len - 1] == 0));
		puts_ok("\n");
	}
	close(fd);
}

static void message(unsigned long num, buf *fn, buf *line)
{
	struct stat st;
	char date[DATE822_MAX], n[24];
	unsigned long long size;
	size_t dl;
	int bouncing;

	if (stat(queue_fn(fn, "mess", num), &st) < 0) { trouble(num); return; }
	size = (unsigned long long)st.st_size;
	bouncing = stat(queue_fn(fn, "bounce", num), &st) == 0;
	if (first_record(queue_fn(fn, "info", num), line, &st) < 0) { trouble(num); return; }

	dl = date822_fmt(date, st.st_mtime);
	put(date, dl - 6);                   /* without " -0000" */
	puts_ok(" GMT  #");
	put(n, fmt_ulong(n, num));
	puts_ok("  ");
	put(n, fmt_ulong(n, size));
	puts_ok("  <");
	if (line->len && line->s[0] == 'F')
		put_safe(line->s + 1, line->len - 1 - (line->s[line->len - 1] == 0));
	puts_ok("> ");
	if (bouncing) puts_ok(" bouncing");
	puts_ok("\n");

	recipients(num, "local", "\tlocal\t", fn, line);
	recipients(num, "remote", "\tremote\t", fn, line);
}

int main(void)
{
	buf dir = BUF_INIT, fn = BUF_INIT, line = BUF_INIT;
	int s;

	err_prog = "qmail-qread";
	if (chdir(nq_home()) < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), (char *)0);
	if (chdir("queue") < 0) die_queue("");
	out_init(&out, 1, 0);
	for (s = 0; s < QUEUE_SPLIT; s++) {
		DIR *d;
		struct dirent *e;
		if (buf_copys(&dir, "info/") < 0 || buf_putnum(&dir, (unsigned long long)s) < 0) err_nomem();
		if (!(d = opendir(dir.s))) die_queue(dir.s);
		while ((e = readdir(d))) {
			unsigned long num;
			if (str_toul(e->d_name, &num) < 0) continue;
			message(num, &fn, &line);
		}
		closedir(d);
	}
	if (out_flush(&out) < 0) die_write();
	return 0;
}
