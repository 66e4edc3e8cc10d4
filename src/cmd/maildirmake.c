/* maildirmake: create an empty Maildir.
 *
 *   maildirmake dir
 *
 * Makes dir and its tmp, new and cur subdirectories, each mode 0700, as
 * maildirmake(1) describes. An existing dir is refused: making a Maildir
 * never touches one that is there already. Exit 0, or 111 with a message. */
#include "mail/maildir.h"
#include "lib/err.h"

int main(int argc, char **argv)
{
	const char *what;

	err_prog = "maildirmake";
	if (argc != 2 || !argv[1][0]) err_die(EXIT_PERM, "usage: maildirmake name", (char *)0);
	if (maildir_make(argv[1], &what) < 0)
		err_dieerr(EXIT_TEMP, "unable to make ", argv[1], what == argv[1] ? "" : "/",
		           what == argv[1] ? "" : what, (char *)0);
	return 0;
}
