/* date822: dates as qmail writes them in mail headers and the queue
 * listing, always in UTC: "29 Nov 2026 17:00:00 -0000" (day not padded,
 * "-0000" saying the local zone is not known, RFC 5322 section 3.3). */
#ifndef NQ_DATE822_H
#define NQ_DATE822_H
#include <stddef.h>
#include <time.h>

/* Room for any date date822_fmt writes, with its NUL. */
#define DATE822_MAX 40

/* Writes the date of t into s (at least DATE822_MAX bytes), NUL-terminated,
 * and returns its length. The last 6 bytes are always " -0000", so a
 * caller that wants the bare UTC time drops them. */
size_t date822_fmt(char *s, time_t t);

#endif
