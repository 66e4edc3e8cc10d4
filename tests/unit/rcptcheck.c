/* Unit tests for src/mail/rcptcheck.c: the rule with the privileged
 * steps replaced by stubs (users/cdb, password file, alias, single-user
 * owner, dash, the .qmail lookup), and rcptcheck_dotqmail on a real
 * directory (ext, -default at each level, case, unsafe characters,
 * non-files, a missing home). */
#include "tap.h"
#include "mail/rcptcheck.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char home[] = "/tmp/nq-rcpt-XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", home, rel);
	f = fopen(path, "w");
	if (!f) { perror(path); exit(1); }
	fputs(text, f);
	fclose(f);
}

static int pwcalls;
static int passwd(users_ent *e, const char *local, size_t len, void *arg)
{
	pwcalls++;
	if (len == 3 && !memcmp(local, "joe", 3))
		return users_set(e, "joe", 1000, 1000, "/home/joe", "", "", 0) < 0 ? -1 : 1;
	if (len > 4 && !memcmp(local, "joe-", 4))
		return users_set(e, "joe", 1000, 1000, "/home/joe", "-", local + 4, len - 4) < 0 ? -1 : 1;
	if (len == 4 && !memcmp(local, "fail", 4)) return -1;
	return 0;
}

static char lastext[256];
static int dotqmail(const users_ent *e, void *arg)
{
	snprintf(lastext, sizeof lastext, "%s|%s|%s", e->user, e->dash, e->ext);
	return strcmp(e->ext, "yes") == 0 || strcmp(e->ext, "postmaster") == 0 ? RC_YES : RC_NO;
}

int main(void)
{
	char p[512];
	route r = ROUTE_INIT;
	nq_ids ids;
	struct rc_cfg c;
	const char *what;

	if (!mkdtemp(home)) return 1;
	snprintf(p, sizeof p, "%s/control", home);
	mkdir(p, 0755);
	setenv("NQMAIL_HOME", home, 1);
	put("control/me", "example.test\n");
	put("control/locals", "example.test\n");
	put("control/virtualdomains", "virt.test:joe\n");
	ok(route_load(&r, &what) == 0, "route loads");
	memset(&ids, 0, sizeof ids);
	ids.uid[R_ALIAS] = 70;
	memset(&c, 0, sizeof c);
	c.route = &r;
	c.cdbpath = "/nonexistent/cdb";
	c.aliashome = "/q/alias";
	c.ids = &ids;
	c.passwd = passwd;
	c.dotqmail = dotqmail;

	ok(rcptcheck(&c, "x@other.test", 12) == RC_REMOTE, "remote address: R");
	ok(rcptcheck(&c, "joe@example.test", 16) == RC_YES, "a user itself: Y without looking at files");
	ok(rcptcheck(&c, "joe-yes@example.test", 20) == RC_YES && !strcmp(lastext, "joe|-|yes"), "joe-yes: .qmail says Y");
	ok(rcptcheck(&c, "joe-no@example.test", 19) == RC_NO, "joe-no: N");
	ok(rcptcheck(&c, "nobody@example.test", 19) == RC_NO && !strcmp(lastext, "alias|-|nobody"), "falls to the alias user");
	ok(rcptcheck(&c, "postmaster", 10) == RC_YES, "no domain: envnoathost makes it local");
	ok(rcptcheck(&c, "fail@example.test", 17) == RC_UNKNOWN, "password file trouble: ?");
	ok(rcptcheck(&c, "yes@virt.test", 13) == RC_YES && !strcmp(lastext, "joe|-|yes"), "virtualdomains prepend");
	ok(rcptcheck(&c, "@example.test", 13) == RC_YES, "empty local part: the trash address");
	ok(rcptcheck(&c, "a\0b@example.test", 16) == RC_UNKNOWN, "a NUL: ?");
	ids.single = 1;
	pwcalls = 0;
	c.owner = 70;
	ok(rcptcheck(&c, "joe-yes@example.test", 20) == RC_NO && pwcalls == 0, "single-user: no password file");
	ok(rcptcheck(&c, "yes@example.test", 16) == RC_YES, "single-user: the owner's alias");
	c.owner = 71;
	ok(rcptcheck(&c, "yes@example.test", 16) == RC_NO, "single-user: another uid is refused");

	/* rcptcheck_dotqmail on a directory */
	put(".qmail-foo", "x\n");
	put(".qmail-bar-default", "x\n");
	put(".qmail-a:b", "x\n");
	snprintf(p, sizeof p, "%s/.qmail-dir", home);
	mkdir(p, 0755);
	ok(rcptcheck_dotqmail(home, "", "anything") == RC_YES, "dash empty: Y");
	ok(rcptcheck_dotqmail(home, "-", "foo") == RC_YES, ".qmail-foo");
	ok(rcptcheck_dotqmail(home, "-", "FOO") == RC_YES, "case folded");
	ok(rcptcheck_dotqmail(home, "-", "bar-x-y") == RC_YES, ".qmail-bar-default two levels up");
	ok(rcptcheck_dotqmail(home, "-", "baz") == RC_NO, "nothing for baz: N");
	ok(rcptcheck_dotqmail(home, "-", "a.b") == RC_YES, "'.' becomes ':'");
	ok(rcptcheck_dotqmail(home, "-", "../x") == RC_NO, "'/' can never leave the home");
	ok(rcptcheck_dotqmail(home, "-", "dir") == RC_NO, "a directory is not a .qmail file");
	put(".qmail-default", "x\n");
	ok(rcptcheck_dotqmail(home, "-", "baz") == RC_YES, ".qmail-default catches the rest");
	ok(rcptcheck_dotqmail("/nonexistent/home", "-", "x") == RC_UNKNOWN, "missing home: ?");
	ok(rcptcheck_dotqmail("relative", "-", "x") == RC_UNKNOWN, "relative home: ?");
	route_free(&r);
	snprintf(p, sizeof p, "rm -rf %s", home);
	(void)!system(p);
	return done_testing();
}
