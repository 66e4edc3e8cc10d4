/* Unit tests for src/mail/users.c: users/assign lines to cdb records,
 * lookups in a cdb built from them (exact, longest wildcard, catch-all,
 * case), the record parser, and the password-file rules that need no
 * test accounts (uid 0, unknown names). */
#include "tap.h"
#include "lib/cdbx.h"
#include "mail/users.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/nq-users-XXXXXX";
static char cdb[64];

/* Compile lines (NUL-separated list ending with an empty string) into cdb
 * the way qmail-newu does. */
static int build(const char *const *lines)
{
	cdbx_make m;
	buf k = BUF_INIT, v = BUF_INIT;
	char wild[256];
	size_t nw = 0;
	const char *why;
	char wc;

	if (cdbx_start(&m, cdb, 0644) < 0) return -1;
	for (; *lines; lines++) {
		int r = users_assign_line(*lines, strlen(*lines), &k, &v, &wc, &why);
		if (r <= 0) break;
		if (wc && !memchr(wild, wc, nw)) wild[nw++] = wc;
		if (cdbx_add(&m, k.s, k.len, v.s, v.len) < 0) return -1;
	}
	if (cdbx_add(&m, "", 0, wild, nw) < 0) return -1;
	buf_free(&k);
	buf_free(&v);
	return cdbx_finish(&m);
}

static int is(users_ent *e, const char *addr, const char *user, unsigned long uid,
              const char *dash, const char *ext)
{
	int r = users_cdb(e, cdb, addr, strlen(addr));
	if (r != 1) { printf("# %s: lookup returned %d\n", addr, r); return 0; }
	if (strcmp(e->user, user) || e->uid != uid || strcmp(e->dash, dash) || strcmp(e->ext, ext)) {
		printf("# %s: got %s %lu [%s] [%s]\n", addr, e->user, (unsigned long)e->uid, e->dash, e->ext);
		return 0;
	}
	return 1;
}

int main(void)
{
	buf k = BUF_INIT, v = BUF_INIT;
	users_ent e = USERS_ENT_INIT;
	nq_ids ids;
	const char *why = 0;
	char wc;
	static const char *const assign[] = {
		"=joe:joe:501:100:/home/joe:::",
		"+joe-:joe:501:100:/home/joe:-::",
		"+joe-list-:joe:502:100:/home/joe:-:lst-:",
		"=Mixed.Case:mc:503:100:/home/mc:::",
		"=dup:first:504:100:/h:::",
		"=dup:second:505:100:/h:::",
		"+:alias:7790:2108:/var/qmail/alias:-::",
		".",
		0
	};

	/* assign lines */
	ok(users_assign_line("=Joe:joe:501:100:/home/joe:::", 29, &k, &v, &wc, &why) == 1 &&
	   k.len == 5 && memcmp(k.s, "!joe\0", 5) == 0 && wc == 0, "= key: '!', lowercase, NUL");
	ok(v.len == 23 && memcmp(v.s, "joe\0" "501\0" "100\0" "/home/joe\0\0", 23) == 0,
	   "value: six fields, no final NUL");
	ok(users_assign_line("+Joe-:joe:501:100:/h:-:x:", 25, &k, &v, &wc, &why) == 1 &&
	   k.len == 5 && memcmp(k.s, "!joe-", 5) == 0 && wc == '-', "+ key: no NUL, wildcard character");
	ok(users_assign_line("+:a:1:2:/h:-::", 14, &k, &v, &wc, &why) == 1 &&
	   k.len == 1 && wc == 0, "catch-all key is '!' alone");
	ok(users_assign_line(".", 1, &k, &v, &wc, &why) == 0, "final dot");
	ok(users_assign_line(".\r", 2, &k, &v, &wc, &why) == 0, "final dot with CR");
	ok(users_assign_line(".x", 2, &k, &v, &wc, &why) < 0, "dot with text");
	ok(users_assign_line("=a:b:1:2:/h::", 13, &k, &v, &wc, &why) < 0 && strstr(why, "7 fields"), "too few fields");
	ok(users_assign_line("=a:b:1x:2:/h:::", 15, &k, &v, &wc, &why) < 0 && strstr(why, "uid"), "bad uid");
	ok(users_assign_line("=a:b:1::/h:::", 13, &k, &v, &wc, &why) < 0 && strstr(why, "gid"), "empty gid");
	ok(users_assign_line("=a:b:4294967295:2:/h:::", 23, &k, &v, &wc, &why) < 0, "uid -1 refused");
	ok(users_assign_line("=a:b:1:2:h:::", 13, &k, &v, &wc, &why) < 0 && strstr(why, "absolute"), "relative home");
	ok(users_assign_line("-a:b:1:2:/h:::", 14, &k, &v, &wc, &why) < 0, "bad first character");
	ok(users_assign_line("=a\0:b:1:2:/h:::", 15, &k, &v, &wc, &why) < 0 && strstr(why, "NUL"), "NUL byte");
	ok(users_assign_line("", 0, &k, &v, &wc, &why) < 0, "empty line");

	/* lookups */
	if (!mkdtemp(dir)) return 1;
	memcpy(cdb, dir, sizeof dir - 1);
	memcpy(cdb + sizeof dir - 1, "/cdb", 5);
	ok(users_cdb(&e, cdb, "joe", 3) == 0, "no cdb: not found");
	ok(build(assign) == 0, "cdb built");
	ok(is(&e, "joe", "joe", 501, "", ""), "exact");
	ok(is(&e, "JOE", "joe", 501, "", ""), "exact, any case");
	ok(is(&e, "joe-Foo", "joe", 501, "-", "Foo"), "wildcard, extension keeps case");
	ok(is(&e, "joe-list-x", "joe", 502, "-", "lst-x"), "longest wildcard");
	ok(is(&e, "joe-list", "joe", 501, "-", "list"), "shorter wildcard");
	ok(is(&e, "mixed.case", "mc", 503, "", ""), "assign key lowercased");
	ok(is(&e, "dup", "first", 504, "", ""), "first duplicate wins");
	ok(is(&e, "bill", "alias", 7790, "-", "bill"), "catch-all");
	ok(is(&e, "", "alias", 7790, "-", ""), "empty address: catch-all");
	ok(strcmp(e.home, "/var/qmail/alias") == 0 && e.gid == 2108, "home and gid");
	{
		static const char *const nowild[] = { "=only:o:9:9:/o:::", ".", 0 };
		ok(build(nowild) == 0 && users_cdb(&e, cdb, "other", 5) == 0, "no match without catch-all");
		ok(is(&e, "only", "o", 9, "", ""), "only entry");
	}
	{
		cdbx_make m;
		ok(cdbx_start(&m, cdb, 0644) == 0 && cdbx_add(&m, "!x\0", 3, "a\0" "1\0" "1\0" "/h\0\0", 10) == 0 &&
		   cdbx_finish(&m) == 0, "cdb without the wildcard record");
		ok(users_cdb(&e, cdb, "x", 1) < 0, "...is trouble, not 'not found'");
		ok(cdbx_start(&m, cdb, 0644) == 0 && cdbx_add(&m, "", 0, "", 0) == 0 &&
		   cdbx_add(&m, "!x\0", 3, "a\0" "1x\0" "1\0" "/h\0\0", 11) == 0 && cdbx_finish(&m) == 0 &&
		   users_cdb(&e, cdb, "x", 1) < 0 && errno == EINVAL, "malformed value is trouble");
	}
	unlink(cdb);
	rmdir(dir);

	/* records */
#define REC(lit) (e.rec.len = 0, buf_put(&e.rec, lit, sizeof lit - 1))
	REC("u\0" "1\0" "2\0" "/h\0" "-\0" "x\0");
	ok(users_parse(&e) == 0 && e.uid == 1 && e.gid == 2 && strcmp(e.ext, "x") == 0, "parse a record");
	e.rec.len--;
	ok(users_parse(&e) < 0, "missing final NUL");
	REC("u\0" "1\0" "2\0" "/h\0" "-\0" "x\0" "y\0");
	ok(users_parse(&e) < 0, "seven fields");
	REC("\0" "1\0" "2\0" "/h\0" "-\0" "x\0");
	ok(users_parse(&e) < 0, "empty user");
	REC("u\0" "1\0" "2\0" "h\0" "-\0" "x\0");
	ok(users_parse(&e) < 0, "relative home");

	memset(&ids, 0, sizeof ids);
	ids.uid[R_ALIAS] = 77;
	ids.gid[R_ALIAS] = 88;
	ok(users_alias(&e, &ids, "/q/alias", "Some-Thing", 10) == 0 && e.uid == 77 && e.gid == 88 &&
	   strcmp(e.user, "alias") == 0 && strcmp(e.home, "/q/alias") == 0 &&
	   strcmp(e.dash, "-") == 0 && strcmp(e.ext, "Some-Thing") == 0, "alias record");

	/* password file: root (uid 0) and unknown names are not users */
	ok(users_passwd(&e, "/q/alias", "root", 4) == 0, "uid 0 is not a mailbox");
	ok(users_passwd(&e, "/q/alias", "Root-ext", 8) == 0, "nor with an extension");
	ok(users_passwd(&e, "/q/alias", "no-such-account-xyzzy", 21) == 0, "unknown name");

	users_free(&e);
	buf_free(&k);
	buf_free(&v);
	return done_testing();
}
