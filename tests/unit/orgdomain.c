/* Unit tests for src/mail/orgdomain.c: Organizational Domains (RFC 7489
 * 3.2) with a small list of our own (normal, wildcard and exception
 * rules, the implicit "*"), then with Debian's list when installed, and
 * alignment, strict and relaxed. */
#include "tap.h"
#include "mail/orgdomain.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is(const char *name, const char *want)
{
	buf b = BUF_INIT;
	int r = orgdomain(name, &b) == 0 && !strcmp(b.s, want);
	if (!r) printf("# %s -> %s, want %s\n", name, b.s ? b.s : "(error)", want);
	buf_free(&b);
	return r;
}

int main(void)
{
	char path[] = "/tmp/nqt-psl-XXXXXX";
	int fd = mkstemp(path);
	const char *list = "// a comment\n\ncom\nuk\nco.uk\n*.ck\n!www.ck\nblogspot.com\n";
	buf b = BUF_INIT;

	if (fd < 0 || write(fd, list, strlen(list)) != (ssize_t)strlen(list)) return 1;
	close(fd);
	orgdomain_list(path);
	ok(is("www.example.com", "example.com"), "one label under a rule");
	ok(is("a.b.example.co.uk", "example.co.uk"), "the longest rule wins");
	ok(is("Mail.EXAMPLE.com.", "example.com"), "case and a final dot ignored");
	ok(is("x.foo.blogspot.com", "foo.blogspot.com"), "a private-section rule");
	ok(is("a.b.c.ck", "b.c.ck"), "a wildcard rule");
	ok(is("a.www.ck", "www.ck"), "an exception rule");
	ok(is("sub.example.test", "example.test"), "a TLD the list does not know: the implicit *");
	ok(is("example.com", "example.com") && is("com", "com") && is("co.uk", "co.uk"),
	   "a name that is its own, or a public suffix");
	ok(orgdomain("a..b", &b) < 0 && orgdomain("", &b) < 0 && orgdomain(".a", &b) < 0, "not domain names");
	ok(orgdomain_aligned("mail.example.com", "example.com", 0) == 1, "relaxed: subdomain aligns");
	ok(orgdomain_aligned("a.example.test", "b.example.test", 0) == 1, "relaxed: siblings align");
	ok(orgdomain_aligned("mail.example.com", "example.com", 1) == 0, "strict: subdomain does not");
	ok(orgdomain_aligned("EXAMPLE.com", "example.com.", 1) == 1, "strict: the same name");
	ok(orgdomain_aligned("example.co.uk", "other.co.uk", 0) == 0, "relaxed: two domains under one suffix do not");
	ok(orgdomain_aligned("co.uk", "example.co.uk", 0) == 0, "a public suffix aligns with nothing under it");
	unlink(path);

	orgdomain_list(0);
	if (access(ORGDOMAIN_PSL, R_OK) == 0) {
		ok(is("a.b.example.co.uk", "example.co.uk"), "Debian's list: co.uk");
		ok(is("x.y.example.com.au", "example.com.au"), "Debian's list: com.au");
	} else {
		ok(1, "# SKIP no public suffix list installed");
		ok(1, "# SKIP no public suffix list installed");
	}
	orgdomain_list("/nonexistent/list");
	ok(is("a.example.co.uk", "co.uk"), "without a list: the implicit * alone");
	buf_free(&b);
	return done_testing();
}
