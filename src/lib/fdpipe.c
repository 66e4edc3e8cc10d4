/* fdpipe: close-on-exec pipes above a given descriptor number. */
#include "lib/fdpipe.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int pipe_above(int p[2], int min)
{
	int t[2], i, e;

	if (pipe2(t, O_CLOEXEC) < 0) return -1;
	for (i = 0; i < 2; i++) {
		p[i] = fcntl(t[i], F_DUPFD_CLOEXEC, min);
		if (p[i] < 0) {
			e = errno;
			if (i) close(p[0]);
			close(t[0]);
			close(t[1]);
			errno = e;
			return -1;
		}
	}
	close(t[0]);
	close(t[1]);
	return 0;
}
