/* qreceipt: answer requests for a notice of delivery.
 *
 *   in .qmail:  | qreceipt youraddress
 *
 * When the message names youraddress in a Notice-Requested-Upon-Delivery-To
 * field, qreceipt sends a short "success notice" to the envelope sender
 * ($SENDER), with an empty envelope sender of its own so that it can never
 * start a loop. Messages without such a request, and messages whose sender
 * is empty (bounces) or "#@[]" (double bounces), get no notice.
 *
 * The addresses in the field are read as qmail-inject reads them (groups,
 * comments, quoting; an address without a host is completed from
 * control/defaulthost and friends) and compared exactly with youraddress.
 * A field that does not parse is ignored rather than bounced: a helper
 * must not reject mail for a courtesy it cannot give.
 *
 * The notice says it comes from youraddress, so that the reply goes to the
 * one who received the message (qmail's qreceipt put the sender's own
 * address there). Only the header is read, each field cut to a bounded
 * size: memory does not depend on the message.
 * Exit codes: 0 (notice sent or none needed), 100 usage or permanent
 * refusal by qmail-queue, 111 temporary trouble. */
#include "mail/hdrscan.h"
#include "mail/header.h"
#include "mail/qqclient.h"
#include "lib/err.h"
#include "lib/sig.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FIELD_KEEP 65536     /* bytes kept of one header field */
#define MSGID_MAX 998        /* a longer Message-ID is not quoted back */

static int printable(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0;
	return 1;
}

/* addr as a header address: local part quoted when needed, then @host. */
static int putaddr(buf *b, const char *a)
{
	size_t n = strlen(a), at = n;
	while (at > 0 && a[at - 1] != '@') at--;
	if (!at) return addr_put_local(b, a, n);
	if (addr_put_local(b, a, at - 1) < 0) return -1;
	return buf_put(b, a + at - 1, n - at + 1);
}

int main(int argc, char **argv)
{
	const char *target, *sender, *a;
	buf f = BUF_INIT, addrs = BUF_INIT, msgid = BUF_INIT, m = BUF_INIT, why = BUF_INIT;
	addr_cfg cfg;
	int havecfg = 0, asked = 0, r;
	io_in in;
	hdrscan h;
	qq q;

	err_prog = "qreceipt";
	sig_ignore(SIGPIPE);
	if (argc != 2 || !argv[1][0]) err_die(EXIT_PERM, "usage: qreceipt youraddress", (char *)0);
	target = argv[1];
	if (!printable(target, strlen(target))) err_die(EXIT_PERM, "youraddress has control characters", (char *)0);
	if (!(sender = getenv("SENDER"))) err_die(EXIT_PERM, "SENDER not set", (char *)0);

	in_init(&in, 0, 0);
	hdrscan_init(&h, &in, FIELD_KEEP);
	while ((r = hdrscan_field(&h, &f)) == 1) {
		if (hdrscan_is(&f, "Message-ID")) {
			if (hdrscan_value(&f, &msgid) < 0) err_nomem();
			if (msgid.len > MSGID_MAX || !printable(msgid.s, msgid.len)) buf_trunc(&msgid, 0);
		} else if (hdrscan_is(&f, "Notice-Requested-Upon-Delivery-To") && !h.cut) {
			if (!havecfg) {
				r = hdrscan_cfg(&cfg);
				if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the control files", (char *)0);
				if (r == 0) err_die(EXIT_TEMP, "defaulthost, defaultdomain or plusdomain is not a host name", (char *)0);
				havecfg = 1;
			}
			addrs.len = 0;
			r = hdrscan_addrs(&cfg, &f, &addrs);
			if (r < 0) err_nomem();
			if (r == 0) continue;
			for (a = addrs.s; a < addrs.s + addrs.len; a += strlen(a) + 1)
				if (!strcmp(a, target)) asked = 1;
		}
	}
	if (r < 0) err_dieerr(EXIT_TEMP, "unable to read the message", (char *)0);
	if (!asked) return 0;
	if (!*sender || !strcmp(sender, "#@[]")) return 0;
	if (!printable(sender, strlen(sender))) return 0;

	if (buf_copys(&m, "From: DELIVERY NOTICE SYSTEM <") < 0 || putaddr(&m, target) < 0
	    || buf_puts(&m, ">\nTo: <") < 0 || putaddr(&m, sender) < 0
	    || buf_puts(&m, ">\nSubject: success notice\nAuto-Submitted: auto-replied\nDate: ") < 0
	    || header_date(&m, time(0)) < 0
	    || buf_puts(&m, "\n\nYou asked to be told when your message reached ") < 0
	    || buf_puts(&m, target) < 0
	    || buf_puts(&m, ".\nIt has been delivered there. (This notice was sent by qreceipt.)\n") < 0)
		err_nomem();
	if (msgid.len && (buf_puts(&m, "Your Message-ID: ") < 0 || buf_put(&m, msgid.s, msgid.len) < 0
	                  || buf_putc(&m, '\n') < 0))
		err_nomem();

	if (qq_open(&q, 0) < 0) err_dieerr(EXIT_TEMP, "unable to run qmail-queue", (char *)0);
	qq_put(&q, m.s, m.len);
	qq_from(&q, "");
	qq_to(&q, sender, strlen(sender));
	r = qq_close(&q, &why);
	if (r) err_die(r == 'D' ? EXIT_PERM : EXIT_TEMP, why.s, (char *)0);
	return 0;
}
