/* pop3box: a Maildir as one POP3 session sees it (qmail-pop3d).
 *
 * The session's list is taken once, when it starts: the regular files
 * of new/ and cur/ (names starting with '.' and anything that is not a
 * regular file, symbolic links included, are not messages), in delivery
 * order (mdlist.h: the time at the start of the name, then the name).
 * Sizes are the files' sizes, as qmail-pop3d reports them.
 *
 * Every file is reached through descriptors of the Maildir and of its
 * new/ and cur/ opened without following symbolic links, and opened
 * with O_NOFOLLOW and checked to be a regular file, so the session reads
 * nothing outside the Maildir it was started in.
 *
 * Other sessions (a second POP3 client, a mail reader) may work on the
 * same Maildir at the same time. A message is known by its base name
 * (its name without the ":2,..." info that readers append), which never
 * changes when it moves from new/ to cur/ or gains flags. So:
 * - a message seen in both new/ and cur/ while the directories were read
 *   (another session moved it in between) is listed once;
 * - a message that is no longer where the list says is looked for by its
 *   base name before it is declared gone: in new/ by name, in cur/
 *   through an index of cur/ read once and read again only when cur/
 *   changed (its mtime), so that a session whose messages another one
 *   moved or deleted does not read all of cur/ for each of them;
 * - at QUIT (pop3box_commit) deleted messages are unlinked wherever they
 *   are now, and the others move from new/ to cur/ with ":2," appended,
 *   as qmail-pop3d does. Nothing is deleted or moved before QUIT. */
#ifndef NQ_POP3BOX_H
#define NQ_POP3BOX_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "lib/buf.h"

#define POP3_UIDL_MAX 70       /* RFC 1939: at most 70 characters */

typedef struct pop3entry {
	size_t name;           /* offset in names: "new/BASE" or "cur/BASE:2,..." */
	size_t baselen;        /* length of BASE */
	off_t size;
	int deleted;            /* DELE: 1 (pop3box_commit uses 2 for "not where listed") */
} pop3entry;

/* cur/ as last read, for finding moved messages by base name. */
typedef struct pop3cur {
	buf names;             /* NUL-terminated file names */
	size_t *at;            /* offsets in names, sorted by base name */
	size_t n, cap;
	struct timespec mtime; /* cur/'s mtime just before it was read */
	int read;              /* the index holds cur/ as of mtime */
	int settled;           /* and mtime was 2 s old then: a later change shows in mtime */
	unsigned long reads;   /* how many times cur/ was read (for the tests) */
} pop3cur;

typedef struct pop3box {
	int dir, newd, curd;   /* the Maildir and its new/ and cur/ */
	buf names;
	pop3entry *m;
	size_t n, cap;
	pop3cur cur;
} pop3box;

#define POP3BOX_INIT {-1, -1, -1, BUF_INIT, 0, 0, 0, {BUF_INIT, 0, 0, 0, {0, 0}, 0, 0, 0}}

/* Open the Maildir at path (relative to the working directory) and list
 * the messages. 0 ok, -1 error (errno; ENOENT or ENOTDIR: no such
 * Maildir, or no new/ or cur/ in it). b is POP3BOX_INIT or all zeros;
 * a failure closes only what the call opened. */
int pop3box_open(pop3box *b, const char *path);
void pop3box_close(pop3box *b);

/* Message i (0-based): "new/..." or "cur/...". */
const char *pop3box_name(const pop3box *b, size_t i);
/* Its unique id for UIDL into out (NUL-terminated): the base name when
 * it is at most POP3_UIDL_MAX printable characters, else a 32-digit hex
 * digest of it. */
void pop3box_uidl(const pop3box *b, size_t i, char out[POP3_UIDL_MAX + 1]);

/* A read-only descriptor of message i, found again by its base name
 * when it moved. -1 with errno: ENOENT it is gone, EINVAL it is not a
 * regular file (a symbolic link put in its place, say), others from
 * open(2). */
int pop3box_openmsg(pop3box *b, size_t i);

/* QUIT: unlink the deleted messages, move the rest from new/ to cur/.
 * Returns the number of deleted messages that could not be removed
 * (0: all done). */
size_t pop3box_commit(pop3box *b);

#endif
