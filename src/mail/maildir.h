/* maildir: storing one message in a Maildir, reliably (maildir(5)).
 *
 * The protocol: create tmp/NAME exclusively, write the header lines the
 * caller gives (Return-Path, Delivered-To) and the message, fsync, close;
 * link tmp/NAME to new/NAME (a link never replaces an existing file; on
 * file systems without hard links, a rename that refuses to replace);
 * fsync new/; only then remove tmp/NAME. When this returns 0 the message
 * survives a crash.
 *
 * NAME is "SECONDS.MmicrosecondsPpidQcounter.HOST", unique on this host as
 * long as clocks do not go back within one process and counter is not
 * reused; HOST has '/' and ':' written as \057 and \072 as maildir readers
 * expect. A name that exists anyway is never overwritten: a new one is
 * tried. */
#ifndef NQ_MAILDIR_H
#define NQ_MAILDIR_H
#include <stddef.h>
#include "lib/buf.h"

/* Deliver the message read from msgfd (from offset 0) into the Maildir
 * dir, relative to the directory descriptor base unless absolute.
 * pre[0..prelen) is written before the message. *counter is advanced for
 * every name tried (keep it per process or per delivery).
 * Returns 0 delivered (the new/ name in newname if not null), else -1
 * with a one-line reason in why (every maildir failure is temporary). */
int maildir_deliver(int base, const char *dir, int msgfd, const char *pre, size_t prelen,
                    unsigned long *counter, buf *newname, buf *why);

/* Create dir, dir/tmp, dir/new and dir/cur with mode 0700 (maildirmake).
 * An existing dir is an error (EEXIST), as maildirmake reports it.
 * 0 or -1 (errno); *what names the step that failed. */
int maildir_make(const char *dir, const char **what);

#endif
