/* resend: a message from a descriptor back into the queue (see resend.h). */
#include "mail/resend.h"
#include "mail/qqclient.h"
#include "lib/io.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

int resend(int fd, const char *dtline, const char *sender, char *const *rcpt, size_t n,
           unsigned long *qp, buf *why)
{
	char b[IO_BUFSIZE];
	qq q;
	size_t i;
	ssize_t r;

	if (qq_open(&q, 0) < 0) {
		buf_copys(why, "unable to run qmail-queue (#4.3.0)");
		return 'Z';
	}
	*qp = (unsigned long)q.pid;
	qq_puts(&q, dtline);
	for (;;) {
		r = read(fd, b, sizeof b);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) {
			/* Ending the envelope early makes qmail-queue refuse the
			 * message instead of queueing a truncated copy. */
			q.failed = 1;
			qq_close(&q, why);
			buf_copys(why, "unable to read the message (#4.3.0)");
			return 'Z';
		}
		if (r == 0) break;
		qq_put(&q, b, (size_t)r);
	}
	qq_from(&q, sender);
	for (i = 0; i < n; i++) qq_to(&q, rcpt[i], strlen(rcpt[i]));
	return qq_close(&q, why);
}
