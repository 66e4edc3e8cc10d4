/* bouncesaying: bounce the message with a given text, perhaps only when
 * a program says so.
 *
 *   in .qmail:  | bouncesaying error [program [arg ...]]
 *
 * Without a program, every message is bounced: bouncesaying prints error
 * (qmail-local puts it in the bounce) and exits 100. With one, program
 * (found in PATH, run without a shell) reads the message on its standard
 * input and decides:
 *   0     bounce, as above;
 *   111   bouncesaying exits 111: the delivery is tried again later;
 *   other bouncesaying exits 0 (also when program cannot be run), so the
 *         rest of the .qmail file is followed as usual.
 * A program that crashes is a temporary failure (111). */
#include "lib/child.h"
#include "lib/err.h"
#include "lib/io.h"
#include <unistd.h>

int main(int argc, char **argv)
{
	buf text = BUF_INIT;
	pid_t pid;
	int code;

	err_prog = "bouncesaying";
	if (argc < 2) err_die(EXIT_PERM, "usage: bouncesaying error [program [arg ...]]", (char *)0);
	if (argc > 2) {
		pid = child_start(argv + 2, -1);
		if (pid < 0) err_dieerr(EXIT_TEMP, "unable to start ", argv[2], (char *)0);
		code = child_wait(pid);
		if (code == CHILD_WAITERR) err_dieerr(EXIT_TEMP, "unable to wait for ", argv[2], (char *)0);
		if (code == CHILD_CRASHED) err_die(EXIT_TEMP, argv[2], " crashed", (char *)0);
		if (code == 111) err_die(EXIT_TEMP, "temporary failure of ", argv[2], (char *)0);
		if (code != 0) return 0;
	}
	/* The text alone, without "bouncesaying: ": it is the bounce's reason. */
	if (buf_copys(&text, argv[1]) < 0 || buf_putc(&text, '\n') < 0) err_nomem();
	(void)write_all(2, text.s, text.len);
	return EXIT_PERM;
}
