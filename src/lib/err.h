/* err: messages to stderr and exits, in the qmail manner.
 * Every message is "program: text" on one line. The exit codes are
 * 100 (permanent: usage, bad input) and 111 (temporary: try again later)
 * unless a program documents others. Arguments are strings ending with 0. */
#ifndef NQ_ERR_H
#define NQ_ERR_H

#define EXIT_PERM 100
#define EXIT_TEMP 111

extern const char *err_prog;   /* set by each main() */

void err_warn(const char *s, ...);                     /* no exit */
_Noreturn void err_die(int code, const char *s, ...);
/* As err_die, with ": " and strerror(errno) appended. */
_Noreturn void err_dieerr(int code, const char *s, ...);
void err_warnerr(const char *s, ...);
_Noreturn void err_nomem(void);

#endif
