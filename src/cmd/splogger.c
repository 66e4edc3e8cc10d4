/* splogger: make entries in syslog (splogger(8)).
 *
 *     splogger [tag [fac]]
 *
 * Each line of standard input becomes one syslog entry "STAMP text", with
 * STAMP the time the line began as seconds.microseconds since the epoch.
 * The tag defaults to "splogger"; fac is a facility number (default 2,
 * mail), as syslog.conf's facility order numbers them. A line starting
 * "alert:" is logged at LOG_ALERT, "warning:" at LOG_WARNING, anything else
 * at LOG_INFO. Unprintable bytes become '?', empty lines are skipped, and a
 * line longer than 800 bytes is cut into pieces, each further piece marked
 * "STAMP+text", because syslog cannot take long messages. At end of input
 * splogger exits 0. It is qmail-start's logger for qmail-send's log. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#define PIECE 800   /* bytes per syslog entry, NUL included */

static char line[PIECE];
static size_t len;
static int cont;        /* the next piece continues a cut line */
static int prio;
static char stamp[48];

static void makestamp(void)
{
	struct timeval tv;
	size_t n;
	char us[24];
	size_t k, i;

	gettimeofday(&tv, 0);
	n = fmt_ulong(stamp, (unsigned long long)tv.tv_sec);
	stamp[n++] = '.';
	k = fmt_ulong(us, (unsigned long long)tv.tv_usec);
	for (i = k; i < 6; i++) stamp[n++] = '0';
	memcpy(stamp + n, us, k + 1);
}

static void flush(void)
{
	if (!len) return;
	line[len] = 0;
	if (cont)
		syslog(prio, "%s+%s", stamp, line);
	else {
		makestamp();
		prio = LOG_INFO;
		if (str_start(line, "warning:")) prio = LOG_WARNING;
		if (str_start(line, "alert:")) prio = LOG_ALERT;
		syslog(prio, "%s %s", stamp, line);
		cont = 1;
	}
	len = 0;
}

int main(int argc, char **argv)
{
	io_in in;
	int fac = LOG_MAIL;
	const char *tag = "splogger";
	char c;
	int r;

	err_prog = "splogger";
	if (argc > 1 && *argv[1]) tag = argv[1];
	if (argc > 2 && *argv[2]) {
		unsigned long f;
		if (str_toul(argv[2], &f) < 0 || f > 23) err_die(EXIT_PERM, "usage: splogger [tag [fac]]", (char *)0);
		fac = (int)(f << 3);
	}
	openlog(tag, 0, fac);
	in_init(&in, 0, 0);
	while ((r = in_getc(&in, &c)) > 0) {
		if (c == '\n') { flush(); cont = 0; continue; }
		if (len == PIECE - 1) flush();
		if ((unsigned char)c < 32 || (unsigned char)c > 126) c = '?';
		line[len++] = c;
	}
	flush();
	return r < 0 ? EXIT_TEMP : 0;
}
