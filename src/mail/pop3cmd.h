/* pop3cmd: reading the commands a POP3 client sends (RFC 1939, RFC 2449),
 * shared by qmail-popup (the authorization state) and qmail-pop3d (the
 * transaction state).
 *
 * A command is a keyword, case-insensitive, then arguments after one
 * space. The line end (CRLF, or a bare LF from a sloppy client) is not
 * part of the argument. USER and PASS take the rest of the line as one
 * argument, so that passwords may hold spaces, as most servers allow.
 * Lines holding a NUL byte are refused: nothing after the keyword could
 * be trusted to mean what it seems to. */
#ifndef NQ_POP3CMD_H
#define NQ_POP3CMD_H
#include <stddef.h>

#define POP3_LINE_MAX 1024     /* bytes of a command line, line end included */

enum pop3verb {
	P3_BAD,          /* empty, NUL byte, or a keyword longer than 4 letters */
	P3_UNKNOWN,      /* a well-formed keyword we do not know */
	P3_USER, P3_PASS, P3_APOP, P3_QUIT, P3_NOOP, P3_CAPA, P3_STLS,
	P3_STAT, P3_LIST, P3_UIDL, P3_TOP, P3_RETR, P3_DELE, P3_RSET, P3_LAST
};

typedef struct pop3cmd {
	enum pop3verb verb;
	const char *arg;       /* points into the line; not NUL-terminated */
	size_t arglen;         /* 0: no argument */
} pop3cmd;

/* Parse line[0..n). */
void pop3cmd_parse(pop3cmd *c, const char *line, size_t n);

/* A message number argument: decimal digits only, 1 or more, no sign,
 * nothing else. 0 ok (*num set, at least 1), -1 not a number. */
int pop3_num(const char *s, size_t n, unsigned long *num);
/* Two numbers separated by one space (TOP msg n). *b may be 0. */
int pop3_twonum(const char *s, size_t n, unsigned long *a, unsigned long *b);

#endif
