/* preproc: qmail-send's first step for a new message.
 *
 * todo/N (qmail-queue's envelope: "u" uid, "p" pid, "F" sender, "T"
 * recipients, final NUL) becomes, in the queue directory:
 *     info/S/N     "F" sender NUL                 (its mtime: the birth)
 *     local/S/N    "T" rewritten recipient NUL ... (local recipients)
 *     remote/S/N   "T" recipient NUL ...           (remote recipients)
 * each recipient routed by src/mail/route.h, each file written and
 * fsynced. When info/S/N exists already (an earlier attempt), a channel
 * file that is not needed is removed; otherwise none can exist, because
 * qmail-send removes at start every channel file without its info file,
 * and a finished message's channel files go before its info file. The
 * caller then fsyncs info/S and the channel directories of p->chans
 * before it lets todo/N be removed: only then is the new state safe from
 * a crash.
 * Redoing it after a crash is harmless: every file is rewritten whole.
 * Memory does not grow with the number of recipients. */
#ifndef NQ_PREPROC_H
#define NQ_PREPROC_H
#include "lib/buf.h"
#include "mail/route.h"

typedef struct preproc {
	unsigned long uid, pid;       /* who queued it, qmail-queue's pid */
	unsigned long long bytes;     /* size of mess/S/N */
	buf sender;
	int chans;                    /* bit 0: local recipients, bit 1: remote */
	const char *what;             /* on failure: "trouble reading ", ... */
	buf file;                     /* on failure: the file concerned */
	buf rec, addr;                /* scratch */
} preproc;

#define PREPROC_INIT {0, 0, 0, BUF_INIT, 0, 0, BUF_INIT, BUF_INIT, BUF_INIT}

/* Preprocess todo/N (the current directory is the queue). 1 done;
 * 0 todo/N does not exist; -1 failed: qmail-log(5)'s warning is p->what
 * followed by p->file (todo/N stays, to be tried again). */
int preproc_todo(preproc *p, unsigned long id, const route *rt);

#endif
