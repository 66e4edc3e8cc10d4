/* Unit tests for src/mail/senders.c: the addresses a login owns by
 * itself (system login through locals and virtualdomains, virtual login)
 * and through control/loginsenders lines. */
#include "tap.h"
#include "mail/senders.h"
#include "mail/route.h"
#include "mail/control.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char home[] = "/tmp/nq-senders-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof path, "%s/control/%s", home, name);
	f = fopen(path, "w");
	if (!f) { perror(path); exit(1); }
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	char dir[300];
	route r = ROUTE_INIT;
	buf lines = BUF_INIT;
	const char *what;

	if (!mkdtemp(home)) return 1;
	snprintf(dir, sizeof dir, "%s/control", home);
	mkdir(dir, 0755);
	setenv("NQMAIL_HOME", home, 1);
	put("me", "example.test\n");
	put("locals", "example.test\n");
	put("virtualdomains", "virt.test:joe\nshared.test:team\n");
	put("loginsenders", "joe:@lists.test\njoe:boss@example.test\n*:noreply@example.test\nann:*\n");
	ok(route_load(&r, &what) == 0, "route loads");
	ok(control_readlines(&lines, "loginsenders") == 1, "loginsenders read");

	ok(senders_owns(&r, &lines, "joe", "joe@example.test") == 1, "system login: login@local");
	ok(senders_owns(&r, &lines, "joe", "JOE-List@EXAMPLE.test") == 1, "login-ext@local, any case");
	ok(senders_owns(&r, &lines, "joe", "joel@example.test") == 0, "a longer name is someone else");
	ok(senders_owns(&r, &lines, "joe", "joe@other.test") == 0, "same name at a remote domain");
	ok(senders_owns(&r, &lines, "joe", "anything@virt.test") == 1, "virtualdomains prepend joe");
	ok(senders_owns(&r, &lines, "joe", "x@shared.test") == 0, "virtualdomains prepend someone else");
	ok(senders_owns(&r, &lines, "joe", "a@lists.test") == 1, "loginsenders @domain");
	ok(senders_owns(&r, &lines, "joe", "a@sub.lists.test") == 0, "@domain is exact");
	ok(senders_owns(&r, &lines, "joe", "boss@example.test") == 1, "loginsenders address");
	ok(senders_owns(&r, &lines, "jim", "noreply@example.test") == 1, "'*' lines apply to everyone");
	ok(senders_owns(&r, &lines, "ann", "whoever@wherever.test") == 1, "pattern '*': any sender");
	ok(senders_owns(&r, &lines, "joe", "") == 0, "never the null sender");
	ok(senders_owns(&r, &lines, "joe", "joe") == 0, "an address without domain");
	ok(senders_owns(&r, &lines, "v@virt.test", "v@virt.test") == 1, "virtual login: itself");
	ok(senders_owns(&r, &lines, "v@virt.test", "V-x@VIRT.test") == 1, "virtual login: its extensions");
	ok(senders_owns(&r, &lines, "v@virt.test", "v@other.test") == 0, "virtual login: not at another domain");
	ok(senders_owns(&r, &lines, "v@virt.test", "w@virt.test") == 0, "virtual login: not another name");
	route_free(&r);
	buf_free(&lines);
	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf %s", home);
		(void)!system(cmd);
	}
	return done_testing();
}
