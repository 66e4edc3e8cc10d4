/* Unit tests for src/mail/mdlist.c: delivery order across new/ and cur/,
 * dot files skipped, the time in a name, cleaning of old tmp/ files. */
#include "tap.h"
#include "mail/mdlist.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static void touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0) close(fd);
}

int main(void)
{
	char dir[] = "/tmp/nqt-mdlist-XXXXXX";
	mdlist l = MDLIST_INIT;
	const char *what;
	struct utimbuf old;

	if (!mkdtemp(dir) || chdir(dir) < 0) return 1;
	mkdir("new", 0700); mkdir("cur", 0700); mkdir("tmp", 0700);
	touch("new/200.a.host"); touch("cur/100.b.host:2,S"); touch("new/1000.c.host");
	touch("new/200.0.host"); touch("new/.hidden"); touch("cur/99x");
	ok(mdlist_scan(&l, 1, &what) == 0 && l.n == 5, "five messages, the dot file skipped");
	ok(l.n == 5 && !strcmp(mdlist_name(&l, 0), "cur/99x") && !strcmp(mdlist_name(&l, 1), "cur/100.b.host:2,S")
	   && !strcmp(mdlist_name(&l, 2), "new/200.0.host") && !strcmp(mdlist_name(&l, 3), "new/200.a.host")
	   && !strcmp(mdlist_name(&l, 4), "new/1000.c.host"), "ordered by time, then name");
	ok(mdlist_scan(&l, 0, &what) == 0 && l.n == 3, "new/ alone");
	ok(mdlist_time("new/1700000000.M1.h") == 1700000000UL && mdlist_time("x") == 0, "time from the name");
	touch("tmp/old"); touch("tmp/young");
	old.actime = old.modtime = time(0) - 37 * 3600;
	utime("tmp/old", &old);
	ok(mdlist_cleantmp(time(0)) == 1 && access("tmp/old", F_OK) < 0 && access("tmp/young", F_OK) == 0,
	   "a tmp/ file 37 hours old is removed, a new one kept");
	mdlist_free(&l);
	{
		static const char *const files[] = {"new/200.a.host", "cur/100.b.host:2,S", "new/1000.c.host",
			"new/200.0.host", "new/.hidden", "cur/99x", "tmp/young", "tmp/old", 0};
		int i;
		for (i = 0; files[i]; i++) unlink(files[i]);
		rmdir("new"); rmdir("cur"); rmdir("tmp");
		if (chdir("/") == 0) rmdir(dir);
	}
	ok(mdlist_usec("new/1795972926.M64275P1Q0.vm") == 64275 &&
	   mdlist_usec("1795972926.M264275P1Q0.vm") == 264275, "microseconds read from the name");
	ok(mdlist_usec("new/200.a.host") == (unsigned long)-1 && mdlist_usec("x") == (unsigned long)-1,
	   "no microseconds field: none");
	return done_testing();
}
