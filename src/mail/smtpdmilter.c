/* smtpdmilter: qmail-smtpd's side of the milters; see smtpdmilter.h.
 * The macros are the ones milters commonly ask for (sendmail's names):
 * j {daemon_name} v _ {client_addr} {client_name} {client_port}
 * {if_addr} at the start, the TLS facts at HELO, {mail_addr} i and
 * {auth_authen} at MAIL, {rcpt_addr} at RCPT, i (qmail-queue's pid) at
 * the end of the message. */
#include "mail/smtpdmilter.h"
#include "lib/str.h"
#include <errno.h>
#include <string.h>

int smilter_load(smilter *sm, const char *dir, milter_logfn *log, buf *why)
{
	memset(sm, 0, sizeof *sm);
	spool_init(&sm->newbody, dir);
	milters_init(&sm->ms, log);
	return milters_load(&sm->ms, why);
}

int smilter_active(const smilter *sm) { return sm->ms.n > 0; }

static int mac(smilter *sm, const char *name, const char *value)
{
	return milter_macro(&sm->mac, name, value);
}

/* A refusal's reply into reply: 1, or -1 out of memory. */
static int refused(const milter_result *r, buf *reply)
{
	return buf_copy(reply, r->reply.s, r->reply.len) < 0 ? -1 : 1;
}

static int refusal(int v) { return v == MILTER_REJECT || v == MILTER_TEMPFAIL; }

int smilter_connect(smilter *sm, const struct smilter_client *c, buf *reply)
{
	struct milter_client mc;
	milter_result r = {0, BUF_INIT};
	unsigned long pn = 0;
	buf u = BUF_INIT;
	int k = 0;

	if (!sm->ms.n) return 0;
	sm->mac.len = 0;
	if (buf_copys(&u, c->host ? c->host : "unknown") < 0 || buf_puts(&u, " [") < 0 ||
	    buf_puts(&u, c->ip) < 0 || buf_putc(&u, ']') < 0 ||
	    mac(sm, "j", c->me) < 0 || mac(sm, "{daemon_name}", "qmail-smtpd") < 0 || mac(sm, "v", "nqmail") < 0 ||
	    mac(sm, "_", u.s) < 0 || mac(sm, "{client_addr}", c->ip) < 0 ||
	    mac(sm, "{client_name}", c->host ? c->host : "unknown") < 0 ||
	    (c->port && mac(sm, "{client_port}", c->port) < 0) ||
	    (c->localip && mac(sm, "{if_addr}", c->localip) < 0))
		goto nomem;
	memset(&mc, 0, sizeof mc);
	mc.hostname = c->host;
	mc.ip = str_eq(c->ip, "unknown") ? 0 : c->ip;
	if (c->port && str_toul(c->port, &pn) == 0 && pn < 65536) mc.port = (unsigned)pn;
	if (milter_open(&sm->ms, &mc, &sm->mac, &r) < 0) goto nomem;
	if (refusal(r.verdict)) {
		/* as a greeting: 554 (then only QUIT) or 421 */
		if (buf_copys(reply, r.verdict == MILTER_REJECT ? "554 " : "421 ") < 0 ||
		    buf_puts(reply, r.reply.s + 4) < 0) goto nomem;
		k = 1;
	}
	buf_free(&u);
	milter_result_free(&r);
	return k;
nomem:
	buf_free(&u);
	milter_result_free(&r);
	return -1;
}

int smilter_helo(smilter *sm, const char *helo, const struct smilter_tls *t, buf *reply)
{
	milter_result r = {0, BUF_INIT};
	char num[24];
	int k = 0;

	sm->heloreply.len = 0;
	if (!sm->ms.n) return 0;
	sm->mac.len = 0;
	if (t && t->version) {
		fmt_ulong(num, (unsigned long long)(t->bits > 0 ? t->bits : 0));
		if (mac(sm, "{tls_version}", t->version) < 0 || mac(sm, "{cipher}", t->cipher ? t->cipher : "") < 0 ||
		    mac(sm, "{cipher_bits}", num) < 0) return -1;
	}
	if (milter_helo(&sm->ms, helo, &sm->mac, &r) < 0) k = -1;
	else if (refusal(r.verdict)) {
		k = refused(&r, reply);
		if (k > 0 && buf_copy(&sm->heloreply, r.reply.s, r.reply.len) < 0) k = -1;
	}
	milter_result_free(&r);
	return k;
}

const char *smilter_helorefused(const smilter *sm)
{
	return sm->heloreply.len ? sm->heloreply.s : 0;
}

int smilter_mail(smilter *sm, const char *from, const char *login, buf *reply)
{
	milter_result r = {0, BUF_INIT};
	int k = 0;

	sm->discard = 0;
	if (!sm->ms.n) return 0;
	sm->mac.len = 0;
	if (mac(sm, "{mail_addr}", from) < 0 || mac(sm, "i", "") < 0 ||
	    (login && mac(sm, "{auth_authen}", login) < 0)) return -1;
	if (milter_mail(&sm->ms, from, &sm->mac, &r) < 0) k = -1;
	else if (refusal(r.verdict)) {
		k = refused(&r, reply);
		milter_abort(&sm->ms);
	} else if (r.verdict == MILTER_DISCARD) sm->discard = 1;
	milter_result_free(&r);
	return k;
}

int smilter_rcpt(smilter *sm, const char *addr, size_t n, buf *reply)
{
	milter_result r = {0, BUF_INIT};
	buf a = BUF_INIT;
	int k = 0;

	if (!sm->ms.n) return 0;
	sm->mac.len = 0;
	if (buf_copy(&a, addr, n) < 0 || mac(sm, "{rcpt_addr}", a.s) < 0) { buf_free(&a); return -1; }
	if (milter_rcpt(&sm->ms, a.s, &sm->mac, &r) < 0) k = -1;
	else if (refusal(r.verdict)) k = refused(&r, reply);
	else if (r.verdict == MILTER_DISCARD) sm->discard = 1;
	buf_free(&a);
	milter_result_free(&r);
	return k;
}

static ssize_t spoolread(void *arg, unsigned long long off, char *p, size_t n)
{
	return spool_read(arg, off, p, n);
}

int smilter_tail(spool *sp, unsigned long long off, int (*fn)(void *arg, const char *p, size_t n), void *arg)
{
	char b[8192];
	ssize_t k;
	int r;

	while ((k = spool_read(sp, off, b, sizeof b)) > 0) {
		if ((r = fn(arg, b, (size_t)k)) != 0) return r;
		off += (unsigned long long)k;
	}
	return k < 0 ? -1 : 0;
}

/* The quarantine field: the reason with control characters made blanks. */
static int qfield(buf *out, const buf *reason)
{
	size_t i;
	if (buf_puts(out, SMILTER_QFIELD) < 0) return -1;
	for (i = 0; i < reason->len; i++)
		if (buf_putc(out, (unsigned char)reason->s[i] < 32 || reason->s[i] == 127 ? ' ' : reason->s[i]) < 0) return -1;
	return buf_putc(out, '\n');
}

int smilter_eom(smilter *sm, const buf *head, spool *sp, pid_t qp, buf *from, buf *rcpts,
                struct smilter_out *o, buf *reply)
{
	milter_result r = {0, BUF_INIT};
	milter_edit e;
	struct milter_msg msg;
	buf hdr = BUF_INIT;
	const char *inmem;
	unsigned long long hl = spool_header(sp, &inmem);
	char num[24];
	int k = -1;

	o->front.len = 0;
	o->body = 0;
	o->rest = 0;
	reply->len = 0;
	if (sm->discard) {
		if (sm->ms.log) sm->ms.log("the message is discarded: a milter said so before DATA");
		return 1;
	}
	if (!sm->ms.n) return buf_copy(&o->front, head->s, head->len) < 0 ? -1 : 0;
	if (hl > SMILTER_HDR_MAX) {
		milter_abort(&sm->ms);
		return buf_copys(reply, "552 5.3.4 message header too large for the content filters") < 0 ? -1 : 1;
	}
	memset(&e, 0, sizeof e);
	spool_reset(&sm->newbody);
	e.body = &sm->newbody;
	if (buf_copy(&hdr, head->s, head->len) < 0) goto out;
	if (inmem) {
		if (buf_put(&hdr, inmem, (size_t)hl) < 0) goto out;
	} else {
		if (buf_ready(&hdr, (size_t)hl) < 0) goto out;
		if (spool_read(sp, 0, hdr.s + hdr.len, (size_t)hl) != (ssize_t)hl) {
			milter_abort(&sm->ms);
			k = buf_copys(reply, "451 4.3.0 unable to read the message back; try again later") < 0 ? -1 : 1;
			goto out;
		}
		hdr.len += (size_t)hl;
		hdr.s[hdr.len] = 0;
	}
	memset(&msg, 0, sizeof msg);
	msg.hdr = hdr.s;
	msg.hdrlen = hdr.len;
	msg.read = spoolread;
	msg.arg = sp;
	msg.bodyoff = hl;
	msg.bodylen = sp->len - hl;
	sm->mac.len = 0;
	fmt_ulong(num, (unsigned long long)qp);
	if (mac(sm, "i", num) < 0) goto out;
	if (milter_eom(&sm->ms, &msg, &sm->mac, from, rcpts, &r, &e) < 0) goto out;
	if (refusal(r.verdict)) { k = refused(&r, reply); goto out; }
	if (r.verdict == MILTER_DISCARD) { k = 1; goto out; }
	/* What goes in front of the rest: the fields as they are now, a
	 * quarantine field, and after a change the empty line from our copy
	 * (one is made for a new body), the body following from the spool,
	 * or from the new body's. */
	if (e.hdrchanged) {
		if (buf_copy(&o->front, e.hdr.s, e.hdr.len) < 0) goto out;
	} else if (e.bodychanged) {
		if (buf_copy(&o->front, hdr.s, e.hdrend) < 0) goto out;
	} else if (buf_copy(&o->front, head->s, head->len) < 0) goto out;
	if (e.quarantine && qfield(&o->front, &e.reason) < 0) goto out;
	if (e.hdrchanged || e.bodychanged) {
		if (buf_put(&o->front, hdr.s + e.hdrend, hdr.len - e.hdrend) < 0) goto out;
		if (e.bodychanged && hdr.len == e.hdrend && buf_putc(&o->front, '\n') < 0) goto out;
		o->rest = e.bodychanged ? 0 : hl;
		if (e.bodychanged) o->body = &sm->newbody;
	}
	k = 0;
out:
	buf_free(&hdr);
	milter_edit_free(&e);
	milter_result_free(&r);
	return k;
}

void smilter_reset(smilter *sm)
{
	sm->discard = 0;
	spool_reset(&sm->newbody);
	milter_abort(&sm->ms);
}

void smilter_close(smilter *sm)
{
	milter_close(&sm->ms);
}
