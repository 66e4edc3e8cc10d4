/* Unit tests for src/mail/authres.c (building our Authentication-Results
 * field, recognising and removing fields in our name, in chunks of any
 * size) and the parts of src/mail/spf.c that need no DNS. */
#include "mail/authres.h"
#include "mail/spf.h"
#include "tap.h"
#include <string.h>

/* Run the filter over msg in chunks of k bytes. */
static int filter(const char *msg, size_t k, buf *out)
{
	struct authres_filter f;
	size_t n = strlen(msg), i;
	out->len = 0;
	authres_filter_init(&f, "mx.example.com");
	for (i = 0; i < n; i += k)
		if (authres_filter_feed(&f, msg + i, n - i < k ? n - i : k, out) < 0) return -1;
	if (authres_filter_end(&f, out) < 0) return -1;
	authres_filter_free(&f);
	return 0;
}

static int ours(const char *s, int complete)
{
	return authres_ours(s, strlen(s), "mx.example.com", complete);
}

int main(void)
{
	struct authres a = AUTHRES_INIT;
	buf b = BUF_INIT;
	size_t k;
	int all;

	/* building */
	ok(authres_header(&b, "mx.example.com", &a) == 0 &&
	   strcmp(b.s, "Authentication-Results: mx.example.com; none\n") == 0, "no result: none");
	ok(authres_add(&a, "spf", "pass", 0, "smtp.mailfrom", "joe@example.org") == 0, "add spf");
	ok(authres_add(&a, "dkim", "fail", "bad (sig)", "header.d", "example.org") == 0, "add dkim");
	b.len = 0;
	ok(authres_header(&b, "mx.example.com", &a) == 0 &&
	   strcmp(b.s, "Authentication-Results: mx.example.com;\n\tspf=pass smtp.mailfrom=joe@example.org;\n"
	               "\tdkim=fail (bad \\(sig\\)) header.d=example.org\n") == 0, "two results, one field");
	authres_clear(&a);
	ok(authres_add(&a, "spf", "fail", 0, "smtp.mailfrom", "joe smith@example.org") == 0, "odd local part");
	b.len = 0;
	ok(authres_header(&b, "h", &a) == 0 && strstr(b.s, "smtp.mailfrom=@example.org\n") != 0,
	   "a local part that is no dot-atom leaves @domain");
	authres_clear(&a);
	ok(authres_add(&a, "spf", "none", 0, "smtp.helo", "[bad\"helo\n]") == 0, "odd helo");
	b.len = 0;
	ok(authres_header(&b, "h", &a) == 0 && strstr(b.s, "smtp.helo=\"[bad\\\"helo?]\"\n") != 0,
	   "a HELO name that is no domain is quoted, control characters replaced");
	authres_free(&a);

	/* whose field is it */
	ok(ours("Authentication-Results: mx.example.com; spf=pass", 0) == 1, "ours");
	ok(ours("Authentication-Results: MX.Example.COM; spf=pass", 0) == 1, "case ignored");
	ok(ours("Authentication-Results: other.example; spf=pass", 0) == 0, "another host's");
	ok(ours("Authentication-Results: mx.example.com.evil; spf=pass", 0) == 0, "a longer name");
	ok(ours("Authentication-Results: mx.example; spf=pass", 0) == 0, "a shorter name");
	ok(ours("Authentication-Results: (c;c) \"mx.example.com\" 1; spf=pass", 0) == 1, "comment, quotes, version");
	ok(ours("Authentication-Results: (unfinished", 0) == -1, "undecided while the comment is open");
	ok(ours("Authentication-Results: mx.exam", 0) == -1, "undecided while the id may go on");
	ok(ours("Authentication-Results: mx.example.com", 1) == 1, "decided at the end of the field");
	ok(ours("Authentication-Results:", 1) == 0, "no id at all: not ours");

	/* the filter, in every chunk size */
	{
		const char *in =
			"Authentication-Results: mx.example.com; spf=pass\n"
			"X-A: 1\n"
			"Authentication-Results: other.example;\n\tspf=fail\n"
			"Authentication-Results:\n mx.example.com;\n spf=pass\n"
			"Authentication-Resultsx: mx.example.com\n"
			"Subject: hi\n"
			"\n"
			"Authentication-Results: mx.example.com; body\n";
		const char *want =
			"X-A: 1\n"
			"Authentication-Results: other.example;\n\tspf=fail\n"
			"Authentication-Resultsx: mx.example.com\n"
			"Subject: hi\n"
			"\n"
			"Authentication-Results: mx.example.com; body\n";
		for (all = 1, k = 1; k <= strlen(in); k++)
			if (filter(in, k, &b) < 0 || b.len != strlen(want) || memcmp(b.s, want, b.len) != 0) all = 0;
		ok(all, "ours removed, others kept, the body untouched, in chunks of every size");
		ok(filter("Authentication-Results: mx.example.com; x", 3, &b) == 0 && b.len == 0,
		   "a header-only message ending inside our field");
		ok(filter("Authentication-Results: other; x", 5, &b) == 0 &&
		   strcmp(b.s, "Authentication-Results: other; x") == 0, "a header-only message ending inside another's");
	}
	{
		/* a field that hides its id behind too many comments goes */
		buf big = BUF_INIT;
		int i;
		buf_puts(&big, "Authentication-Results: ");
		for (i = 0; i < 500; i++) buf_puts(&big, "(c)");
		buf_puts(&big, " other.example; spf=pass\nSubject: s\n\nbody\n");
		ok(filter(big.s, 7, &b) == 0 && strcmp(b.s, "Subject: s\n\nbody\n") == 0,
		   "an id hidden past AUTHRES_HOLD_MAX: removed");
		buf_free(&big);
	}

	/* spf.c without DNS */
	ok(strcmp(spf_name(SPFR_PASS), "pass") == 0 && strcmp(spf_name(SPFR_TEMPERROR), "temperror") == 0 &&
	   strcmp(spf_name(SPFR_PERMERROR), "permerror") == 0 && strcmp(spf_name(SPFR_NONE), "none") == 0,
	   "result names as RFC 8601 spells them");
	buf_free(&b);
	return done_testing();
}
