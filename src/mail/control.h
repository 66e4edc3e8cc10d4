/* control: reading DIR/control/NAME files with qmail-control(5) semantics.
 * A name is relative to the instance's control/ directory ("me",
 * "concurrencylocal"). Lines have trailing spaces and tabs removed.
 * Return values: 1 read, 0 file missing (default used), -1 error (errno):
 * an unreadable or malformed control file is an error, never a silent
 * default, so callers report it and exit 111. */
#ifndef NQ_CONTROL_H
#define NQ_CONTROL_H
#include "lib/buf.h"

#define CONTROL_MAX (1024 * 1024)   /* bytes read from any one control file */

/* First line of the file into b (NUL-terminated). When the file is missing:
 * def copied into b if def is non-null, else b emptied. */
int control_readline(buf *b, const char *name, const char *def);
/* Like control_readline, with def taken from control/me when missing
 * (that is qmail's rule for defaultdomain, plusdomain, idhost, ...). */
int control_readme(buf *b, const char *name);
/* Unsigned number in the file's first line, or def when missing. */
int control_readulong(unsigned long *u, const char *name, unsigned long def);
/* Every line, each followed by a NUL, into b: blank lines and lines that
 * start with '#' are skipped. */
int control_readlines(buf *b, const char *name);
/* Iterate lines of a NUL-separated list: for (p = 0; (p = list_next(b, p)); ) */
const char *list_next(const buf *b, const char *p);

#endif
