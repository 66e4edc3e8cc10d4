/* netstring: the framing of QMQP and QMTP (D. J. Bernstein's netstrings:
 * "12:hello world!," is the 12-byte string "hello world!"), read from an
 * io_in or from memory and written to a buf or an io_out.
 *
 * Reading is strict, as the definition asks: the length is one or more
 * ASCII digits with no leading zero (only the empty string starts with
 * '0'), then ':', the bytes, then ','. Being strict has a use beyond
 * rejecting junk: the size of a netstring on the wire follows from its
 * length alone (ns_size), so a reader can keep count of how much of an
 * enclosing netstring it has used without counting bytes one by one.
 *
 * Every read takes a limit from the caller. Errors set errno:
 *   EPROTO  the bytes are not a netstring (no digits, a leading zero,
 *           another byte where ':' or ',' belongs, a length that does
 *           not fit in size_t);
 *   ERANGE  a well-formed length larger than the caller's limit;
 *   EPIPE   the input ended inside a netstring;
 *   anything io.h reports (ETIMEDOUT after the reader's timeout, ...). */
#ifndef NQ_NETSTRING_H
#define NQ_NETSTRING_H
#include <stddef.h>
#include "lib/buf.h"
#include "lib/io.h"

#define NS_DIGITS_MAX 20        /* digits of the largest 64-bit length */
#define NS_PREFIX_MAX 22        /* "len:" with its NUL */

/* Bytes a netstring holding len bytes takes on the wire: digits, ':',
 * the bytes, ','. 0 when that would not fit in size_t. */
size_t ns_size(size_t len);
/* Write "len:" into s (NS_PREFIX_MAX bytes, NUL-terminated); returns its
 * length. */
size_t ns_fmtlen(char *s, size_t len);

/* Read "len:" from in. Returns 1 with *len set; 0 when the input ended
 * before the first byte (a clean end between netstrings); -1 on error.
 * With ERANGE *len holds the declared length and the ':' was read, so
 * a caller may still skip the content (ns_skip) and stay in step. */
int ns_getlen(io_in *in, size_t max, size_t *len);
/* Read exactly n bytes, appending them to b (b may be 0: discard them).
 * 0 ok, -1 error (EPIPE at a premature end). */
int ns_getbytes(io_in *in, size_t n, buf *b);
int ns_skip(io_in *in, size_t n);
/* Read the ',' that ends a netstring. 0 ok, -1 error. */
int ns_getcomma(io_in *in);
/* One whole netstring into b (emptied first). Returns 1, 0 (clean end
 * before the first byte) or -1. A netstring longer than max is read to
 * its end and thrown away before -1 with ERANGE is returned, so the
 * stream stays in step and the caller can answer. *wire, when not 0,
 * gets the netstring's size on the wire after a return of 1 or ERANGE. */
int ns_get(io_in *in, buf *b, size_t max, size_t *wire);
/* A field inside an enclosing netstring of which *room bytes are left
 * (room 0: no enclosing one): the whole netstring must fit in *room,
 * checked from its length before any content is read, and *room loses
 * its size. Its content goes into b (NUL-terminated, "" when empty)
 * when at most max bytes: 1; a longer one is read and dropped: 0; -1
 * on error (EPROTO for one that does not fit, as for any malformed). */
int ns_field(io_in *in, buf *b, size_t max, size_t *room);

/* The netstring at s[*pos..n): returns 1 with *p and *len pointing at
 * its bytes and *pos moved past it; 0 when *pos == n; -1 with EPROTO
 * when the bytes there are not a whole netstring (*pos unchanged). */
int ns_parse(const char *s, size_t n, size_t *pos, const char **p, size_t *len);

/* Append the netstring of p[0..n) to b. 0 or -1 (errno from buf). */
int ns_put(buf *b, const void *p, size_t n);
/* Write the netstring of p[0..n) to out. 0 or -1. */
int ns_write(io_out *out, const void *p, size_t n);

#endif
