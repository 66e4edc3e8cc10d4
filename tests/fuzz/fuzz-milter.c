/* fuzz-milter: whatever a milter may send, read by the real client
 * (src/mail/milter.c) through a socket pair, as the answers to MAIL,
 * RCPT and a whole message, and the same bytes cut into packets fed to
 * the change appliers (src/mail/milteredit.c) directly. Besides not
 * crashing: a verdict is one of the four, a refusal's reply is a 4xx or
 * 5xx line without control characters, the edited header never holds
 * an empty line or a line that is neither a field nor a continuation,
 * a new body has no CR, and the recipients stay well formed. */
#include "mail/milter.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char HDR[] = "Received: from x\nFrom: a@example.test\nSubject: hi\n\tthere\nSubject: two\n\n";
static const char BODY[] = "line one\n.line two\n";

static void checkreply(const milter_result *r)
{
	size_t i;
	if (r->verdict < MILTER_CONTINUE || r->verdict > MILTER_DISCARD) abort();
	if (r->verdict != MILTER_REJECT && r->verdict != MILTER_TEMPFAIL) return;
	if (r->reply.len < 4) abort();
	if (r->reply.s[0] != (r->verdict == MILTER_REJECT ? '5' : '4')) abort();
	for (i = 0; i < r->reply.len; i++)
		if ((unsigned char)r->reply.s[i] < 32 || r->reply.s[i] == 127) abort();
}

static void checkhdr(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		const char *lf = memchr(s + i, '\n', n - i);
		size_t e = lf ? (size_t)(lf - s) : n;
		if (!lf) abort();                       /* every line ends */
		if (e == i) abort();                    /* no empty line */
		if (s[i] != ' ' && s[i] != '\t' && !memchr(s + i, ':', e - i)) abort();
		i = e + 1;
	}
}

static void checkrcpts(const buf *b)
{
	size_t i;
	if (b->len && b->s[b->len - 1]) abort();
	for (i = 0; i < b->len; i++)
		if ((unsigned char)b->s[i] < 33 && b->s[i]) abort();
}

/* The bytes as a milter's answers, through the real reader. */
static void protocol(const uint8_t *data, size_t size)
{
	milters ms;
	milter_result r = {0, BUF_INIT};
	milter_edit e;
	struct milter_msg msg;
	buf from = BUF_INIT, rcpts = BUF_INIT, why = BUF_INIT;
	spool sp;
	int sv[2];

	if (size > 100000) return;                 /* it all fits the socket's buffer */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return;
	{
		int big = 1 << 20;
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
		setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	}
	if (size && write(sv[1], data, size) != (ssize_t)size) { close(sv[0]); close(sv[1]); return; }
	shutdown(sv[1], SHUT_WR);                  /* then end of file, never a wait */
	memset(&e, 0, sizeof e);
	spool_init(&sp, 0);
	e.body = &sp;
	milters_init(&ms, 0);
	if (milter_parse(&ms.m[0], "unix:/nonexistent timeout=1", 27, &why) < 0) abort();
	ms.n = 1;
	ms.m[0].fd = sv[0];
	ms.m[0].state = 0;
	ms.m[0].version = 6;
	ms.m[0].actions = MILTER_ACTIONS;
	ms.m[0].steps = size && (data[0] & 1) ? SMFIP_HDR_LEADSPC : 0;
	buf_puts(&from, "a@example.test");
	buf_puts(&rcpts, "b@example.test");
	buf_put0(&rcpts);
	if (milter_mail(&ms, from.s, 0, &r) < 0) abort();
	checkreply(&r);
	if (milter_rcpt(&ms, "b@example.test", 0, &r) < 0) abort();
	checkreply(&r);
	memset(&msg, 0, sizeof msg);
	msg.hdr = HDR;
	msg.hdrlen = sizeof HDR - 1;
	msg.body = BODY;
	msg.bodylen = sizeof BODY - 1;
	if (milter_eom(&ms, &msg, 0, &from, &rcpts, &r, &e) < 0) abort();
	checkreply(&r);
	if (e.hdrchanged) checkhdr(e.hdr.s, e.hdr.len);
	checkrcpts(&rcpts);
	if (e.bodychanged) {
		/* a new body has LF line ends only */
		char b[4096];
		unsigned long long off = 0;
		ssize_t k;
		while ((k = spool_read(&sp, off, b, sizeof b)) > 0) {
			if (memchr(b, '\r', (size_t)k)) abort();
			off += (unsigned long long)k;
		}
		if (k < 0 || off != sp.len) abort();
	}
	if (from.len && memchr(from.s, '\n', from.len)) abort();
	milter_close(&ms);
	milters_free(&ms);
	close(sv[1]);
	milter_edit_free(&e);
	spool_free(&sp);
	milter_result_free(&r);
	buf_free(&from);
	buf_free(&rcpts);
	buf_free(&why);
}

/* The same bytes cut into packets for the appliers. */
static void appliers(const uint8_t *data, size_t size)
{
	milter_hdrs h = MILTER_HDRS_INIT;
	buf o = BUF_INIT;
	size_t i = 0;

	if (milter_hdrs_parse(&h, HDR, sizeof HDR - 1) < 0) abort();
	while (i + 5 <= size) {
		size_t n = (size_t)data[i] << 8 | data[i + 1];   /* short lengths: more packets */
		char cmd = (char)data[i + 2];
		const char *d = (const char *)data + i + 3;
		i += 3;
		if (n > size - i) n = size - i;
		h.leadspc = cmd & 1;
		switch (cmd) {
		case SMFIR_ADDHEADER: case SMFIR_INSHEADER: case SMFIR_CHGHEADER:
			(void)milter_hdrs_apply(&h, cmd, d, n);
			checkhdr(h.text.s, h.text.len);
			break;
		case SMFIR_REPLYCODE: {
			int k = milter_replycode(d, n, &o);
			size_t j;
			if (k >= 0) {
				if ((k != 4 && k != 5) || o.len < 4 || o.s[0] != '0' + k) abort();
				for (j = 0; j < o.len; j++) if ((unsigned char)o.s[j] < 32) abort();
			}
			break;
		}
		default:
			if (milter_addr(d, n, &o) == 0) {
				size_t j;
				for (j = 0; j < o.len; j++) if ((unsigned char)o.s[j] < 33) abort();
			}
		}
		i += n;
	}
	milter_hdrs_free(&h);
	buf_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	protocol(data, size);
	appliers(data, size);
	return 0;
}
