/* Unit tests for src/lib/tls.c and src/lib/stream.c: a server and a
 * client over a socket pair (the certificate made by the openssl
 * command), data both ways through stream, verification against a CA
 * file with the right and a wrong name, a handshake that times out, an
 * unusable certificate file, and stream_tls dropping buffered input. */
#include "tap.h"
#include "lib/stream.h"
#include "lib/tls.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/nq-tls-XXXXXX";
static char pem[300];

/* Serve one connection on fd: handshake, echo one line in upper case. */
static void server(int fd)
{
	buf err = BUF_INIT, line = BUF_INIT;
	tls_ctx *c = tls_server_ctx(pem, 0, &err);
	stream s;
	tls *t;
	size_t i;

	if (!c) _exit(2);
	t = tls_accept(c, fd, fd, 5, &err);
	if (!t) _exit(3);
	stream_init(&s, fd, fd, 5);
	stream_tls(&s, t);
	if (stream_getline(&s, &line, 100) != 1) _exit(4);
	for (i = 0; i < line.len; i++) if (line.s[i] >= 'a' && line.s[i] <= 'z') line.s[i] -= 32;
	if (stream_put(&s, line.s, line.len) < 0 || stream_flush(&s) < 0) _exit(5);
	tls_close(t, 5);
	_exit(0);
}

/* Connect to a fresh server; returns the client connection or 0. */
static tls *client(const char *cafile, const char *host, int verify, pid_t *pid, int *fd)
{
	int sv[2];
	buf err = BUF_INIT;
	tls_ctx *c;
	tls *t;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	*pid = fork();
	if (*pid == 0) { close(sv[0]); server(sv[1]); }
	close(sv[1]);
	c = tls_client_ctx(cafile, &err);
	if (!c) { printf("# %s\n", err.s); return 0; }
	t = tls_connect(c, sv[0], host, verify, 5, &err);
	if (!t) printf("# %s\n", err.s ? err.s : "");
	tls_ctx_free(c);
	*fd = sv[0];
	return t;
}

int main(void)
{
	char cmd[1024];
	buf err = BUF_INIT, line = BUF_INIT;
	tls *t;
	pid_t pid;
	int fd, st, sv[2];
	stream s;

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir)) return 1;
	snprintf(cmd, sizeof cmd, "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mx.example.test "
	         "-addext subjectAltName=DNS:mx.example.test -keyout k.pem -out c.pem >/dev/null 2>&1 && cat c.pem k.pem > both.pem", dir);
	if (system(cmd) != 0) { printf("1..0 # SKIP openssl cannot make a certificate\n"); return 0; }
	snprintf(pem, sizeof pem, "%s/both.pem", dir);

	t = client(0, "mx.example.test", 0, &pid, &fd);
	ok(t != 0, "handshake without verification");
	if (t) {
		ok(!strncmp(tls_version(t), "TLSv1.", 6) && strlen(tls_cipher(t)) > 3 && tls_bits(t) >= 128,
		   "version, cipher and bits are known");
		ok(!tls_verified(t), "self-signed, no CA given: not verified");
		stream_init(&s, fd, fd, 5);
		stream_tls(&s, t);
		ok(stream_puts(&s, "hello tls\n") == 0 && stream_flush(&s) == 0, "write through the stream");
		ok(stream_getline(&s, &line, 100) == 1 && !strcmp(line.s, "HELLO TLS\n"), "read the answer");
		tls_close(t, 5);
	}
	close(fd);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server side completed");

	snprintf(cmd, sizeof cmd, "%s/c.pem", dir);
	t = client(cmd, "mx.example.test", 1, &pid, &fd);
	ok(t && tls_verified(t), "verified against the CA file with the right name");
	if (t) tls_free(t);
	close(fd);
	waitpid(pid, &st, 0);
	t = client(cmd, "other.example.test", 1, &pid, &fd);
	ok(!t, "a wrong name fails the handshake");
	close(fd);
	waitpid(pid, &st, 0);

	/* A peer that never answers: the handshake times out. */
	{
		tls_ctx *c = tls_client_ctx(0, &err);
		time_t t0 = time(0);
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		t = tls_connect(c, sv[0], "x.test", 0, 1, &err);
		ok(!t && errno == ETIMEDOUT && time(0) - t0 <= 3, "silent peer: ETIMEDOUT");
		close(sv[0]);
		close(sv[1]);
		tls_ctx_free(c);
	}
	snprintf(cmd, sizeof cmd, "%s/k.pem", dir);
	ok(tls_server_ctx(cmd, 0, &err) == 0 && err.len > 0, "a key without a certificate: refused with a reason");
	ok(tls_server_ctx("/nonexistent.pem", 0, &err) == 0, "a missing file: refused");

	/* stream_tls drops what was buffered in plain text. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	(void)!write(sv[1], "STARTTLS\r\nEVIL\r\n", 16);
	stream_init(&s, sv[0], sv[0], 5);
	line.len = 0;
	ok(stream_getline(&s, &line, 100) == 1 && stream_buffered(&s) == 6, "the pipelined line is buffered");
	stream_tls(&s, (tls *)0);
	ok(stream_buffered(&s) == 0, "stream_tls discards it");
	close(sv[0]);
	close(sv[1]);

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)!system(cmd);
	buf_free(&err);
	buf_free(&line);
	return done_testing();
}
