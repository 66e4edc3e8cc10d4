/* Unit tests for src/mail/bounce.c: the bounce/N block format (qmail's),
 * status codes, and the multipart/report bounce written from it. */
#include "tap.h"
#include "mail/bounce.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tmpfd(const char *text, size_t n)
{
	char name[] = "/tmp/nq-bounce-XXXXXX";
	int fd = mkstemp(name);
	if (fd < 0) { perror("mkstemp"); exit(1); }
	unlink(name);
	if (n && write(fd, text, n) != (ssize_t)n) { perror("write"); exit(1); }
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Run bounce_write; return the whole output (malloc'd). */
static char *render(const bounce_msg *m, const buf *fail, const char *mess, size_t *len)
{
	int ff = tmpfd(fail->s, fail->len), fm = tmpfd(mess, strlen(mess)), fo = tmpfd("", 0);
	io_out out;
	char *s;
	off_t n;

	out_init(&out, fo, 0);
	if (bounce_write(&out, m, ff, fm) < 0) { perror("bounce_write"); exit(1); }
	n = lseek(fo, 0, SEEK_END);
	s = malloc((size_t)n + 1);
	if (!s || pread(fo, s, (size_t)n, 0) != n) exit(1);
	s[n] = 0;
	*len = (size_t)n;
	close(ff); close(fm); close(fo);
	return s;
}

int main(void)
{
	buf b = BUF_INIT;
	char st[12];
	bounce_msg m;
	char *out;
	size_t n;
	const char *text1 = "Sorry, no mailbox here by that name. (#5.1.1)";

	/* blocks */
	bounce_block(&b, "joe@example.test", text1, strlen(text1));
	ok(strcmp(b.s, "<joe@example.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n") == 0,
	   "block: address line, text, empty line");
	b.len = 0;
	bounce_block(&b, "a\nb@x", "one\n\ntwo\n", 9);
	ok(strcmp(b.s, "<a_b@x>:\none\n/two\n\n") == 0, "block: newline in address, empty line in text");
	b.len = 0;
	bounce_block(&b, "c@x", "", 0);
	ok(strcmp(b.s, "<c@x>:\n\n") == 0, "block: empty report");

	/* status codes */
	bounce_status(text1, strlen(text1), st);
	ok(strcmp(st, "5.1.1") == 0, "status from (#5.1.1)");
	bounce_status("a (#4.2.1) then (#5.7.1)", 24, st);
	ok(strcmp(st, "5.7.1") == 0, "last status wins");
	bounce_status("no code #5.1 here #x", 20, st);
	ok(strcmp(st, "5.0.0") == 0, "default status");
	bounce_status("(#4.4.7)", 8, st);
	ok(strcmp(st, "4.4.7") == 0, "status at the end of text");

	/* a whole bounce */
	b.len = 0;
	bounce_block(&b, "joe@example.test", text1, strlen(text1));
	bounce_block(&b, "bob@example.test", "program said:\nno (#5.2.2)", 25);
	memset(&m, 0, sizeof m);
	m.host = "mx.example.test";
	m.fromuser = "MAILER-DAEMON";
	m.to = "sender@far.test";
	m.sender = "sender@far.test";
	m.now = 1700000000;
	m.arrival = 1699990000;
	m.id = 4242;
	m.boundary = "BOUNDARY-x";
	out = render(&m, &b, "Subject: hi\n\nbody\n", &n);
	ok(strstr(out, "From: MAILER-DAEMON@mx.example.test\n") != 0, "From");
	ok(strstr(out, "To: sender@far.test\n") != 0, "To");
	ok(strstr(out, "Subject: failure notice\n") != 0, "Subject");
	ok(strstr(out, "Date: 14 Nov 2023 22:13:20 -0000\n") != 0, "Date");
	ok(strstr(out, "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"BOUNDARY-x\"\n") != 0,
	   "multipart/report");
	ok(strstr(out, "\n--BOUNDARY-x\nContent-Type: text/plain; charset=utf-8\n\n"
	              "Hi. This is the qmail-send program at mx.example.test.\n"
	              "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
	              "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
	              "<joe@example.test>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
	              "<bob@example.test>:\nprogram said:\nno (#5.2.2)\n\n"
	              "--- Below this line is a copy of the message.\n\n--BOUNDARY-x\n") != 0,
	   "QSBMF text part exactly");
	ok(strstr(out, "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.test\n"
	              "Arrival-Date: 14 Nov 2023 19:26:40 -0000\n\n"
	              "Final-Recipient: rfc822; joe@example.test\nAction: failed\nStatus: 5.1.1\n"
	              "Diagnostic-Code: x-qmail; Sorry, no mailbox here by that name. (#5.1.1)\n\n"
	              "Final-Recipient: rfc822; bob@example.test\nAction: failed\nStatus: 5.2.2\n"
	              "Diagnostic-Code: x-qmail; program said: no (#5.2.2)\n\n--BOUNDARY-x\n") != 0,
	   "delivery-status groups");
	ok(strstr(out, "Content-Type: message/rfc822\n\nReturn-Path: <sender@far.test>\n"
	              "Subject: hi\n\nbody\n\n--BOUNDARY-x--\n") != 0, "original with Return-Path, closing boundary");
	ok(strcmp(out + n - 16, "\n--BOUNDARY-x--\n") == 0, "ends with the closing boundary");
	free(out);

	/* a failure qmail-remote reported: Remote-MTA, Diagnostic-Code smtp */
	b.len = 0;
	{
		const char *rt = "192.0.2.7 does not like recipient.\n"
		                 "Remote host said: 550-5.1.1 no such user\n550 5.1.1 here\n"
		                 "Giving up on 192.0.2.7.\n";
		const char *rt4 = "Connected to 2001:db8::5 but sender was rejected.\n"
		                  "Remote host said: 451 try later\n"
		                  "I'm not going to try again; this message has been in the queue too long.\n";
		bounce_block(&b, "gone@far.test", rt, strlen(rt));
		bounce_block(&b, "late@far.test", rt4, strlen(rt4));
		bounce_block(&b, "loc@mx.example.test", text1, strlen(text1));
	}
	out = render(&m, &b, "x\n", &n);
	ok(strstr(out, "Final-Recipient: rfc822; gone@far.test\nAction: failed\nStatus: 5.1.1\n"
	              "Remote-MTA: dns; 192.0.2.7\nDiagnostic-Code: smtp; 550 5.1.1 no such user here\n\n") != 0,
	   "remote failure: Remote-MTA, smtp diagnostic, enhanced status");
	ok(strstr(out, "Final-Recipient: rfc822; late@far.test\nAction: failed\nStatus: 5.0.0\n"
	              "Remote-MTA: dns; 2001:db8::5\nDiagnostic-Code: smtp; 451 try later\n\n") != 0,
	   "remote 4xx that ended in a bounce: class 5, IPv6 Remote-MTA");
	ok(strstr(out, "Final-Recipient: rfc822; loc@mx.example.test\nAction: failed\nStatus: 5.1.1\n"
	              "Diagnostic-Code: x-qmail; Sorry, no mailbox") != 0, "local failure keeps x-qmail");
	ok(strstr(out, "<gone@far.test>:\n192.0.2.7 does not like recipient.\n"
	              "Remote host said: 550-5.1.1 no such user\n550 5.1.1 here\nGiving up on 192.0.2.7.\n\n") != 0,
	   "human part keeps qmail's text");
	free(out);

	/* double bounce, quoted address, long diagnostic folded */
	b.len = 0;
	{
		char longtext[3000];
		memset(longtext, 'x', sizeof longtext);
		for (size_t i = 7; i < sizeof longtext; i += 8) longtext[i] = ' ';
		bounce_block(&b, "a b@far.test", longtext, sizeof longtext);
	}
	m.dbl = 1;
	m.to = "postmaster@mx.example.test";
	m.sender = "";
	out = render(&m, &b, "x", &n);
	ok(strstr(out, "I tried to deliver a bounce message to this address, but the bounce bounced!\n\n<a b@far.test>:\n") != 0,
	   "double bounce text");
	ok(strstr(out, "--- Below this line is the original bounce.\n") != 0, "double bounce break line");
	ok(strstr(out, "Return-Path: <>\nx\n--BOUNDARY-x--\n") != 0, "message without final newline");
	ok(strstr(out, "Final-Recipient: rfc822; a?b@far.test\n") != 0, "space in DSN address made safe");
	{
		const char *d = strstr(out, "Diagnostic-Code: "), *e = d;
		size_t longest = 0, cur = 0;
		for (; e && *e && strncmp(e, "\n\n", 2); e++) {
			if (*e == '\n') { if (cur > longest) longest = cur; cur = 0; } else cur++;
		}
		ok(d && longest <= 80, "long diagnostic folded");
	}
	free(out);
	m.to = "a b@far.test";
	m.dbl = 0;
	out = render(&m, &b, "", &n);
	ok(strstr(out, "To: \"a b\"@far.test\n") != 0, "To with a quoted local part");
	free(out);

	/* triple bounce test: does every block name the double-bounce address? */
	b.len = 0;
	bounce_block(&b, "postmaster@mx.test", "no\n\nreally", 10);
	bounce_block(&b, "PostMaster@MX.test", "no", 2);
	{
		int fd = tmpfd(b.s, b.len);
		ok(bounce_only_to(fd, "postmaster@mx.test") == 1, "only the double-bounce address failed");
		close(fd);
	}
	bounce_block(&b, "other@mx.test", "no", 2);
	{
		int fd = tmpfd(b.s, b.len);
		ok(bounce_only_to(fd, "postmaster@mx.test") == 0, "another address failed too");
		close(fd);
	}
	b.len = 0;
	bounce_block(&b, "postmaster@mx.testx", "no", 2);
	{
		int fd = tmpfd(b.s, b.len);
		ok(bounce_only_to(fd, "postmaster@mx.test") == 0, "a longer address is another address");
		close(fd);
	}
	/* blocks one by one (VERP bounces), the sent mark, one-block bounces */
	b.len = 0;
	bounce_block(&b, "a@x.test", "first (#5.1.1)", 14);
	bounce_block(&b, "b@y.test", "two\n\nlines (#5.2.2)", 19);
	bounce_block(&b, "c@z.test", "", 0);
	{
		int fd = tmpfd(b.s, b.len), k;
		io_in in;
		bounce_blk blk = BOUNCE_BLK_INIT;
		unsigned long long pos = 0, offs[4] = {0, 0, 0, 0}, lens[4] = {0, 0, 0, 0};
		const char *want[3] = { "a@x.test", "b@y.test", "c@z.test" };
		int n = 0, good = 1;
		size_t rn;

		in_init(&in, fd, 0);
		while ((k = bounce_nextblk(&in, &pos, &blk)) == 1 && n < 4) {
			if (n >= 3 || strcmp(blk.addr.s, want[n]) != 0 || blk.sent) good = 0;
			offs[n] = blk.off;
			lens[n++] = blk.len;
		}
		ok(k == 0 && n == 3 && good, "three blocks, their addresses");
		ok(offs[0] == 0 && lens[0] == strlen("<a@x.test>:\nfirst (#5.1.1)\n\n") &&
		   offs[1] == lens[0] && offs[2] == offs[1] + lens[1] && offs[2] + lens[2] == b.len,
		   "block offsets and lengths cover the file exactly");
		ok(bounce_marksent(fd, offs[1]) == 0, "mark the second block sent");
		lseek(fd, 0, SEEK_SET);
		in_init(&in, fd, 0);
		pos = 0;
		n = 0;
		good = 1;
		while ((k = bounce_nextblk(&in, &pos, &blk)) == 1 && n < 4) {
			if (n >= 3 || strcmp(blk.addr.s, want[n]) != 0 || blk.sent != (n == 1)) good = 0;
			n++;
		}
		ok(k == 0 && n == 3 && good, "the mark is seen, the address kept");
		buf_free(&blk.addr);
		close(fd);

		m.dbl = 0;
		m.to = "o-c=z.test@l.test";
		m.sender = "o-c=z.test@l.test";
		m.blkoff = offs[2];
		m.blklen = lens[2];
		out = render(&m, &b, "Subject: s\n\nx\n", &rn);
		ok(strstr(out, "Sorry it didn't work out.\n\n<c@z.test>:\n\n--- Below this line") != 0,
		   "one-block bounce: only that block in the text");
		ok(strstr(out, "Final-Recipient: rfc822; c@z.test\n") != 0 && !strstr(out, "a@x.test") &&
		   !strstr(out, "b@y.test"), "one-block bounce: only that recipient in the report");
		ok(strstr(out, "To: o-c=z.test@l.test\n") != 0 && strstr(out, "Return-Path: <o-c=z.test@l.test>\n") != 0,
		   "one-block bounce: to the per-recipient address");
		free(out);
		m.blkoff = offs[1];
		m.blklen = lens[1];
		out = render(&m, &b, "x", &rn);
		ok(strstr(out, "<b@y.test>:\ntwo\n/lines (#5.2.2)\n\n--- Below") != 0 &&
		   strstr(out, "Final-Recipient: rfc822; b@y.test\nAction: failed\nStatus: 5.2.2\n") != 0 &&
		   !strstr(out, "c@z.test"), "a middle block alone");
		free(out);
		m.blkoff = m.blklen = 0;
	}
	{
		/* damaged file: no final empty line, a cut last line */
		const char *d = "\n\n<p@q>:\ntext\n\n<r@s>:\nno end";
		int fd = tmpfd(d, strlen(d)), k;
		io_in in;
		bounce_blk blk = BOUNCE_BLK_INIT;
		unsigned long long pos = 0;
		in_init(&in, fd, 0);
		k = bounce_nextblk(&in, &pos, &blk);
		ok(k == 1 && strcmp(blk.addr.s, "p@q") == 0 && blk.off == 2 && blk.len == 13, "empty lines before a block skipped");
		k = bounce_nextblk(&in, &pos, &blk);
		ok(k == 1 && strcmp(blk.addr.s, "r@s") == 0 && pos == strlen(d), "a block cut at the end of file");
		ok(bounce_nextblk(&in, &pos, &blk) == 0, "then end of file");
		buf_free(&blk.addr);
		close(fd);
	}
	{
		char b1[BOUNCE_BOUNDARY_MAX], b2[BOUNCE_BOUNDARY_MAX];
		bounce_boundary(b1, 77);
		bounce_boundary(b2, 77);
		ok(strncmp(b1, "nqmail-77-", 10) == 0 && strlen(b1) == 34 && strcmp(b1, b2) != 0, "boundaries differ");
	}
	buf_free(&b);
	return done_testing();
}
