/* envelope: qmail's envelope format, checked as it streams and parsed
 * when whole.
 *
 * What a program hands to qmail-queue on its fd 1:
 *     "F" sender NUL, then "T" recipient NUL per recipient, then a NUL.
 * What qmail-queue stores in intd/N and todo/N (src/mail/queue.h): the
 * same records preceded by "u" uid NUL and "p" pid NUL.
 *
 * The scanner (envscan) checks the first form one chunk at a time, so a
 * caller never has to hold an envelope in memory: it says how many of
 * the bytes it was given belong to the envelope and whether the envelope
 * is complete, malformed, cut short, or has an address over
 * ENVELOPE_ADDR_MAX.
 * The parser (envelope_parse) reads a whole stored envelope (a todo/N
 * file) and points into the caller's bytes; env_next walks its records.
 * Both accept any byte but NUL inside an address: addresses are checked
 * for meaning by the programs that use them. */
#ifndef NQ_ENVELOPE_H
#define NQ_ENVELOPE_H
#include <stddef.h>

/* Longest address accepted, in bytes (without the type letter and NUL).
 * qmail's limit, kept so that what qmail accepted we accept. */
#define ENVELOPE_ADDR_MAX 1002

enum {
	ENV_MORE = 0,        /* all bytes used; the envelope is not finished */
	ENV_DONE = 1,        /* the final NUL was seen */
	ENV_EFORMAT = -1,    /* not an envelope (qmail-queue exits 91) */
	ENV_ETOOLONG = -2,   /* an address is too long (qmail-queue exits 11) */
	ENV_ETRUNC = -3      /* input ended before the final NUL (qmail-queue,
	                      * as qmail's, exits 54: it could not read it) */
};

typedef struct envscan {
	int state;               /* private: where in the grammar we are */
	size_t len;              /* bytes of the address being read */
	unsigned long rcpts;     /* recipients seen so far */
} envscan;

void envscan_init(envscan *e);
/* Scan the next n bytes. *used is set to the number of bytes that belong
 * to the envelope: n for ENV_MORE, up to and including the final NUL for
 * ENV_DONE, and up to and including the offending byte for an error.
 * After ENV_DONE or an error, further calls return the same result and
 * use nothing. */
int envscan_feed(envscan *e, const char *p, size_t n, size_t *used);
/* End of input: ENV_DONE if the envelope was complete, the error already
 * found if any, else ENV_ETRUNC. */
int envscan_eof(const envscan *e);

/* One record: its type letter and its value (not NUL-terminated by
 * this structure, though in a stored envelope s[len] is the NUL). */
typedef struct envrec {
	char type;
	const char *s;
	size_t len;
} envrec;

/* Next record of p[0..n) starting at *pos. Returns 1 and advances *pos
 * past the record's NUL; 0 at the end (an empty record, i.e. the final
 * NUL, or *pos == n); -1 when the bytes at *pos are not a NUL-terminated
 * record. */
int env_next(const char *p, size_t n, size_t *pos, envrec *r);

/* A whole stored envelope: optional u and p records, then F, then one
 * or more T records, then an optional final NUL (qmail's own queue
 * files end without it, ours with it; nothing may follow it). */
typedef struct envelope {
	unsigned long uid, pid;
	int has_uid, has_pid;
	const char *sender;       /* points into the caller's bytes */
	size_t senderlen;
	const char *rcpts;        /* the T records, "Taddr\0" each */
	size_t rcptslen;
	unsigned long nrcpts;
} envelope;

/* 0 ok, -1 malformed (errno EINVAL) or an address over the limit
 * (errno ERANGE). Iterate the recipients with env_next on rcpts. */
int envelope_parse(envelope *e, const char *p, size_t n);

#endif
