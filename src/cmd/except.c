/* except: run a program and turn its success into a failure.
 *
 *   except program [arg ...]
 *
 * For .qmail lines that need the opposite test: "| condredirect x except
 * grep -q ..." forwards every message the grep does not match.
 * program (found in PATH, run without a shell) exits
 *   0     except exits 100;
 *   111   except exits 111;
 *   other except exits 0 (also when program cannot be run).
 * A program that crashes gives 111. Usage errors exit 100. */
#include "lib/child.h"
#include "lib/err.h"

int main(int argc, char **argv)
{
	pid_t pid;
	int code;

	err_prog = "except";
	if (argc < 2) err_die(EXIT_PERM, "usage: except program [arg ...]", (char *)0);
	pid = child_start(argv + 1, -1);
	if (pid < 0) err_dieerr(EXIT_TEMP, "unable to start ", argv[1], (char *)0);
	code = child_wait(pid);
	if (code == CHILD_WAITERR) err_dieerr(EXIT_TEMP, "unable to wait for ", argv[1], (char *)0);
	if (code == CHILD_CRASHED) err_die(EXIT_TEMP, argv[1], " crashed", (char *)0);
	if (code == 0) return EXIT_PERM;
	if (code == 111) return EXIT_TEMP;
	return 0;
}
