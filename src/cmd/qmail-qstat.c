/* qmail-qstat: how many messages are in the queue, and how many of them
 * qmail-send has not yet preprocessed (qmail-qstat(8)). Prints qmail's
 * two lines exactly:
 *     messages in queue: N
 *     messages in queue but not yet preprocessed: M
 * N counts the files under queue/mess/S/ (every message, including one a
 * qmail-queue is still writing), M the files in queue/todo/.
 * The queue is readable only by root and the qmail group; anyone else
 * gets a message saying so and exit 111. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/queue.h"
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

static _Noreturn void die_read(const char *dir)
{
	if (errno == EACCES || errno == EPERM)
		err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/queue/", dir,
		           " (qmail-qstat must run as root or with group qmail)", (char *)0);
	err_dieerr(EXIT_TEMP, "unable to read ", nq_home(), "/queue/", dir, (char *)0);
}

/* Entries of dir, not counting dot files. */
static unsigned long count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned long n = 0;

	if (!d) die_read(dir);
	errno = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') n++;
	if (errno) die_read(dir);
	closedir(d);
	return n;
}

int main(void)
{
	unsigned long mess = 0, todo;
	buf dir = BUF_INIT;
	io_out out;
	char num[24];
	int s;

	err_prog = "qmail-qstat";
	if (chdir(nq_home()) < 0) err_dieerr(EXIT_TEMP, "unable to switch to ", nq_home(), (char *)0);
	if (chdir("queue") < 0) die_read("");
	for (s = 0; s < QUEUE_SPLIT; s++) {
		if (buf_copys(&dir, "mess/") < 0 || buf_putnum(&dir, (unsigned long long)s) < 0) err_nomem();
		mess += count(dir.s);
	}
	todo = count("todo");

	out_init(&out, 1, 0);
	if (out_puts(&out, "messages in queue: ") < 0 ||
	    out_put(&out, num, fmt_ulong(num, mess)) < 0 ||
	    out_puts(&out, "\nmessages in queue but not yet preprocessed: ") < 0 ||
	    out_put(&out, num, fmt_ulong(num, todo)) < 0 ||
	    out_puts(&out, "\n") < 0 || out_flush(&out) < 0)
		err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	return 0;
}
