/* textfmt: formatting for reports: decimal fractions without stdio, and
 * text made safe inside HTML/XML (for log contents shown in a page). */
#ifndef NQ_TEXTFMT_H
#define NQ_TEXTFMT_H
#include <stddef.h>
#include "lib/buf.h"

/* Append v rounded to dec (0-9) decimals, e.g. -12.50. Values beyond
 * +-9e15 are written as the bound. 0 ok, -1 out of memory. */
int buf_putfix(buf *b, double v, int dec);
/* Append s[0..n) with & < > " ' as character references and control
 * bytes as '?'. 0 ok, -1 out of memory. */
int buf_putxml(buf *b, const char *s, size_t n);

#endif
