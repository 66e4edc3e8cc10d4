/* Unit tests for the pieces of src/mail/dmarc.c that need no DNS: the
 * From field's domain (folded, commented, several fields), and the
 * results as they go into the Authentication-Results field (with
 * authres_addp's several properties). */
#include "tap.h"
#include "mail/dmarc.h"
#include <string.h>

static int from(const char *h, int count, const char *dom)
{
	buf d = BUF_INIT;
	int n = dmarc_fromdomain(h, strlen(h), &d), r;
	r = n == count && !strcmp(d.s ? d.s : "", dom);
	if (!r) printf("# %d '%s'\n", n, d.s ? d.s : "");
	buf_free(&d);
	return r;
}

int main(void)
{
	struct authres a = AUTHRES_INIT;
	struct dmarc_out o;
	buf h = BUF_INIT;
	const char *props[] = {"header.d", "example.org", "header.s", "sel", "header.b", "Ab+/12Cd", 0};

	ok(from("Subject: x\nFrom: Joe <joe@Example.ORG>\n\nFrom: x@y.test\n", 1, "example.org"),
	   "From's domain, lower-cased; the body is not header");
	ok(from("from :\n \"a@b.test\" (c@d.test)\n\t<e@f.test>\n\n", 1, "f.test"),
	   "a folded field, with a quoted string and a comment");
	ok(from("From: a@one.test\nTo: x@y.test\nFROM: b@two.test\n\n", 2, "one.test"), "two From fields counted");
	ok(from("To: x@y.test\n\n", 0, ""), "no From field");
	ok(from("From: undisclosed\n\n", 1, ""), "a From without a domain");
	ok(from("X-From: a@b.test\nFromage: c@d.test\n\n", 0, ""), "other fields that begin alike");

	ok(authres_addp(&a, "dkim", "pass", 0, props) == 0 && authres_header(&h, "mx.test", &a) == 0 &&
	   !strcmp(h.s, "Authentication-Results: mx.test;\n\tdkim=pass header.d=example.org header.s=sel header.b=Ab+/12Cd\n"),
	   "several properties in one result");
	memset(&o, 0, sizeof o);
	o.result = "fail";
	o.policy = "reject";
	o.action = DMARC_DO_QUARANTINE;
	memcpy(o.from, "example.org", 12);
	authres_clear(&a);
	h.len = 0;
	ok(dmarc_authres(&o, &a) == 0 && authres_header(&h, "mx.test", &a) == 0 &&
	   !strcmp(h.s, "Authentication-Results: mx.test;\n\tdmarc=fail (p=reject dis=quarantine) header.from=example.org\n"),
	   "dmarc=fail with the policy and what was done");
	memset(&o, 0, sizeof o);
	o.result = "permerror";
	o.why = "more than one From field";
	authres_clear(&a);
	h.len = 0;
	ok(dmarc_authres(&o, &a) == 0 && authres_header(&h, "mx.test", &a) == 0 &&
	   !strcmp(h.s, "Authentication-Results: mx.test;\n\tdmarc=permerror (more than one From field)\n"),
	   "no From domain: no header.from");
	authres_free(&a);
	buf_free(&h);
	return done_testing();
}
