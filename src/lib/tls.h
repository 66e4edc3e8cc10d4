/* tls: a small wrapper around OpenSSL 3 for both ends of a connection.
 *
 * The servers (qmail-smtpd's STARTTLS and SMTPS, qmail-pop3d's STLS) load
 * one PEM file that holds the certificate chain and the private key, and
 * accept a handshake on a pair of descriptors (tcpserver gives 0 and 1).
 * The client (qmail-remote) connects with SNI and, when asked, verifies
 * the peer's certificate and name against the system's trust store.
 *
 * Everything is done with non-blocking descriptors and poll(), so that
 * every read, write and handshake honours a timeout in seconds (0: none),
 * exactly like src/lib/io.h. Errors are reported as -1 with errno set
 * (ETIMEDOUT after the timeout, EPROTO for a TLS protocol failure, ECONNRESET
 * for an unclean close) and, where a buf is given, a one-line reason.
 * No global state beyond OpenSSL's own. */
#ifndef NQ_TLS_H
#define NQ_TLS_H
#include <stddef.h>
#include <sys/types.h>
#include "lib/buf.h"

typedef struct tls_ctx tls_ctx;   /* a configuration: SSL_CTX */
typedef struct tls tls;           /* one connection: SSL */

/* Server side: certificate chain and key from the PEM file certfile
 * (both in one file, as control/servercert.pem holds them). ciphers, when
 * non-null and non-empty, is an OpenSSL cipher list for TLS 1.2 and below.
 * Returns 0 with a reason in err when the file is missing or unusable. */
tls_ctx *tls_server_ctx(const char *certfile, const char *ciphers, buf *err);

/* Client side: cafile (0: the system's default trust store) is used to
 * verify the server when tls_connect is asked to. */
tls_ctx *tls_client_ctx(const char *cafile, buf *err);
void tls_ctx_free(tls_ctx *c);

/* Handshakes. The descriptors are switched to non-blocking mode for the
 * life of the connection. Returns 0 with a reason in err on failure. */
tls *tls_accept(tls_ctx *c, int rfd, int wfd, int timeout, buf *err);
/* verify: 1 to require a certificate valid for host (host is also sent
 * as SNI when it is a name, not an address literal). */
tls *tls_connect(tls_ctx *c, int fd, const char *host, int verify, int timeout, buf *err);

/* Read at most n bytes: >0 bytes, 0 the peer closed (cleanly or not),
 * -1 error (errno). */
ssize_t tls_read(tls *t, void *p, size_t n, int timeout);
/* Write all n bytes: 0 or -1 (errno). */
int tls_write(tls *t, const void *p, size_t n, int timeout);
/* Bytes already decrypted and waiting to be read. */
size_t tls_pending(tls *t);

/* What was negotiated, for Received lines and logs: "TLSv1.3",
 * "TLS_AES_256_GCM_SHA384", the cipher's secret bits. */
const char *tls_version(tls *t);
const char *tls_cipher(tls *t);
int tls_bits(tls *t);
/* 1 when the peer presented a certificate that verified (client side:
 * against cafile and the host name given to tls_connect). */
int tls_verified(tls *t);

/* Send close_notify (best effort, within timeout) and free. */
void tls_close(tls *t, int timeout);
/* Free without a shutdown (after an error). */
void tls_free(tls *t);

/* DANE (RFC 7672), added for qmail-remote: connect as tls_connect does,
 * but authenticate the server by the TLSA records given instead of the
 * trust store, with OpenSSL's own DANE code (SSL_dane_enable,
 * SSL_dane_tlsa_add). host is the TLSA base domain (the exchanger's
 * name), also sent as SNI and matched by DANE-TA(2) certificates. Only
 * records OpenSSL finds usable count; none usable fails. */
typedef struct tls_tlsa {
	unsigned char usage, selector, mtype;
	const unsigned char *data;
	size_t len;
} tls_tlsa;
tls *tls_connect_dane(tls_ctx *c, int fd, const char *host, const tls_tlsa *r, size_t n, int timeout, buf *err);

/* Added for MTA-STS (src/mail/mtasts.h): check, after a handshake made
 * without verification, whether the peer's certificate chains to the
 * context's trust store and is valid for the name host, without ending
 * the connection. TLS_PEER_OK, or why not: no certificate, expired (or
 * not yet valid), not trusted (any other chain error), or valid but for
 * another name. */
enum { TLS_PEER_OK, TLS_PEER_NOCERT, TLS_PEER_EXPIRED, TLS_PEER_UNTRUSTED, TLS_PEER_NAME };
int tls_peer_check(tls *t, const char *host);

#endif
