/* spawn: the protocol between qmail-send and qmail-lspawn and
 * qmail-rspawn, and between qmail-send and qmail-clean.
 *
 * qmail-send -> spawn (the spawn's fd 0), one record per delivery:
 *     "<delnum>\0<msgnum>\0<sender>\0<recipient>\0"
 *   delnum: decimal delivery slot, below the channel's table size
 *           (for qmail-lspawn control/concurrencylocal, at most
 *           SPAWN_MAX - 1: it runs each record at once; for qmail-rspawn
 *           100 times control/concurrencyremote, at most
 *           SPAWN_REMOTE_MAX - 1: qmail-rspawn itself runs at most
 *           concurrencyremote connections and keeps the other records
 *           waiting, grouping those of one message and domain into one
 *           SMTP transaction); a slot is reused only after its report
 *           came back;
 *   msgnum: the message's number (inode of queue/mess/S/N); the spawn,
 *           running in DIR/queue, opens mess/S/N itself as the delivery's
 *           standard input;
 *   sender: envelope sender, may be empty; recipient: for lspawn the local
 *           address already rewritten by virtualdomains ("prepend-user@dom").
 *
 * spawn -> qmail-send (the spawn's fd 1), one record per finished delivery:
 *     "<delnum>\0<status><text>\0"
 *   status: 'K' delivered, 'Z' temporary failure (retry later),
 *           'D' permanent failure (bounce); text: human-readable, no NUL,
 *           at most SPAWNREP_MAX bytes kept (src/mail/spawnrep.h). It may
 *           hold several lines ("\n"-separated: qmail-remote's report of a
 *           multi-line SMTP reply, "Remote host said: 550-...\n550 ..."),
 *           and usually ends with "\n". qmail-send logs the text on the
 *           delivery's one log line with every line end shown as '/'
 *           (and other unprintable bytes, space and '%' as '_', qmail's
 *           logsafe), so "delivery 7: failure: ..._exist/550_5.1.1_bye/";
 *           a failure's text goes into queue/bounce/N with its lines kept
 *           (src/mail/bounce.h). A final '/' (or "\n") is taken as the
 *           text's line end, so a spawn that writes '/' for "\n", as
 *           qmail-lspawn may, logs the same.
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

/* Upper bounds of control/concurrencylocal and concurrencyremote: a
 * larger value is cut to them (qmail-showctl says so). qmail-lspawn's
 * table is fixed (qmail's "silent concurrency limit"); qmail-rspawn's
 * grows, and accepts slots up to 65535. */
#define SPAWN_MAX 120           /* local deliveries at once */
#define SPAWN_REMOTE_MAX 65535  /* remote deliveries at once */
#define SPAWN_TEXT_MAX 1000     /* bytes of a local delivery's output kept */

#endif
