/* qmail-tcpok: clear qmail-remote's table of hosts that timed out.
 *
 * qmail-remote remembers in DIR/queue/lock/tcpto which remote hosts did
 * not answer, so it does not wait for them again soon (qmail-tcpto(8)
 * shows the table). qmail-tcpok forgets all of them: it empties the file
 * under an exclusive lock, so a qmail-remote updating the table at the
 * same time never sees half of it. An empty table means "no host is known
 * to time out", whatever the size qmail-remote gives its table.
 * `qmailctl flush` runs it before telling qmail-send to retry now.
 *
 * It must run as root or as the owner of the table (qmailr; the owner in a
 * single-user instance). */
#include "lib/err.h"
#include "lib/fs.h"
#include "mail/instance.h"
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	err_prog = "qmail-tcpok";
	if (argc > 1) err_die(EXIT_PERM, "usage: qmail-tcpok", (char *)0);
	nq_chdir_home();
	fd = open("queue/lock/tcpto", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) err_dieerr(EXIT_TEMP, "unable to open queue/lock/tcpto", (char *)0);
	if (lock_ex(fd) < 0) err_dieerr(EXIT_TEMP, "unable to lock queue/lock/tcpto", (char *)0);
	if (ftruncate(fd, 0) < 0) err_dieerr(EXIT_TEMP, "unable to clear queue/lock/tcpto", (char *)0);
	if (fsync(fd) < 0) err_dieerr(EXIT_TEMP, "unable to write queue/lock/tcpto", (char *)0);
	if (close(fd) < 0) err_dieerr(EXIT_TEMP, "unable to write queue/lock/tcpto", (char *)0);
	return 0;
}
