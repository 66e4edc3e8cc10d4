/* queue: the layout of DIR/queue, as qmail has it.
 *
 *   pid/P.T.N      temporary name while qmail-queue creates a message
 *   mess/S/N       the message (N: inode number of this file; S = N % split)
 *   intd/N         envelope being written by qmail-queue
 *   todo/N         envelope, published: qmail-send has not seen it yet
 *   info/S/N       sender (qmail-send)    local/S/N, remote/S/N  recipients
 *   bounce/N       failure reports collected for a bounce
 *   lock/sendmutex, lock/tcpto, lock/trigger (named pipe)
 *
 * The envelope (intd/todo) is qmail's: "u" uid NUL, "p" pid NUL,
 * "F" sender NUL, then "T" recipient NUL per recipient, then a final NUL.
 * The local/remote files hold "T" recipient NUL per recipient; a recipient
 * done (delivered or bounced) has its "T" overwritten in place by "D".
 * The queue's states and crash behaviour are argued in doc/architecture.md. */
#ifndef NQ_QUEUE_H
#define NQ_QUEUE_H
#include "lib/buf.h"

#define QUEUE_SPLIT 23

/* Path relative to the queue directory: dir "/" [split "/"] num.
 * dir is one of "mess", "info", "local", "remote" (split) or "intd",
 * "todo", "bounce" (flat). The result is NUL-terminated in b. */
const char *queue_fn(buf *b, const char *dir, unsigned long num);
int queue_split_dir(const char *dir);      /* 1 when dir is split */

#endif
