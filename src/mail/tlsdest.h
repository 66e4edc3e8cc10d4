/* tlsdest: qmail-remote's TLS policy per destination and the credentials
 * it may give a relay.
 *
 * control/tlsdestinations: one "domain:policy" or "domain:policy:cafile"
 * per line, matched like control/smtproutes: the name itself, then each
 * parent suffix written with a leading dot (".example.com" matches
 * mx.example.com, not example.com), then the catch-all ":policy". The
 * names tried are the relay's (when control/smtproutes or authsenders
 * route the message) and then the recipient's domain. Policies:
 *   none       never STARTTLS
 *   may        STARTTLS when offered, certificate not checked; a failed
 *              handshake is retried once without TLS (the default)
 *   encrypt    TLS required, certificate not checked
 *   verify     TLS required, the certificate must chain to the system's
 *              trust store (or to the PEM file cafile) and name the
 *              exchanger (or the relay) we connect to
 *   dane       RFC 7672: when the exchanger has TLSA records in a signed
 *              zone (AD bit from a resolver of control/dnsservers), TLS
 *              is required and checked against them; otherwise as "may"
 *   dane-only  as dane, but without secure TLSA records the exchanger is
 *              not used
 * When TLS is required and cannot be had, the delivery is deferred: never
 * sent in plain text.
 *
 * control/smtpauth (mode 0600, owned by qmailr): "key:user:password" per
 * line; key is a relay's name (or bracketed address) as written in
 * control/smtproutes, or the sender key ("a@b" or "@b") of a line of
 * control/authsenders. The password is the rest of the line. */
#ifndef NQ_TLSDEST_H
#define NQ_TLSDEST_H
#include "lib/buf.h"
#include "lib/cmap.h"

enum { TLS_NONE, TLS_MAY, TLS_ENCRYPT, TLS_VERIFY, TLS_DANE, TLS_DANE_ONLY };

typedef struct tlsdest { buf lines; cmap map; } tlsdest;
#define TLSDEST_INIT {BUF_INIT, CMAP_INIT}

typedef struct tlspolicy {
	int level;
	const char *cafile;     /* 0: the system's store; points into the tlsdest */
} tlspolicy;

/* 0 ok, -1 (errno) reading control/tlsdestinations. */
int tlsdest_load(tlsdest *t);
/* The policy for the first of name1, name2 (either may be 0) that has a
 * line, or the catch-all, or "may". -1 with why when the line is bad. */
int tlsdest_find(const tlsdest *t, const char *name1, const char *name2, tlspolicy *out, buf *why);
const char *tlsdest_name(int level);

/* Credentials for key from control/smtpauth: 1 found, 0 none, -1 an
 * unreadable file or a malformed line (why). */
int smtpauth_find(const char *key, buf *user, buf *pass, buf *why);

#endif
