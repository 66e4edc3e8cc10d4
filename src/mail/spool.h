/* spool: where qmail-smtpd keeps a message between the end of DATA and
 * qmail-queue, so that what is learnt from the whole message (DKIM, DMARC,
 * later a milter's verdict) can still change the header written in front
 * of it, or refuse it before anything is queued.
 *
 * The first SPOOL_MEM_MAX bytes stay in memory; a larger message goes on
 * into an unlinked temporary file (O_TMPFILE in the directory given, else
 * a memfd), so memory stays bounded whatever the message's size. The file
 * is not fsynced: it only has to live as long as this SMTP transaction;
 * qmail-queue makes the queued copy durable.
 *
 * The message is kept as the queue stores it (LF line ends). The header
 * (up to and including the empty line that ends it, or the whole message
 * when there is none) is noted as the bytes go by: spool_header() gives
 * its length, and when it fits in memory, the bytes themselves; a milter
 * may read the message with spool_read() or spool_each(). */
#ifndef NQ_SPOOL_H
#define NQ_SPOOL_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"

#define SPOOL_MEM_MAX (256 * 1024)

typedef struct spool {
	const char *dir;            /* where the file goes (O_TMPFILE) */
	buf mem;                    /* the first bytes */
	int fd;                     /* -1 while everything fits in memory */
	unsigned long long len;     /* bytes in all */
	unsigned long long hdrlen;  /* header bytes (so far, while hdrdone is 0) */
	int hdrdone;                /* the empty line ending the header was seen */
	int bol;                    /* the last byte stored ended a line */
} spool;

/* dir: the directory for the temporary file (may be 0: $TMPDIR or /tmp). */
void spool_init(spool *s, const char *dir);
/* Append p[0..n). 0 ok, -1 out of memory or unable to write (errno). */
int spool_put(spool *s, const char *p, size_t n);
/* Forget the message (a new transaction); the file, if any, is closed. */
void spool_reset(spool *s);
void spool_free(spool *s);

/* Up to n bytes from offset off into p. Returns the count (0 at the end),
 * -1 on a read error. */
ssize_t spool_read(spool *s, unsigned long long off, char *p, size_t n);
/* Call fn with the message in order, in chunks; stops at the first
 * nonzero return of fn and returns it; -1 on a read error. */
int spool_each(spool *s, int (*fn)(void *arg, const char *p, size_t n), void *arg);
/* The header's length; *inmem (may be 0) points to its bytes when they
 * are all in memory, else is set to 0. */
unsigned long long spool_header(spool *s, const char **inmem);

#endif
