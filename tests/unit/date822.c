/* Unit tests for src/mail/date822.c: qmail's date format, checked
 * against the C library's calendar over a wide range of times. */
#include "tap.h"
#include "mail/date822.h"
#include <string.h>
#include <time.h>

static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* The same date, built from gmtime_r with snprintf (fine in a test). */
static void reference(char *s, size_t n, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(s, n, "%d %s %d %02d:%02d:%02d -0000", tm.tm_mday, mon[tm.tm_mon],
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int main(void)
{
	char got[DATE822_MAX], want[64];
	long long t;
	int bad = 0;

	ok(date822_fmt(got, 0) == 25 && strcmp(got, "1 Jan 1970 00:00:00 -0000") == 0, "epoch");
	date822_fmt(got, 1795971600);
	ok(strcmp(got, "29 Nov 2026 17:00:00 -0000") == 0, "29 Nov 2026 17:00:00");
	date822_fmt(got, 951782400);
	ok(strcmp(got, "29 Feb 2000 00:00:00 -0000") == 0, "leap day of 2000");
	date822_fmt(got, -1);
	ok(strcmp(got, "31 Dec 1969 23:59:59 -0000") == 0, "one second before the epoch");
	/* Every 7 hours 13 minutes and 17 seconds from 1900 to 2200. */
	for (t = -2208988800LL; t < 7258118400LL; t += 25997) {
		date822_fmt(got, (time_t)t);
		reference(want, sizeof want, (time_t)t);
		if (strcmp(got, want) != 0) { bad++; if (bad < 5) printf("# %s != %s\n", got, want); }
	}
	ok(bad == 0, "agrees with gmtime_r from 1900 to 2200");
	ok(date822_fmt(got, (time_t)-100000000000LL) == 25 && strcmp(got, "1 Jan 1970 00:00:00 -0000") == 0,
	   "a year before 0 shows the epoch");
	return done_testing();
}
