/* checkpw: asking a checkpassword-compatible program whether a login and
 * password are right (the interface of Bernstein's checkpassword, which
 * qmail-popup and every qmail AUTH patch use): the program gets
 * "login\0password\0timestamp\0" on descriptor 3 and exits 0 when they
 * are right (after running the program named by its own arguments),
 * 1 when they are wrong, anything else when it could not decide.
 *
 * The child gets /dev/null on descriptor 0 and our descriptor 2 on 1 and
 * 2, so that neither it nor what it runs can talk to the network client
 * directly. */
#ifndef NQ_CHECKPW_H
#define NQ_CHECKPW_H
#include <stddef.h>

#define CHECKPW_DATA_MAX 512   /* what checkpassword programs read, at most */

#define CHECKPW_OK 0
#define CHECKPW_BAD 1
#define CHECKPW_TEMP 2      /* could not decide: try again later */

/* Run argv (argv[0] a path) and wait at most timeout seconds (0: no
 * limit; a program still running then is killed). */
int checkpw(char *const *argv, const char *login, size_t ll, const char *pass, size_t pl,
            const char *stamp, int timeout);

#endif
