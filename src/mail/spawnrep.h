/* spawnrep: qmail-send's side of the spawn protocol of src/mail/spawn.h:
 * writing delivery requests and reading the reports that come back.
 *
 * Reports are read as they arrive, in pieces of any size, and a spawn is
 * not trusted: a delivery number that is not a number, a report without
 * a status, or a text longer than SPAWNREP_MAX cannot make the reader
 * misbehave or grow; the text is cut at SPAWNREP_MAX bytes. */
#ifndef NQ_SPAWNREP_H
#define NQ_SPAWNREP_H
#include <stddef.h>
#include "lib/buf.h"

#define SPAWNREP_MAX 10000
#define SPAWNREP_BADSLOT ((unsigned long)-1)

/* Append the request "<slot>\0<msg>\0<sender>\0<recip>\0" to out. 0, -1 ENOMEM */
int spawnreq_put(buf *out, unsigned long slot, unsigned long msg, const char *sender, const char *recip);

typedef struct spawnrep {
	buf b;          /* the report being read */
	int field;      /* 0: delivery number, 1: status and text */
	size_t numlen;  /* length of the number in b */
} spawnrep;

#define SPAWNREP_INIT {BUF_INIT, 0, 0}

/* One finished report: slot (SPAWNREP_BADSLOT when not a number), status
 * ('K', 'Z', 'D', or anything a broken spawn sent; 0 when empty), text. */
typedef void spawnrep_fn(void *ctx, unsigned long slot, char status, const char *text, size_t n);

/* Feed n bytes read from the spawn; f is called once per complete report. */
void spawnrep_feed(spawnrep *r, const char *p, size_t n, spawnrep_fn *f, void *ctx);
void spawnrep_free(spawnrep *r);

#endif
