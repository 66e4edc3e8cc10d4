/* spawn: the protocol between qmail-send and qmail-lspawn (and, later,
 * qmail-rspawn), and between qmail-send and qmail-clean.
 *
 * qmail-send -> spawn (the spawn's fd 0), one record per delivery:
 *     "<delnum>\0<msgnum>\0<sender>\0<recipient>\0"
 *   delnum: decimal delivery slot (0 .. concurrency-1), reused when done;
 *   msgnum: the message's number (inode of queue/mess/S/N); the spawn,
 *           running in DIR/queue, opens mess/S/N itself as the delivery's
 *           standard input;
 *   sender: envelope sender, may be empty; recipient: for lspawn the local
 *           address already rewritten by virtualdomains ("prepend-user@dom").
 *
 * spawn -> qmail-send (the spawn's fd 1), one record per finished delivery:
 *     "<delnum>\0<status><text>\0"
 *   status: 'K' delivered, 'Z' temporary failure (retry later),
 *           'D' permanent failure (bounce); text: one human-readable line,
 *           no NUL, no newline (qmail-send logs it with spaces kept).
 * A spawn that reads end of file on fd 0 finishes running deliveries,
 * reports them, and exits 0.
 *
 * qmail-send -> qmail-clean (fd 0), qmail-clean -> qmail-send (fd 1):
 *     request "t<msgnum>\0": remove todo/N and intd/N (qmail-send has
 *             written info/local/remote for it durably);
 *     request "m<msgnum>\0": remove mess/S/N and any intd/N or todo/N left;
 *     reply one byte: '+' done (a file already gone counts as done),
 *             '!' failed (qmail-send retries later).
 * qmail-clean exits 0 at end of file on fd 0. */
#ifndef NQ_SPAWN_H
#define NQ_SPAWN_H

#define SPAWN_MAX 120      /* hard limit on concurrent deliveries per spawn */
#define SPAWN_TEXT_MAX 1000 /* bytes of report text kept */

#endif
