/* resend: queue the message a .qmail program is reading again, to new
 * recipients, as qmail-local's own forwarding does: the Delivered-To line
 * of this delivery ($DTLINE) goes on top, so that the loop check of the
 * next delivery sees it, and the message follows unchanged.
 *
 * Used by forward and condredirect. The message is read from a descriptor
 * (the program's standard input) through a fixed buffer: memory does not
 * depend on its size. The caller ignores SIGPIPE (see qqclient.h). */
#ifndef NQ_RESEND_H
#define NQ_RESEND_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"

/* Queue dtline + the message read from fd (from where it is now) with
 * envelope sender `sender` to the n recipients rcpt[0..n). Returns 0 when
 * queued (*qp gets qmail-queue's pid, the "qp" of qmail's logs), else 'D'
 * (permanent) or 'Z' (temporary) with a one-line reason in why. */
int resend(int fd, const char *dtline, const char *sender, char *const *rcpt, size_t n,
           unsigned long *qp, buf *why);

#endif
