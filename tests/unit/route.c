/* Unit tests for src/mail/route.c: locals, virtualdomains (every form),
 * case, percenthack, envnoathost, defaults, and the reverse rewrite used
 * in bounces. Control files are written into a temporary instance named
 * by NQMAIL_HOME. */
#include "tap.h"
#include "mail/route.h"
#include "lib/cmap.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char home[] = "/tmp/nq-route-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof path, "%s/control/%s", home, name);
	if (!text) { unlink(path); return; }
	f = fopen(path, "w");
	if (!f) { perror(path); exit(1); }
	fputs(text, f);
	fclose(f);
}

static route r = ROUTE_INIT;
static buf out = BUF_INIT;

static int load(void)
{
	const char *what;
	route_free(&r);
	return route_load(&r, &what);
}

/* rewrite addr; check the class and the result */
static int is(const char *addr, int cls, const char *want)
{
	int k = route_rewrite(&r, addr, strlen(addr), &out);
	if (k != cls || strcmp(out.s, want) != 0) {
		printf("# %s -> %d %s (want %d %s)\n", addr, k, out.s, cls, want);
		return 0;
	}
	return 1;
}

int main(void)
{
	char dir[300];
	buf list = BUF_INIT;
	cmap m = CMAP_INIT;
	int i;

	if (!mkdtemp(home)) { perror("mkdtemp"); return 1; }
	snprintf(dir, sizeof dir, "%s/control", home);
	mkdir(dir, 0755);
	setenv("NQMAIL_HOME", home, 1);

	/* cmap on its own: case, later lines win, many keys */
	buf_put(&list, "Example.COM:a\0b.org\0example.com:c", 34);
	ok(cmap_init(&m, &list, 1) == 0, "cmap builds");
	ok(cmap_get(&m, "EXAMPLE.com", 11) && strcmp(cmap_get(&m, "EXAMPLE.com", 11), "c") == 0,
	   "cmap: case-insensitive, later line wins");
	ok(cmap_get(&m, "b.org", 5) && !*cmap_get(&m, "b.org", 5), "cmap: no colon, empty value");
	ok(!cmap_get(&m, "b.or", 4) && !cmap_get(&m, "", 0), "cmap: absent keys");
	cmap_free(&m);
	list.len = 0;
	for (i = 0; i < 5000; i++) {
		char k[32];
		int n = snprintf(k, sizeof k, "host%d.test", i);
		buf_put(&list, k, (size_t)n + 1);
	}
	ok(cmap_init(&m, &list, 0) == 0 && m.n == 5000 && cmap_get(&m, "HOST4999.test", 13)
	   && !cmap_get(&m, "host5000.test", 13), "cmap: 5000 keys");
	cmap_free(&m);
	buf_free(&list);

	/* no locals, no me: nothing can be decided */
	{
		const char *what = 0;
		ok(route_load(&r, &what) < 0 && errno == ENOENT && strcmp(what, "control/locals") == 0,
		   "no locals and no me: refused");
	}

	/* only me: locals and envnoathost default to it */
	put("me", "mx.example.test\n");
	ok(load() == 0, "load with me only");
	ok(is("joe@MX.Example.Test", ROUTE_LOCAL, "joe@MX.Example.Test"), "me is local by default (case kept)");
	ok(is("joe", ROUTE_LOCAL, "joe@mx.example.test"), "envnoathost defaults to me");
	ok(is("joe@elsewhere.test", ROUTE_REMOTE, "joe@elsewhere.test"), "other domain remote");

	put("locals", "example.test\n# comment\n\nlocal.test  \n");
	put("envnoathost", "noat.test\n");
	put("percenthack", "relay.test\nlocal.test\n");
	put("virtualdomains",
	    "virt.test:vu\n"
	    "special@virt.test:sp-x\n"
	    ".wild.test:wu\n"
	    "deep.wild.test:du\n"
	    "no.wild.test:\n"
	    "dash.test:a-b\n"
	    "example.test:never\n");
	ok(load() == 0, "load full configuration");
	ok(is("joe@example.test", ROUTE_LOCAL, "joe@example.test"), "locals");
	ok(is("Joe@EXAMPLE.TEST", ROUTE_LOCAL, "Joe@EXAMPLE.TEST"), "locals: case-insensitive, address kept");
	ok(is("joe@mx.example.test", ROUTE_REMOTE, "joe@mx.example.test"), "me not local once locals exists");
	ok(is("joe@local.test", ROUTE_LOCAL, "joe@local.test"), "trailing spaces trimmed, comments skipped");
	ok(is("joe", ROUTE_REMOTE, "joe@noat.test"), "envnoathost appended");
	ok(is("joe@virt.test", ROUTE_LOCAL, "vu-joe@virt.test"), "domain:prepend");
	ok(is("joe@VIRT.test", ROUTE_LOCAL, "vu-joe@VIRT.test"), "virtualdomains: case-insensitive");
	ok(is("special@virt.test", ROUTE_LOCAL, "sp-x-special@virt.test"), "user@domain:prepend wins over domain");
	ok(is("joe@a.wild.test", ROUTE_LOCAL, "wu-joe@a.wild.test"), ".suffix:prepend");
	ok(is("joe@x.deep.wild.test", ROUTE_LOCAL, "wu-joe@x.deep.wild.test"), "suffix only matches with a dot");
	ok(is("joe@deep.wild.test", ROUTE_LOCAL, "du-joe@deep.wild.test"), "exact domain beats suffix");
	ok(is("joe@wild.test", ROUTE_REMOTE, "joe@wild.test"), ".suffix does not match the bare domain");
	ok(is("joe@no.wild.test", ROUTE_REMOTE, "joe@no.wild.test"), "empty prepend is an exception");
	ok(is("joe@example.test", ROUTE_LOCAL, "joe@example.test"), "locals beat virtualdomains");
	ok(is("joe%far.test@relay.test", ROUTE_REMOTE, "joe@far.test"), "percenthack");
	ok(is("joe%b%example.test@relay.test", ROUTE_LOCAL, "joe%b@example.test"), "percenthack stops at an unlisted domain");
	ok(is("joe%b%local.test@local.test", ROUTE_REMOTE, "joe@b"), "percenthack repeated while listed");
	ok(is("joe%far.test@example.test", ROUTE_LOCAL, "joe%far.test@example.test"), "no percenthack for unlisted domain");
	ok(is("joe@relay.test", ROUTE_REMOTE, "joe@relay.test"), "percenthack without %");
	ok(is("a@b@example.test", ROUTE_LOCAL, "a@b@example.test"), "last @ separates the domain");
	ok(is("", ROUTE_REMOTE, "@noat.test"), "empty address");

	ok(strcmp(route_unprepend(&r, "vu-joe@virt.test"), "joe@virt.test") == 0, "unprepend domain");
	ok(strcmp(route_unprepend(&r, "sp-x-special@virt.test"), "special@virt.test") == 0, "unprepend user@domain");
	ok(strcmp(route_unprepend(&r, "wu-joe@a.wild.test"), "joe@a.wild.test") == 0, "unprepend suffix");
	ok(strcmp(route_unprepend(&r, "a-b-joe@dash.test"), "joe@dash.test") == 0, "unprepend prepend with a dash");
	ok(strcmp(route_unprepend(&r, "x-joe@virt.test"), "x-joe@virt.test") == 0, "wrong prepend kept");
	ok(strcmp(route_unprepend(&r, "never-joe@example.test"), "never-joe@example.test") == 0, "locals kept");
	ok(strcmp(route_unprepend(&r, "joe"), "joe") == 0, "no @ kept");

	/* catch-all */
	put("virtualdomains", ":catch\nvirt.test:vu\n");
	ok(load() == 0, "reload");
	ok(is("joe@anything.test", ROUTE_LOCAL, "catch-joe@anything.test"), "catch-all :prepend");
	ok(is("joe@virt.test", ROUTE_LOCAL, "vu-joe@virt.test"), "specific beats catch-all");
	ok(strcmp(route_unprepend(&r, "catch-joe@anything.test"), "joe@anything.test") == 0, "unprepend catch-all");

	/* unreadable control file is an error, not a default */
	if (geteuid() != 0) {
		snprintf(dir, sizeof dir, "%s/control/virtualdomains", home);
		chmod(dir, 0);
		ok(load() < 0, "unreadable virtualdomains is an error");
	}

	route_free(&r);
	buf_free(&out);
	put("me", 0); put("locals", 0); put("envnoathost", 0); put("percenthack", 0); put("virtualdomains", 0);
	snprintf(dir, sizeof dir, "%s/control", home);
	rmdir(dir);
	rmdir(home);
	return done_testing();
}
