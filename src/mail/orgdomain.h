/* orgdomain: the Organizational Domain of RFC 7489 3.2 (DMARC), from
 * the Public Suffix List that Debian's publicsuffix package installs
 * (ORGDOMAIN_PSL), and the identifier alignment built on it.
 *
 * The public suffix of a name is found as the list's own algorithm says:
 * of the rules that match its rightmost labels ("*" matching any one
 * label), an exception rule ("!") wins, else the rule with the most
 * labels, else the implicit rule "*" (so a name under a top-level domain
 * the list does not know, like .test, is treated as one under .com). The
 * Organizational Domain is the public suffix plus one more label; a name
 * that is itself a public suffix is its own.
 *
 * The list is read once per process, when first needed, and searched
 * line by line for the few rules that could match: no table is built,
 * so a process that never needs it pays nothing. Without the file every
 * name gets the implicit rule alone. */
#ifndef NQ_ORGDOMAIN_H
#define NQ_ORGDOMAIN_H
#include <stddef.h>
#include "lib/buf.h"

#define ORGDOMAIN_PSL "/usr/share/publicsuffix/public_suffix_list.dat"
#define ORGDOMAIN_PSL_MAX (4 * 1024 * 1024)

/* Use the list in path instead (tests, or another copy); 0 for the
 * default. Reading happens at the next lookup. */
void orgdomain_list(const char *path);
/* The Organizational Domain of name (a trailing dot ignored), lower-cased,
 * into out. 0 ok, -1 out of memory or not a domain name. */
int orgdomain(const char *name, buf *out);
/* RFC 7489 3.1 alignment of two domains: strict (1) the same name,
 * relaxed (0) the same Organizational Domain. 1 aligned, 0 not, -1 out
 * of memory. */
int orgdomain_aligned(const char *a, const char *b, int strict);

#endif
