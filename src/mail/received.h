/* received: the Received: field qmail-smtpd puts on top of each message
 * (RFC 5321 section 4.4, with qmail's layout), naming what the client
 * said and what we know of it:
 *
 *   Received: from REMOTEHOST (HELO helo) (info@[IP])
 *     by ME (nqmail) with PROTO (TLS version and cipher); DATE
 *
 * REMOTEHOST is tcpserver's TCPREMOTEHOST, or "unknown"; the HELO part is
 * left out when it says the same as REMOTEHOST; PROTO is SMTP, ESMTP,
 * ESMTPS, ESMTPA or ESMTPSA (RFC 3848). Everything the client chose (HELO,
 * TCPREMOTEINFO) is cleaned so that it can neither end the field nor
 * close a comment early, and is shortened to a sane length. */
#ifndef NQ_RECEIVED_H
#define NQ_RECEIVED_H
#include <time.h>
#include "lib/buf.h"

#define RECEIVED_WORD_MAX 200   /* bytes kept of a HELO or remote info */

struct received {
	const char *helo;         /* 0: the client never said */
	const char *remoteip;     /* 0: unknown */
	const char *remotehost;   /* 0: unknown */
	const char *remoteinfo;   /* ident, or 0 */
	const char *me;
	const char *proto;
	const char *tlsversion;   /* 0: no TLS */
	const char *tlscipher;
	int tlsbits;
	time_t when;
};

/* Append the field, ending in LF, to out. 0 or -1 (out of memory). */
int received_line(buf *out, const struct received *r);

/* The RFC 3848 protocol name. */
const char *received_proto(int esmtp, int tls, int auth);

#endif
