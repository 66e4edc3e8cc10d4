/* logparse: one line of qmail-send's activity record (qmail-log(5)) as
 * it is found on disk, taken apart: the time stamp that the logger put in
 * front of it, then the event the line reports.
 *
 * Stamps understood (at the start of the line):
 *   @4000000065a1b2c30b2d4f00 text   multilog t (TAI64N, 24 hex digits)
 *   1704164645.123456 text           accustamp, and splogger inside syslog
 *   2024-01-02 03:04:05.123456789 text   tai64nlocal (local time)
 *   Jan  2 03:04:05 host tag[pid]: ...   syslog (BSD form, no year)
 *   2024-01-02T03:04:05.123+01:00 host tag: ...   syslog (RFC 3339 form)
 * After a syslog prefix, splogger's own "seconds.micro " stamp is used
 * when present (it has a year and microseconds); splogger's continuation
 * pieces ("STAMP+text", for lines it had to cut) are flagged as such.
 * A line with no stamp at all is taken as it is (a plain file).
 *
 * Events: everything qmail-send writes, in the forms of qmail 1.0x and of
 * nqmail, with the fields that older versions leave out (qp, uid, the
 * channel of a delivery, the trailing '/') optional. Nothing here
 * allocates: the text fields point into the line. */
#ifndef NQ_LOGPARSE_H
#define NQ_LOGPARSE_H
#include <stddef.h>

enum {
	LE_OTHER,       /* not a qmail-send line we know */
	LE_NEW,         /* new msg M */
	LE_INFO,        /* info msg M: bytes B from <S> qp Q uid U */
	LE_START,       /* starting delivery D: msg M to local|remote R */
	LE_SUCCESS,     /* delivery D: success: TEXT */
	LE_FAILURE,     /* delivery D: failure: TEXT */
	LE_DEFERRAL,    /* delivery D: deferral: TEXT (and "report mangled") */
	LE_BOUNCE,      /* bounce msg M qp Q */
	LE_TRIPLE,      /* triple bounce: discarding bounce/M */
	LE_END,         /* end msg M */
	LE_STATUS,      /* status: local l/L remote r/R */
	LE_EXITING,     /* status: exiting */
	LE_ALERT,       /* alert: TEXT */
	LE_WARNING      /* warning: TEXT */
};

/* What a file's earlier lines tell about the later ones: the year that a
 * BSD syslog stamp leaves out, and a cache of local-time conversions. */
struct logctx {
	int year;               /* 0: not yet guessed */
	int lastmon;            /* month of the last BSD stamp, -1 none */
	long long ckey;         /* cached local hour: YYYYMMDDHH */
	long long cval;         /* its epoch seconds */
	int cdst;
};
#define LOGCTX_INIT {0, -1, -1, 0, 0}

struct logline {
	int ev;
	int hast;               /* 1: t is set */
	int cont;               /* a splogger continuation piece: text continues the previous line */
	long long t;            /* microseconds since 1970 (UTC) */
	unsigned long long msg, del, bytes, qp, uid;
	int hasqp, hasuid;
	int chan;               /* LE_START: 0 local, 1 remote, -1 not said */
	unsigned long lused, lmax, rused, rmax;   /* LE_STATUS */
	const char *text;       /* sender (INFO), recipient (START), reason, alert text */
	size_t textlen;
	const char *body;       /* the line after its stamps */
	size_t bodylen;
};

/* Parse the stamp(s) of s[0..n) (no line end) into l->t, l->hast,
 * l->cont, l->body. Never fails: without a stamp the body is the line. */
void logparse_stamp(struct logctx *c, const char *s, size_t n, struct logline *l);
/* Classify l->body into l->ev and the fields. */
void logparse_event(struct logline *l);
/* Both. */
void logparse_line(struct logctx *c, const char *s, size_t n, struct logline *l);

/* The epoch seconds of a broken-down local time, through c's cache
 * (mon 0-11). -1 when out of range. */
long long logparse_local(struct logctx *c, int year, int mon, int day, int hour, int min, int sec);

#endif
