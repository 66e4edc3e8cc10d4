/* cdbseq: reading every record of a cdb file from a stream, in the order
 * the records were written, without seeking: what printforward needs to
 * list a database given on its standard input (a pipe is fine).
 *
 * The cdb layout: a 2048-byte table of 256 (position, length) pairs, the
 * records (key length, data length, both 32-bit little-endian, then the
 * key and the data), then the hash tables. The records end where the
 * first hash table begins: the smallest position in the header. */
#ifndef NQ_CDBSEQ_H
#define NQ_CDBSEQ_H
#include <stddef.h>
#include <stdint.h>
#include "lib/buf.h"
#include "lib/io.h"

typedef struct cdbseq {
	io_in *in;
	uint32_t pos;     /* bytes consumed so far */
	uint32_t eod;     /* end of the records */
	size_t max;       /* largest key or data accepted */
} cdbseq;

/* Read the header. 0 ok, -1 error (errno: EPROTO for a file that is not
 * a cdb, else the read error). */
int cdbseq_start(cdbseq *c, io_in *in, size_t max);
/* The next record into key and val. 1 record, 0 no more records,
 * -1 error (EPROTO: truncated or malformed; ERANGE: over max). */
int cdbseq_next(cdbseq *c, buf *key, buf *val);

#endif
