/* fwdb: fastforward's forwarding database and binary mailing lists
 * (setforward(1), setmaillist(1), fastforward(1)).
 *
 * A command is one NUL-terminated string whose first byte says what it
 * is, in setforward's own notation:
 *     &address    forward to a recipient address
 *     |command    run a program with the message on its input
 *     !command    the same, with $UFLINE $RPLINE $DTLINE in front
 *     /path ./path  obey the commands in a binary mailing list file
 *     >path       append to a file (mbox), or a Maildir when it ends in /
 *                 (nqmail's addition: sendmail's file deliveries)
 * An owner address (setforward's "?address") is not a command: it is
 * kept apart, because it may be given in an instruction of its own.
 *
 * The database is a cdb. Key ":" + target (lowercase) holds the target's
 * commands one after another; key "?" + target holds its owner address.
 * A binary mailing list is commands one after another, nothing else.
 * Both are the same bytes on every machine.
 *
 * Every file written here is written to a temporary name given by the
 * caller, fsynced, and renamed over the real one; the directory is then
 * fsynced. A reader sees the old file or the new one, never a mixture. */
#ifndef NQ_FWDB_H
#define NQ_FWDB_H
#include <stddef.h>
#include "lib/buf.h"

#define FWDB_ADDR_MAX 800              /* bytes of a target or an address (setforward's limit) */
#define FWDB_CMD_MAX 65536             /* bytes of a program or a path */
#define FWDB_TEXT_MAX (64UL << 20)     /* bytes of setforward input read */
#define FWDB_LIST_MAX (64UL << 20)     /* bytes of a binary mailing list read */
#define FWDB_VALUE_MAX (64UL << 20)    /* bytes of one cdb record's data */

/* What kind of command cmd is: '&', '|', '!', '/' (a list, also for
 * "./..."), '>', or 0 when it is none of these. */
int fwdb_cmdtype(const char *cmd);

/* --- setforward's text format ------------------------------------------ */

typedef struct fwdb_instr {
	buf target;        /* lowercase, NUL-terminated */
	buf cmds;          /* the commands, each NUL-terminated */
	size_t ncmds;
	buf owner;         /* the owner address (the last one given) */
	int hasowner;
} fwdb_instr;

#define FWDB_INSTR_INIT {BUF_INIT, BUF_INIT, 0, BUF_INIT, 0}

/* Parse the instruction that starts at *pos in s[0..n). *line counts
 * newlines (start it at 1) so that errors can say where they are.
 * 1: one instruction in in, *pos advanced; 0: nothing left but blanks and
 * comments; -1: error, *why says which (errno ENOMEM when no memory). */
int fwdb_parse(const char *s, size_t n, size_t *pos, size_t *line, fwdb_instr *in, const char **why);
void fwdb_instr_free(fwdb_instr *in);

/* Append s[0..n) to out in setforward notation: every byte that would
 * otherwise mean something (blanks, line ends , : ; # \) gets a backslash. */
int fwdb_put_escaped(buf *out, const char *s, size_t n);
/* One command as setforward reads it back ("&" written for addresses). */
int fwdb_put_cmd(buf *out, const char *cmd, size_t n);

/* One line of setmaillist's input (without its newline) as a command
 * appended to out, NUL included. 1 appended, 0 a blank or comment line,
 * -1 an error (*why). */
int fwdb_listline(const char *s, size_t n, buf *out, const char **why);

/* Read all of descriptor fd into b (at most max bytes: ERANGE beyond).
 * 0 or -1 (errno). */
int fwdb_slurp(int fd, buf *b, size_t max);

/* --- writing ------------------------------------------------------------- */

typedef struct fwdb_make {
	int fd;
	void *cm;          /* struct cdb_make */
	buf tmp, path, key;
} fwdb_make;

/* Create tmp (mode 0644) for a database that will become path.
 * 0 or -1 (errno). */
int fwdb_start(fwdb_make *m, const char *path, const char *tmp);
int fwdb_add(fwdb_make *m, const fwdb_instr *in);
/* Finish, fsync, rename tmp to path, fsync the directory. 0 or -1 (errno;
 * tmp is then removed and path left alone). */
int fwdb_finish(fwdb_make *m);
void fwdb_abort(fwdb_make *m);

/* Write data to tmp (mode), fsync, rename to path, fsync the directory. */
int fwdb_replace(const char *path, const char *tmp, const void *data, size_t n, int mode);

/* --- reading --------------------------------------------------------------- */

typedef struct fwdb {
	int fd;
	void *c;           /* struct cdb */
	buf key;
} fwdb;

/* 0 or -1 (errno; EPROTO: not a cdb). */
int fwdb_open(fwdb *d, const char *path);
/* Look up type (':' or '?') + lowercase(k[0..n)). 1 found (val holds the
 * data, NUL-terminated beyond len), 0 not there, -1 error (errno). */
int fwdb_get(fwdb *d, char type, const char *k, size_t n, buf *val);
void fwdb_close(fwdb *d);

/* Walk the commands of a value or binary list v[0..n): for
 * (p = 0; (r = fwdb_next(v, n, &p, &cmd)) > 0; ) ... -1 when the last
 * command lacks its NUL (a truncated file). */
int fwdb_next(const char *v, size_t n, size_t *pos, const char **cmd);

#endif
