/* mdlist: the messages of a Maildir in delivery order, for the programs
 * that read a Maildir as a whole (maildir2mbox, maildirwatch).
 *
 * A Maildir message's name starts with the time of its delivery in
 * seconds (maildir(5)); sorting by that number, then by the whole name,
 * gives the order in which mail arrived. Names that start with '.' are
 * not messages and are skipped. The list holds names relative to the
 * Maildir ("new/NAME", "cur/NAME"); the caller has chdir'd into it. */
#ifndef NQ_MDLIST_H
#define NQ_MDLIST_H
#include <stddef.h>
#include <time.h>
#include "lib/buf.h"

typedef struct mdlist {
	buf names;       /* "new/NAME\0cur/NAME\0..." */
	size_t *off;     /* where each name starts in names, in order */
	size_t n, cap;
} mdlist;

#define MDLIST_INIT {BUF_INIT, 0, 0, 0}

/* List new/, and cur/ too when withcur, sorted. 0 ok, -1 error (errno;
 * *what names the directory). */
int mdlist_scan(mdlist *l, int withcur, const char **what);
const char *mdlist_name(const mdlist *l, size_t i);
/* The delivery time at the start of a message's base name (0 if none). */
unsigned long mdlist_time(const char *name);
/* The microseconds of a name "SECONDS.MUSEC...", as qmail-local writes
 * them, so that two messages of the same second keep their delivery
 * order (the digits are not zero-padded: a string comparison would put
 * M64275 after M264275). ULONG_MAX when the name has no such field. */
unsigned long mdlist_usec(const char *name);
void mdlist_free(mdlist *l);

/* Remove the files in tmp/ untouched for 36 hours: what a delivery left
 * when it was interrupted (maildir(5)). Returns how many, or -1. */
long mdlist_cleantmp(time_t now);

#endif
