/* date822: formatting of qmail's RFC 822 dates, without stdio, locale or
 * time zone files. */
#include "mail/date822.h"
#include "lib/str.h"
#include <string.h>

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static size_t two(char *s, int n)
{
	s[0] = (char)('0' + n / 10 % 10);
	s[1] = (char)('0' + n % 10);
	return 2;
}

/* Days since 1970-01-01 to year, month (1-12), day: the proleptic
 * Gregorian calendar, in 400-year eras of 146097 days. Done here rather
 * than with gmtime_r, which in glibc reads /etc/localtime for nothing:
 * one file open less per queued message. */
static void civil(long long days, long long *y, int *m, int *d)
{
	long long era, doe, yoe, doy, mp;

	days += 719468;                       /* shift the epoch to 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

size_t date822_fmt(char *s, time_t t)
{
	long long days, secs, y;
	int m, d;
	size_t n = 0;

	days = (long long)t / 86400;
	secs = (long long)t % 86400;
	if (secs < 0) { secs += 86400; days--; }
	civil(days, &y, &m, &d);
	/* A year before 0 would not print as digits (nor one beyond 9999
	 * in the room we promise): show the epoch rather than garbage. */
	if (y < 0 || y > 9999) { y = 1970; m = 1; d = 1; secs = 0; }
	n += fmt_ulong(s + n, (unsigned long long)d);
	s[n++] = ' ';
	memcpy(s + n, months + 3 * (m - 1), 3);
	n += 3;
	s[n++] = ' ';
	n += fmt_ulong(s + n, (unsigned long long)y);
	s[n++] = ' ';
	n += two(s + n, (int)(secs / 3600));
	s[n++] = ':';
	n += two(s + n, (int)(secs / 60 % 60));
	s[n++] = ':';
	n += two(s + n, (int)(secs % 60));
	memcpy(s + n, " -0000", 7);
	return n + 6;
}
