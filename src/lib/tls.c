/* tls: OpenSSL 3 behind a handful of calls with timeouts (see tls.h).
 *
 * OpenSSL is driven in non-blocking mode: every call that would block
 * says whether it wants to read or to write, we poll the matching
 * descriptor for what is left of the timeout and try again. That keeps
 * timeouts exact even when a handshake needs several round trips. */
#include "lib/tls.h"
#include "lib/fs.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_ctx { SSL_CTX *ctx; };
struct tls { SSL *ssl; int rfd, wfd; };

/* The reason for the last OpenSSL failure, appended to err after what. */
static void reason(buf *err, const char *what)
{
	char line[256];
	unsigned long e = ERR_get_error();

	if (!err) { ERR_clear_error(); return; }
	if (buf_copys(err, what) < 0) return;
	if (e) {
		ERR_error_string_n(e, line, sizeof line);
		if (buf_puts(err, ": ") < 0 || buf_puts(err, line) < 0) return;
	}
	ERR_clear_error();
}

static SSL_CTX *newctx(const SSL_METHOD *m, buf *err)
{
	SSL_CTX *c = SSL_CTX_new(m);
	if (!c) { reason(err, "unable to create a TLS context"); return 0; }
	/* Nothing older than TLS 1.2; no renegotiation (a client could make
	 * us do a handshake's work over and over); a peer that closes without
	 * close_notify is an end of file, since SMTP and POP3 have their own
	 * end markers. */
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	                       SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return c;
}

tls_ctx *tls_server_ctx(const char *certfile, const char *ciphers, buf *err)
{
	tls_ctx *t;
	SSL_CTX *c = newctx(TLS_server_method(), err);

	if (!c) return 0;
	/* Each connection is its own process: a session cache or tickets
	 * could never be used again, so do not spend time making them. */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(c, 0);
	if (SSL_CTX_use_certificate_chain_file(c, certfile) != 1) {
		reason(err, "unable to load the certificate");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, certfile, SSL_FILETYPE_PEM) != 1) {
		reason(err, "unable to load the private key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		reason(err, "the private key does not match the certificate");
		goto fail;
	}
	if (ciphers && *ciphers && SSL_CTX_set_cipher_list(c, ciphers) != 1) {
		reason(err, "unusable cipher list");
		goto fail;
	}
	t = OPENSSL_malloc(sizeof *t);
	if (!t) { reason(err, "out of memory"); goto fail; }
	t->ctx = c;
	return t;
fail:
	SSL_CTX_free(c);
	return 0;
}

tls_ctx *tls_client_ctx(const char *cafile, buf *err)
{
	tls_ctx *t;
	SSL_CTX *c = newctx(TLS_client_method(), err);

	if (!c) return 0;
	if (cafile && *cafile) {
		if (SSL_CTX_load_verify_locations(c, cafile, 0) != 1) {
			reason(err, "unable to load the CA file");
			SSL_CTX_free(c);
			return 0;
		}
	} else if (SSL_CTX_set_default_verify_paths(c) != 1) {
		reason(err, "unable to load the system's trust store");
		SSL_CTX_free(c);
		return 0;
	}
	t = OPENSSL_malloc(sizeof *t);
	if (!t) { reason(err, "out of memory"); SSL_CTX_free(c); return 0; }
	t->ctx = c;
	return t;
}

void tls_ctx_free(tls_ctx *c)
{
	if (!c) return;
	SSL_CTX_free(c->ctx);
	OPENSSL_free(c);
}

/* Seconds left until deadline (0: no deadline, so wait forever). */
static int left(time_t deadline, int *ms)
{
	time_t now;
	if (!deadline) { *ms = -1; return 0; }
	now = time(0);
	if (now >= deadline) { errno = ETIMEDOUT; return -1; }
	*ms = (int)(deadline - now) * 1000;
	return 0;
}

/* After an OpenSSL call returned r: 1 try again (we waited for the
 * descriptor it needs), 0 the peer closed, -1 error (errno). */
static int retry(tls *t, int r, time_t deadline)
{
	struct pollfd p;
	int e = SSL_get_error(t->ssl, r), ms, k;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		p.fd = t->rfd;
		p.events = POLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		p.fd = t->wfd;
		p.events = POLLOUT;
		break;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == EINTR) return 1;
		if (!errno) errno = ECONNRESET;
		return -1;
	default:
		errno = EPROTO;
		return -1;
	}
	for (;;) {
		if (left(deadline, &ms) < 0) return -1;
		k = poll(&p, 1, ms);
		if (k > 0) return 1;
		if (k == 0) { errno = ETIMEDOUT; return -1; }
		if (errno != EINTR) return -1;
	}
}

static time_t deadline_of(int timeout)
{
	return timeout > 0 ? time(0) + timeout : 0;
}

static tls *newconn(tls_ctx *c, int rfd, int wfd, buf *err)
{
	tls *t = OPENSSL_malloc(sizeof *t);
	if (!t) { reason(err, "out of memory"); return 0; }
	t->rfd = rfd;
	t->wfd = wfd;
	t->ssl = SSL_new(c->ctx);
	if (!t->ssl) { reason(err, "unable to start TLS"); OPENSSL_free(t); return 0; }
	if (SSL_set_rfd(t->ssl, rfd) != 1 || SSL_set_wfd(t->ssl, wfd) != 1) {
		reason(err, "unable to attach TLS to the connection");
		tls_free(t);
		return 0;
	}
	fd_nonblock(rfd, 1);
	if (wfd != rfd) fd_nonblock(wfd, 1);
	return t;
}

static tls *handshake(tls *t, int server, int timeout, buf *err)
{
	time_t dl = deadline_of(timeout);
	for (;;) {
		int r = server ? SSL_accept(t->ssl) : SSL_connect(t->ssl);
		int k;
		if (r == 1) return t;
		k = retry(t, r, dl);
		if (k > 0) continue;
		if (k == 0) errno = ECONNRESET;
		if (errno == EPROTO) reason(err, "TLS handshake failed");
		else if (err) {
			int e = errno;
			ERR_clear_error();
			if (buf_copys(err, "TLS handshake failed: ") == 0) buf_puts(err, strerror(e));
			errno = e;
		}
		tls_free(t);
		return 0;
	}
}

tls *tls_accept(tls_ctx *c, int rfd, int wfd, int timeout, buf *err)
{
	tls *t = newconn(c, rfd, wfd, err);
	if (!t) return 0;
	return handshake(t, 1, timeout, err);
}

/* An address literal is not a name: it is neither sent as SNI nor
 * checked as a DNS name. */
static int isaddr(const char *host)
{
	unsigned char a[16];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

tls *tls_connect(tls_ctx *c, int fd, const char *host, int verify, int timeout, buf *err)
{
	tls *t = newconn(c, fd, fd, err);
	if (!t) return 0;
	if (host && *host) {
		if (isaddr(host)) {
			if (verify && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1) {
				reason(err, "unable to set the expected address");
				tls_free(t);
				return 0;
			}
		} else {
			if (SSL_set_tlsext_host_name(t->ssl, host) != 1 ||
			    (verify && SSL_set1_host(t->ssl, host) != 1)) {
				reason(err, "unable to set the server name");
				tls_free(t);
				return 0;
			}
		}
	}
	SSL_set_verify(t->ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, 0);
	return handshake(t, 0, timeout, err);
}

ssize_t tls_read(tls *t, void *p, size_t n, int timeout)
{
	time_t dl = deadline_of(timeout);
	size_t got;

	for (;;) {
		int r = SSL_read_ex(t->ssl, p, n, &got), k;
		if (r == 1) return (ssize_t)got;
		k = retry(t, r, dl);
		if (k > 0) continue;
		return k;
	}
}

int tls_write(tls *t, const void *p, size_t n, int timeout)
{
	time_t dl = deadline_of(timeout);
	const char *c = p;

	while (n) {
		size_t w;
		int r = SSL_write_ex(t->ssl, c, n, &w), k;
		if (r == 1) { c += w; n -= w; continue; }
		k = retry(t, r, dl);
		if (k > 0) continue;
		if (k == 0) errno = EPIPE;
		return -1;
	}
	return 0;
}

size_t tls_pending(tls *t)
{
	int n = SSL_pending(t->ssl);
	return n > 0 ? (size_t)n : 0;
}

const char *tls_version(tls *t) { return SSL_get_version(t->ssl); }

const char *tls_cipher(tls *t)
{
	const char *s = SSL_get_cipher_name(t->ssl);
	return s ? s : "unknown";
}

int tls_bits(tls *t) { return SSL_get_cipher_bits(t->ssl, 0); }

int tls_verified(tls *t)
{
	return SSL_get0_peer_certificate(t->ssl) && SSL_get_verify_result(t->ssl) == X509_V_OK;
}

void tls_close(tls *t, int timeout)
{
	time_t dl;
	int i;

	if (!t) return;
	/* One close_notify; we do not wait for the peer's. */
	dl = deadline_of(timeout ? timeout : 5);
	for (i = 0; i < 4; i++) {
		int r = SSL_shutdown(t->ssl);
		if (r >= 0) break;
		if (retry(t, r, dl) <= 0) break;
	}
	tls_free(t);
}

void tls_free(tls *t)
{
	if (!t) return;
	SSL_free(t->ssl);
	OPENSSL_free(t);
	ERR_clear_error();
}

tls *tls_connect_dane(tls_ctx *c, int fd, const char *host, const tls_tlsa *r, size_t n, int timeout, buf *err)
{
	tls *t;
	size_t i, usable = 0;

	if (SSL_CTX_dane_enable(c->ctx) <= 0) { reason(err, "unable to enable DANE"); return 0; }
	t = newconn(c, fd, fd, err);
	if (!t) return 0;
	if (SSL_dane_enable(t->ssl, host) <= 0 || SSL_set_tlsext_host_name(t->ssl, host) != 1) {
		reason(err, "unable to set up DANE");
		tls_free(t);
		return 0;
	}
	for (i = 0; i < n; i++) {
		int k = SSL_dane_tlsa_add(t->ssl, r[i].usage, r[i].selector, r[i].mtype, r[i].data, r[i].len);
		if (k > 0) usable++;
		else ERR_clear_error();
	}
	if (!usable) {
		if (err && (buf_copys(err, "no usable TLSA record") < 0)) err->len = 0;
		tls_free(t);
		return 0;
	}
	SSL_set_verify(t->ssl, SSL_VERIFY_PEER, 0);
	return handshake(t, 0, timeout, err);
}

int tls_peer_check(tls *t, const char *host)
{
	X509 *c = SSL_get0_peer_certificate(t->ssl);
	long v;
	if (!c) return TLS_PEER_NOCERT;
	v = SSL_get_verify_result(t->ssl);
	if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID) return TLS_PEER_EXPIRED;
	if (v != X509_V_OK) {
		/* with SSL_VERIFY_NONE the chain is still checked; when the
		 * name was not set for the handshake, a name error cannot be
		 * the reason */
		return TLS_PEER_UNTRUSTED;
	}
	if (!host || !*host) return TLS_PEER_NAME;
	if (isaddr(host)) return X509_check_ip_asc(c, host, 0) == 1 ? TLS_PEER_OK : TLS_PEER_NAME;
	return X509_check_host(c, host, 0, 0, 0) == 1 ? TLS_PEER_OK : TLS_PEER_NAME;
}
