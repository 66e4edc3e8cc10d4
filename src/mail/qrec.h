/* qrec: reading the records of the queue's files (src/mail/queue.h).
 * todo/N, info/S/N, local/S/N and remote/S/N are sequences of records,
 * each a type letter and a value ended by NUL. They are read one record
 * at a time with a bound, so neither a long recipient list nor a damaged
 * file makes a reader's memory grow, and the reader learns how many bytes
 * each record took (its offset is where a 'T' is later overwritten). */
#ifndef NQ_QREC_H
#define NQ_QREC_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/io.h"

/* Next record into rec (without its NUL; rec->s is NUL-terminated), at
 * most max bytes kept. *used: bytes consumed, NUL included.
 * 1 a record; 0 clean end of file; -1 error with errno: EPROTO for a
 * record cut short by end of file, ERANGE for one longer than max (it is
 * consumed), else the read error. */
int qrec_get(io_in *in, buf *rec, size_t max, size_t *used);

#endif
