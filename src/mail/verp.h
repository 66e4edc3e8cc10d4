/* verp: variable envelope return paths, qmail's way.
 *
 * An envelope sender "prefix@host-@[]" (qmail-inject -r / QMAILINJECT=r,
 * or qmail-local for a list with .qmail-ext-owner-default) asks for a
 * return path of its own per recipient: delivering to "box@dom", the
 * sender becomes "prefix" "box=dom" "@host". With the usual prefix
 * "owner-", a bounce for box@dom therefore comes back to
 * owner-box=dom@host, and the owner knows who bounced without reading
 * the bounce.
 *
 * qmail-send applies this rule when a delivery starts and again when it
 * sends the bounce of a recipient that failed here: both use the same
 * address. */
#ifndef NQ_VERP_H
#define NQ_VERP_H
#include "lib/buf.h"

/* 1 when sender asks for VERP: it ends in "-@[]" and has an '@' before
 * that ("prefix@host-@[]"); else 0. */
int verp_is(const char *sender);

/* The sender for a delivery of sender's message to recip into out
 * (NUL-terminated): the VERP form when sender asks for it and recip has
 * an '@', else sender unchanged. 0, or -1 when out of memory. */
int verp_sender(buf *out, const char *sender, const char *recip);

/* qmail's owner address of a VERP sender, for what cannot name a single
 * recipient: "prefix@host-@[]" becomes "prefix@host" (any sender ending
 * in "-@[]" loses it, as in qmail). Any other sender is copied unchanged. 0, or -1 when out of memory. */
int verp_owner(buf *out, const char *sender);

#endif
