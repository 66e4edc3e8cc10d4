/* dotqmail: finding a user's .qmail file and reading its lines, as
 * dot-qmail(5) describes them.
 *
 * Finding: the extension of an address (remote input) is made safe before
 * it becomes part of a file name: letters are lowercased, and every '.'
 * and '/' becomes ':' so that no extension can name "..", a hidden file
 * of another kind, or a file in another directory. Candidates are then
 * tried in qmail's order: .qmail<dash><ext>, and, for each dash in ext
 * from the right, the part before it followed by "default", ending with
 * .qmail<dash>default:
 *     ext "a-b-c": .qmail-a-b-c .qmail-a-b-default .qmail-a-default .qmail-default
 * (With an empty ext only .qmail<dash> itself is a candidate.)
 *
 * Reading: the parser walks the bytes of a .qmail file without copying
 * and without allocating; each call yields one instruction. It is fed
 * outside input (a file a user wrote) and is fuzzed. */
#ifndef NQ_DOTQMAIL_H
#define NQ_DOTQMAIL_H
#include <stddef.h>
#include "lib/buf.h"

/* Lowercase ext[0..n) and replace '.' and '/' by ':' into out. 0 or -1. */
int dq_safeext(buf *out, const char *ext, size_t n);

/* Candidate file names. Start with *iter = 0; each call returns 1 with
 * the next name in name (".qmail" dash ...), or 0 when none is left.
 * *defat is set to the offset in ext where the part that "default"
 * stands for begins (what DEFAULT is set to), or DQ_NODEFAULT for the
 * exact name when it does not itself end in "default". -1: no memory. */
#define DQ_NODEFAULT ((size_t)-1)
int dq_candidate(buf *name, const char *dash, const buf *safeext,
                 size_t *iter, size_t *defat);

enum dq_type {
	DQ_COMMENT,   /* "#..." */
	DQ_BLANK,     /* an empty line (after the first) */
	DQ_PROGRAM,   /* "|command": text is the command */
	DQ_FORWARD,   /* "&addr" or a bare address: text is the address */
	DQ_MBOX,      /* "/path" or "./path": text is the path */
	DQ_MAILDIR,   /* the same, ending in '/' */
	DQ_LIST       /* "+list": forwarding-only mode, as qmail accepts */
};

typedef struct dq_line {
	enum dq_type type;
	const char *text;   /* points into the file's bytes; not NUL-terminated */
	size_t len;
	size_t lineno;      /* 1-based; set to 0 before the first dq_parse */
} dq_line;

/* Limits: a .qmail file is read whole, so it is bounded; so is each line
 * (a command or an address longer than this is certainly an error). */
#define DQ_FILE_MAX (1024 * 1024)
#define DQ_LINE_MAX 65536

/* Parse the instruction starting at *pos in s[0..n). Trailing spaces and
 * tabs are ignored; a missing final newline is accepted.
 * Returns 1 with *l filled and *pos advanced, 0 at the end,
 * -1 on a line qmail-local must refuse (*why says which: the first line
 * blank, a NUL byte, an over-long line, an empty forward address). */
#define DQ_WHY_BLANKFIRST "first line of .qmail file is blank"
int dq_parse(const char *s, size_t n, size_t *pos, dq_line *l, const char **why);

#endif
