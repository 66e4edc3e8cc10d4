/* rcptcheck: "would local delivery bounce this recipient?", asked while
 * the client is still connected, so that qmail-smtpd refuses the address
 * with 550 instead of accepting mail it would later have to bounce to a
 * sender that is most likely forged (backscatter).
 *
 * The answer follows the very rules local delivery applies, through the
 * same code:
 *   1. route_rewrite (route.h): a remote address is not our question;
 *   2. the user (users.h, in qmail-lspawn's order): users/cdb, else the
 *      password file (not in a single-user instance), else the alias
 *      user; a single-user instance delivers only to its owner's uid;
 *   3. an empty local part is qmail-lspawn's trash address: accepted;
 *      one longer than USERS_LOCAL_MAX is refused there: refused here;
 *   4. an address that is the user itself (dash "") always gets a
 *      delivery (qmail-local's default delivery): accepted;
 *   5. otherwise the .qmail candidates of dotqmail.h are looked for in
 *      the user's home: one that exists means accepted (what it then does
 *      is local delivery's business), none means qmail-local would say
 *      "no mailbox here by that name": refused.
 * Before all of these, rcptcheck_srs(): an SRS address of ours (srs.h)
 * whose hash is forged, whose time stamp has expired or that is
 * malformed is refused (qmail-smtpd says 550 5.1.1); one that decodes
 * goes on through the rules above (normally to the .qmail file that runs
 * srsreverse(8)).
 * Anything that cannot be decided now (a home that is missing or cannot
 * be read, trouble with the password file) is RC_UNKNOWN, and the caller
 * accepts: local delivery decides, as it would have without us.
 *
 * Privilege. qmail-smtpd runs as qmaild and first applies the rule
 * itself: users/cdb and the password file are readable, and so are the
 * alias user's home and any home that is not closed. Only when that gives
 * RC_UNKNOWN (a 0700 home) does it ask the small helper qmail-rcptcheck(8),
 * started once per session, which applies the same rule with privilege
 * and answers with one byte, never showing anything it read. This file
 * holds the rule (rcptcheck()), with the two steps that may need another
 * uid supplied by the caller, and the client side qmail-smtpd uses. */
#ifndef NQ_RCPTCHECK_H
#define NQ_RCPTCHECK_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"
#include "mail/instance.h"
#include "mail/route.h"
#include "mail/users.h"

#define RC_YES 'Y'        /* local delivery will find a mailbox */
#define RC_NO 'N'         /* local delivery would bounce it */
#define RC_UNKNOWN '?'    /* cannot tell now: accept */
#define RC_REMOTE 'R'     /* not delivered here */

#define RC_REQUEST_MAX (USERS_LOCAL_MAX + 1024)   /* bytes of an address asked */

struct rc_cfg {
	const route *route;
	const char *cdbpath;      /* DIR/users/cdb */
	const char *aliashome;    /* DIR/alias */
	const nq_ids *ids;
	uid_t owner;              /* single-user instance: the only uid served */
	/* Rule 2 of users.h (the password file): 1 found, 0 none, -1 trouble. */
	int (*passwd)(users_ent *e, const char *local, size_t len, void *arg);
	/* Step 5 as the user e: RC_YES, RC_NO or RC_UNKNOWN. */
	int (*dotqmail)(const users_ent *e, void *arg);
	void *arg;
};

/* The answer for the envelope recipient addr[0..len). */
int rcptcheck(const struct rc_cfg *c, const char *addr, size_t len);

/* The SRS rule alone: RC_NO (forged, expired, malformed), RC_UNKNOWN
 * (control/srs unreadable: ask the privileged helper) or RC_YES (not an
 * SRS address of ours, or a valid one: the other rules decide). */
int rcptcheck_srs(const char *addr, size_t len);

/* Step 5 itself, to be run as the owner of home: RC_YES, RC_NO or
 * RC_UNKNOWN. ext is remote input; dotqmail.h makes it safe. */
int rcptcheck_dotqmail(const char *home, const char *dash, const char *ext);

/* The client side, in qmail-smtpd. The helper is started at the first
 * question and kept for the session. */
typedef struct rcptclient {
	pid_t pid;          /* 0: not started */
	int to, from;       /* pipe ends */
	int broken;         /* it failed once: stop asking */
} rcptclient;

#define RCPTCLIENT_INIT {0, -1, -1, 0}

/* Ask prog (DIR/bin/qmail-rcptcheck) about addr. Any failure, and no
 * answer within timeout seconds, is RC_UNKNOWN. */
int rcptclient_ask(rcptclient *c, const char *prog, const char *addr, size_t len, int timeout);
void rcptclient_close(rcptclient *c);

#endif
