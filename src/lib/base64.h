/* base64: RFC 4648 encoding and strict decoding, for SASL (AUTH) and
 * anything else that needs it. */
#ifndef NQ_BASE64_H
#define NQ_BASE64_H
#include <stddef.h>
#include "lib/buf.h"

/* Append the encoding of s[0..n) to out. 0 or -1 (out's growth failed). */
int b64_encode(buf *out, const char *s, size_t n);
/* Append the decoding of s[0..n) to out. Only the alphabet and correct
 * final padding are accepted (no blanks, no line breaks): 0 ok,
 * -1 malformed (errno EINVAL) or out's growth failed. */
int b64_decode(buf *out, const char *s, size_t n);

#endif
