/* Unit tests for src/mail/verp.c: which senders ask for VERP, the
 * per-recipient sender, and the owner address of a VERP sender. */
#include "tap.h"
#include "mail/verp.h"
#include <string.h>

static buf out = BUF_INIT;

static int sender_is(const char *sender, const char *recip, const char *want)
{
	return verp_sender(&out, sender, recip) == 0 && out.len == strlen(want) && strcmp(out.s, want) == 0;
}

static int owner_is(const char *sender, const char *want)
{
	return verp_owner(&out, sender) == 0 && strcmp(out.s, want) == 0;
}

int main(void)
{
	ok(verp_is("owner-@lists.test-@[]"), "owner-@host-@[] asks for VERP");
	ok(verp_is("x@h-@[]"), "any prefix@host-@[] asks for VERP");
	ok(!verp_is("owner-@lists.test"), "a plain sender does not");
	ok(!verp_is(""), "<> does not");
	ok(!verp_is("#@[]"), "#@[] does not");
	ok(!verp_is("-@[]"), "-@[] alone does not");
	ok(!verp_is("nohost-@[]"), "no '@' before -@[]: not VERP");
	ok(!verp_is("a@b@[]"), "@[] without the dash is not VERP");

	ok(sender_is("owner-@lists.test-@[]", "box@dom.test", "owner-box=dom.test@lists.test"),
	   "qmail's rule: prefix box=dom @host");
	ok(sender_is("joe-friends-owner-@example.test-@[]", "sub1@example.test",
	             "joe-friends-owner-sub1=example.test@example.test"), "a list's owner address");
	ok(sender_is("o-@h-@[]", "a@b@c", "o-a@b=c@h"), "the recipient's last '@' splits it");
	ok(sender_is("o-@h-@[]", "nodomain", "o-@h-@[]"), "a recipient without '@' keeps the sender");
	ok(sender_is("joe@far.test", "box@dom.test", "joe@far.test"), "a plain sender is kept");
	ok(sender_is("", "box@dom.test", ""), "<> is kept");
	ok(sender_is("nohost-@[]", "box@dom.test", "nohost-@[]"), "a malformed VERP sender is kept");
	ok(sender_is("o@-@[]", "a@b", "oa=b@"), "an empty host stays empty");

	ok(owner_is("owner-@lists.test-@[]", "owner-@lists.test"), "owner: -@[] taken off");
	ok(owner_is("nohost-@[]", "nohost"), "owner: qmail takes -@[] off any sender ending so");
	ok(owner_is("joe@far.test", "joe@far.test"), "owner: plain sender unchanged");
	ok(owner_is("#@[]", "#@[]"), "owner: #@[] unchanged");
	buf_free(&out);
	return done_testing();
}
