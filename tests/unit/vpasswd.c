/* Unit tests for src/mail/vpasswd.c: logins, lookups (case, comments,
 * optional fields, CR LF), and editing (replace, delete, keep others). */
#include "tap.h"
#include "mail/vpasswd.h"
#include <string.h>

int main(void)
{
	buf f = BUF_INIT, o = BUF_INIT;
	struct vpw v = VPW_INIT;
	int found;
	const char *text = "# users\njoe@x.test:$y$abc:vmail:/home/vmail/joe\r\nann@x.test:$6$def\n\nbob:!locked:bob\n";

	buf_copys(&f, text);
	ok(vpasswd_login_ok("joe@x.test", 10), "a login");
	ok(!vpasswd_login_ok("a:b", 3) && !vpasswd_login_ok("a b", 3) && !vpasswd_login_ok("", 0) &&
	   !vpasswd_login_ok("a\nb", 3), "':', blanks, empty and newlines refused");
	ok(vpasswd_find(&f, "JOE@x.test", 10, &v) == 1 && !strcmp(v.hash, "$y$abc") && !strcmp(v.account, "vmail") &&
	   !strcmp(v.home, "/home/vmail/joe"), "all four fields, case ignored, CR dropped");
	ok(vpasswd_find(&f, "ann@x.test", 10, &v) == 1 && !strcmp(v.hash, "$6$def") && !*v.account && !*v.home,
	   "optional fields absent");
	ok(vpasswd_find(&f, "bob", 3, &v) == 1 && !strcmp(v.account, "bob") && !*v.home, "three fields");
	ok(vpasswd_find(&f, "# users", 7, &v) == 0 && vpasswd_find(&f, "ann", 3, &v) == 0, "no partial or comment match");
	ok(vpasswd_edit(&f, "ann@X.TEST", 10, "ann@x.test:new", &o, &found) == 0 && found &&
	   strstr(o.s, "ann@x.test:new\n") && !strstr(o.s, "$6$def") && strstr(o.s, "joe@x.test") &&
	   strstr(o.s, "# users"), "replace keeps the others and the comments");
	ok(vpasswd_edit(&f, "zed", 3, 0, &o, &found) == 0 && !found && o.len == f.len, "deleting nothing changes nothing");
	buf_copys(&f, "a:1\nb:2");
	ok(vpasswd_edit(&f, "a", 1, 0, &o, &found) == 0 && found && !strcmp(o.s, "b:2\n"), "delete, missing final newline");
	vpw_free(&v);
	buf_free(&f);
	buf_free(&o);
	return done_testing();
}
