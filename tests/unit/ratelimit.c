/* Unit tests for src/lib/ratelimit.c: counting within a window, looking
 * without counting, a new window, separate keys, a garbled state file. */
#include "tap.h"
#include "lib/ratelimit.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/nq-rate-XXXXXX";
	DIR *d;
	struct dirent *e;

	if (!mkdtemp(dir)) return 1;
	ok(ratelimit(dir, "joe", 3, 2, 60, 0, 1000) == 1, "nothing sent yet: allowed");
	ok(ratelimit(dir, "joe", 3, 2, 60, 1, 1000) == 1, "first counted");
	ok(ratelimit(dir, "joe", 3, 2, 60, 1, 1010) == 1, "second counted");
	ok(ratelimit(dir, "joe", 3, 2, 60, 0, 1020) == 0, "limit reached");
	ok(ratelimit(dir, "joe", 3, 2, 60, 1, 1020) == 0, "and not counted past it");
	ok(ratelimit(dir, "ann", 3, 2, 60, 1, 1020) == 1, "another key counts alone");
	ok(ratelimit(dir, "joe", 3, 2, 60, 1, 1061) == 1, "a new window starts afresh");
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		char p[512];
		FILE *f;
		if (e->d_name[0] == '.') continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		f = fopen(p, "w");
		fputs("garbage", f);
		fclose(f);
	}
	if (d) closedir(d);
	ok(ratelimit(dir, "joe", 3, 2, 60, 1, 1070) == 1, "a garbled file starts afresh");
	ok(ratelimit("/nonexistent/dir", "joe", 3, 2, 60, 1, 1070) < 0, "a missing directory: -1");
	{
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		(void)!system(cmd);
	}
	return done_testing();
}
