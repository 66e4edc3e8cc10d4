/* Unit tests for src/mail/pop3box.c: a Maildir as one POP3 session sees
 * it, in a temporary directory: order, what is not a message, a message
 * seen in new/ and cur/ at once, messages that move or vanish while the
 * session runs, and QUIT's deletions and moves. */
#include "mail/pop3box.h"
#include "tap.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0) { perror(path); exit(1); }
	close(fd);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int readall(pop3box *b, size_t i, char *out, size_t max)
{
	int fd = pop3box_openmsg(b, i);
	ssize_t r;
	if (fd < 0) return -1;
	r = read(fd, out, max - 1);
	close(fd);
	if (r < 0) return -1;
	out[r] = 0;
	return 0;
}

int main(void)
{
	char tmpl[] = "/tmp/nqpop3box.XXXXXX";
	char id[POP3_UIDL_MAX + 1], text[64], longname[200];
	pop3box b = POP3BOX_INIT;
	int fd;

	if (!mkdtemp(tmpl) || chdir(tmpl) < 0) { perror("tmp"); return 1; }
	mkdir("Maildir", 0700);
	mkdir("Maildir/new", 0700);
	mkdir("Maildir/cur", 0700);
	mkdir("Maildir/tmp", 0700);
	put("Maildir/new/200.B.host", "two");
	put("Maildir/cur/100.A.host:2,S", "one");
	put("Maildir/new/300.C.host", "three");
	put("Maildir/cur/300.C.host:2,", "three");          /* the same message, moved meanwhile */
	put("Maildir/new/.hidden", "x");
	put("secret", "outside");
	symlink("../../secret", "Maildir/new/150.L.host");   /* never a message */
	mkdir("Maildir/new/160.D.host", 0700);               /* nor a directory */
	memset(longname, 'x', sizeof longname - 1);
	memcpy(longname, "Maildir/new/400.", 16);
	longname[150] = 0;
	put(longname, "four");

	ok(pop3box_open(&b, "Maildir") == 0, "open");
	ok(b.n == 4, "four messages: no symlink, directory, dot file; C once");
	ok(b.n >= 4 && !strcmp(pop3box_name(&b, 0), "cur/100.A.host:2,S") && !strcmp(pop3box_name(&b, 1), "new/200.B.host") &&
	   !strcmp(pop3box_name(&b, 2), "cur/300.C.host:2,"), "delivery order; the copy in cur/ wins");
	ok(b.n >= 4 && b.m[0].size == 3 && b.m[1].size == 3, "sizes");
	pop3box_uidl(&b, 0, id);
	ok(!strcmp(id, "100.A.host"), "UIDL: the base name without :2,S");
	pop3box_uidl(&b, 3, id);
	ok(strlen(id) == 32 && !strchr(id, 'x'), "UIDL of a name over 70 characters: a digest");

	/* B moves to cur/ and gains a flag behind our back */
	rename("Maildir/new/200.B.host", "Maildir/cur/200.B.host:2,RS");
	ok(readall(&b, 1, text, sizeof text) == 0 && !strcmp(text, "two"), "a message moved by another session is found");
	ok(!strcmp(pop3box_name(&b, 1), "cur/200.B.host:2,RS"), "and remembered where it is");
	/* a symlink put in a message's place is refused */
	unlink("Maildir/cur/100.A.host:2,S");
	symlink("../../secret", "Maildir/cur/100.A.host:2,S");
	errno = 0;
	ok(pop3box_openmsg(&b, 0) < 0 && errno == EINVAL, "a symlink in a message's place: EINVAL");
	unlink("Maildir/cur/100.A.host:2,S");
	errno = 0;
	ok(pop3box_openmsg(&b, 0) < 0 && errno == ENOENT, "a vanished message: ENOENT");
	mkfifo("Maildir/cur/100.A.host:2,S", 0600);
	errno = 0;
	ok(pop3box_openmsg(&b, 0) < 0 && errno == EINVAL, "a FIFO in a message's place: EINVAL, no hang");
	unlink("Maildir/cur/100.A.host:2,S");

	/* QUIT: B (moved) and C deleted, the long one moves to cur/ */
	b.m[1].deleted = 1;
	b.m[2].deleted = 1;
	rename("Maildir/cur/200.B.host:2,RS", "Maildir/cur/200.B.host:2,RST");
	ok(pop3box_commit(&b) == 0, "commit");
	ok(!exists("Maildir/cur/200.B.host:2,RST") && !exists("Maildir/cur/300.C.host:2,"), "deleted messages are gone, wherever they moved");
	pop3box_close(&b);
	/* new/300.C.host, planted beside its moved copy above, is left */
	ok(pop3box_open(&b, "Maildir") == 0 && b.n == 2, "next session: what was not deleted");
	ok(b.n == 2 && !strncmp(pop3box_name(&b, 1), "cur/400.xxx", 11) && !strcmp(pop3box_name(&b, 1) + strlen(pop3box_name(&b, 1)) - 3, ":2,"),
	   "a message read from new/ moved to cur/ with :2,");
	pop3box_close(&b);
	ok(exists("secret"), "the file outside was never touched");

	/* Another session moved a big Maildir's messages to cur/ (a reader
	 * giving each the S flag) and deleted every third; this session
	 * deletes all of them at QUIT. Each missing message is found by one
	 * reading of cur/, not one per message: this stays fast. */
	{
		enum { N = 4000 };
		char p[64], q[64];
		int i, left = 0;
		unsigned long reads;
		DIR *d;

		mkdir("big", 0700);
		mkdir("big/new", 0700);
		mkdir("big/cur", 0700);
		for (i = 0; i < N; i++) {
			snprintf(p, sizeof p, "big/new/%d.M%d.host", 1000000000 + i, i);
			put(p, "m");
		}
		ok(pop3box_open(&b, "big") == 0 && b.n == N, "a Maildir of 4000");
		for (i = 0; i < N; i++) {
			snprintf(p, sizeof p, "big/new/%d.M%d.host", 1000000000 + i, i);
			snprintf(q, sizeof q, "big/cur/%d.M%d.host:2,S", 1000000000 + i, i);
			if (i % 3 == 0) unlink(p);
			else rename(p, q);
		}
		reads = b.cur.reads;
		for (i = 1; i < N; i++) {
			int k;
			if (i % 3 == 0) continue;
			k = pop3box_openmsg(&b, (size_t)i);
			if (k < 0) break;
			close(k);
		}
		ok(i == N && b.cur.reads - reads == 1, "RETR of each moved message: found, with one reading of cur/");
		for (i = 0; i < N; i++) b.m[i].deleted = 1;
		reads = b.cur.reads;
		ok(pop3box_commit(&b) == 0, "QUIT deleting all, moved or deleted by another session: no failure");
		ok(b.cur.reads - reads == 1, "cur/ was read once, not once per missing message");
		pop3box_close(&b);
		if ((d = opendir("big/cur"))) {
			struct dirent *e;
			while ((e = readdir(d))) if (e->d_name[0] != '.') left++;
			closedir(d);
		}
		ok(left == 0, "every one is gone");
	}

	fd = open("plain", O_WRONLY | O_CREAT, 0600);
	close(fd);
	errno = 0;
	ok(pop3box_open(&b, "plain") < 0 && errno == ENOTDIR, "a file is no Maildir: ENOTDIR");
	ok(pop3box_open(&b, "nothere") < 0 && errno == ENOENT, "no Maildir: ENOENT");

	/* A box that is all zeros (a static one, as in qmail-pop3d) whose
	 * open fails half-way must not close descriptor 0 on its way out. */
	{
		static pop3box z;
		mkdir("nonew", 0700);
		mkdir("nonew/cur", 0700);
		ok(pop3box_open(&z, "nonew") < 0 && errno == ENOENT, "no new/: ENOENT");
		ok(fcntl(0, F_GETFD) >= 0, "and descriptor 0 is still open");
	}
	if (chdir("/tmp") == 0) {
		char cmd[64] = "rm -rf ";
		memcpy(cmd + 7, tmpl, sizeof tmpl);
		(void)system(cmd);
	}
	return done_testing();
}
