/* qmail-pw2u: turn a passwd file into users/assign lines (qmail-pw2u(8)).
 *
 * Reads "user:password:uid:gid:gecos:home:shell" lines on fd 0 and prints
 * qmail-users(5) assignments on fd 1, ending with ".". By default it keeps
 * qmail-getpw's rules (nonzero uid, home exists and belongs to the user,
 * no uppercase in the name); the files DIR/users/include, exclude,
 * mailnames, subusers and append adjust them as the man page says.
 *
 * The alias user's home is DIR/alias whatever the passwd file says (see
 * src/mail/users.h). When the input has no alias account, the catch-all
 * is still printed, from DIR/users/ids, so that every address stays
 * covered by the assignments. */
#include "lib/err.h"
#include "lib/io.h"
#include "lib/str.h"
#include "mail/instance.h"
#include "mail/users.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIST_MAX (16 * 1024 * 1024)   /* bytes of any users/ list file */

static const char *dashcolon = "-:";   /* the dash field and its colon */
static char breakc = '-';                 /* user-extension break; 0: none */
static int noupper = 1;
static int homestrategy = 2;  /* 2 skip if missing, 1 stop if missing, 0 no check */

static io_out out;
static buf aliashome = BUF_INIT;

static void put(const char *s, size_t n)
{
	if (out_put(&out, s, n) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
}
static void puts0(const char *s) { put(s, strlen(s)); }

/* ---- sorted lists of lines, looked up by the text before the first ':'
 * (for include and exclude, the whole line) ----------------------------- */

struct list {
	int ok;            /* the file exists */
	buf text;          /* lines, each NUL-terminated */
	const char **v;    /* sorted */
	size_t n;
};

static size_t keylen(const char *s)
{
	return strcspn(s, ":");
}

static int cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t lx = keylen(x), ly = keylen(y);
	int c = memcmp(x, y, lx < ly ? lx : ly);
	if (c) return c;
	if (lx != ly) return lx < ly ? -1 : 1;
	/* Equal keys keep file order, so a lookup finds the first line. */
	return x < y ? -1 : x > y;
}

static void index_list(struct list *l)
{
	const char *p;
	size_t i = 0;
	for (p = l->text.s; p && p < l->text.s + l->text.len; p += strlen(p) + 1) l->n++;
	l->v = calloc(l->n ? l->n : 1, sizeof *l->v);
	if (!l->v) err_nomem();
	for (p = l->text.s; p && p < l->text.s + l->text.len; p += strlen(p) + 1) l->v[i++] = p;
	qsort(l->v, l->n, sizeof *l->v, cmp);
}

/* The line whose key is s[0..n), or 0. */
static const char *lookup(const struct list *l, const char *s, size_t n)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *x = l->v[mid];
		size_t lx = keylen(x);
		int c = memcmp(x, s, lx < n ? lx : n);
		if (!c && lx != n) c = lx < n ? -1 : 1;
		if (c < 0) lo = mid + 1;
		else hi = mid;
	}
	if (lo < l->n && keylen(l->v[lo]) == n && !memcmp(l->v[lo], s, n)) return l->v[lo];
	return 0;
}

/* users/NAME as lines: trailing blanks dropped, empty and '#' lines skipped. */
static void readlist(struct list *l, const char *name)
{
	buf path = BUF_INIT, f = BUF_INIT;
	size_t i = 0;

	if (buf_copys(&path, "users/") < 0 || buf_puts(&path, name) < 0) err_nomem();
	if (read_file(path.s, &f, LIST_MAX) < 0) {
		if (errno == ENOENT) { buf_free(&path); return; }
		err_dieerr(EXIT_TEMP, "unable to read ", path.s, (char *)0);
	}
	l->ok = 1;
	while (i < f.len) {
		size_t n = byte_chr(f.s + i, f.len - i, '\n'), t = n;
		while (t && (f.s[i + t - 1] == ' ' || f.s[i + t - 1] == '\t' || f.s[i + t - 1] == '\r')) t--;
		if (t && f.s[i] != '#' && !memchr(f.s + i, 0, t))
			if (buf_put(&l->text, f.s + i, t) < 0 || buf_put0(&l->text) < 0) err_nomem();
		i += n + 1;
	}
	buf_free(&f);
	buf_free(&path);
	index_list(l);
}

static struct list incl, excl, mailnames;
static struct list allusers;   /* "user:uid:gid:home:" of every user kept */
static int sawalias;

/* ---- one passwd account ------------------------------------------------- */

static void names(const char *uugh, size_t ulen, const char *list)
{
	for (;;) {
		size_t i;
		while (*list == ':') list++;
		if (!*list) return;
		i = keylen(list);
		puts0("=");
		put(list, i);
		put(uugh, ulen);
		puts0("::\n");
		if (breakc) {
			puts0("+");
			put(list, i);
			put(&breakc, 1);
			put(uugh, ulen);
			puts0(dashcolon);
			puts0(":\n");
		}
		list += i;
	}
}

static void keepuser(const char *user, const char *uid, const char *gid, const char *home,
                     buf *uugh)
{
	uugh->len = 0;
	if (buf_putc(uugh, ':') < 0 || buf_puts(uugh, user) < 0 || buf_putc(uugh, ':') < 0 ||
	    buf_puts(uugh, uid) < 0 || buf_putc(uugh, ':') < 0 || buf_puts(uugh, gid) < 0 ||
	    buf_putc(uugh, ':') < 0 || buf_puts(uugh, home) < 0 || buf_putc(uugh, ':') < 0)
		err_nomem();
	if (buf_put(&allusers.text, uugh->s + 1, uugh->len - 1) < 0 || buf_put0(&allusers.text) < 0)
		err_nomem();
}

static void account(char *line, size_t len)
{
	static buf uugh = BUF_INIT;
	char *f[7];
	const char *home, *list;
	unsigned long uid, gid;
	struct stat st;
	size_t i, k = 0;

	if (memchr(line, 0, len)) return;
	line[len] = 0;
	f[k++] = line;
	for (i = 0; i < len && k < 7; i++)
		if (line[i] == ':') { line[i] = 0; f[k++] = line + i + 1; }
	if (k < 7) return;   /* no shell field: not a passwd line */
	if (!*f[0] || str_toul(f[2], &uid) < 0 || str_toul(f[3], &gid) < 0) return;
	if (uid == 0) return;
	if (noupper)
		for (i = 0; f[0][i]; i++)
			if (f[0][i] >= 'A' && f[0][i] <= 'Z') return;
	if (incl.ok && !lookup(&incl, f[0], strlen(f[0]))) return;
	if (excl.ok && lookup(&excl, f[0], strlen(f[0]))) return;
	home = str_eq(f[0], "alias") ? aliashome.s : f[5];
	if (homestrategy) {
		if (stat(home, &st) < 0) {
			if ((errno != ENOENT && errno != ENOTDIR) || homestrategy == 1)
				err_dieerr(EXIT_TEMP, "unable to stat ", home, (char *)0);
			return;
		}
		if (st.st_uid != uid) return;
	}
	keepuser(f[0], f[2], f[3], home, &uugh);

	if (str_eq(f[0], "alias")) {
		puts0("+");
		put(uugh.s, uugh.len);
		puts0(dashcolon);
		puts0(":\n");
		sawalias = 1;
	}
	list = f[0];
	if (mailnames.ok) {
		const char *m = lookup(&mailnames, f[0], strlen(f[0]));
		if (m) list = m + keylen(m);
	}
	names(uugh.s, uugh.len, list);
}

/* Without an alias account in the input, the catch-all comes from the
 * instance's own record of the alias uid and gid. */
static void aliasfallback(void)
{
	buf uugh = BUF_INIT;
	nq_ids ids;
	char u[24], g[24];

	if (nq_ids_read(&ids) < 0) err_dieerr(EXIT_TEMP, "unable to find the alias user: users/ids", (char *)0);
	fmt_ulong(u, ids.uid[R_ALIAS]);
	fmt_ulong(g, ids.gid[R_ALIAS]);
	keepuser("alias", u, g, aliashome.s, &uugh);
	puts0("+");
	put(uugh.s, uugh.len);
	puts0(dashcolon);
	puts0(":\n");
	buf_free(&uugh);
}

/* ---- users/subusers: "sub:user:pre:" ------------------------------------ */

static void subusers(void)
{
	buf f = BUF_INIT;
	size_t i = 0;

	if (read_file("users/subusers", &f, LIST_MAX) < 0) {
		if (errno == ENOENT) return;
		err_dieerr(EXIT_TEMP, "unable to read users/subusers", (char *)0);
	}
	index_list(&allusers);
	while (i < f.len) {
		size_t n = byte_chr(f.s + i, f.len - i, '\n');
		const char *s = f.s + i, *u;
		size_t c1, c2, c3;

		i += n + 1;
		if (!n || *s == '#' || memchr(s, 0, n)) continue;
		c1 = byte_chr(s, n, ':');
		if (c1 == n) continue;
		c2 = c1 + 1 + byte_chr(s + c1 + 1, n - c1 - 1, ':');
		if (c2 == n) continue;
		c3 = c2 + 1 + byte_chr(s + c2 + 1, n - c2 - 1, ':');
		if (c3 == n) continue;
		u = lookup(&allusers, s + c1 + 1, c2 - c1 - 1);
		if (!u) {
			buf who = BUF_INIT;
			if (buf_copy(&who, s + c1 + 1, c2 - c1 - 1) < 0) err_nomem();
			err_die(EXIT_TEMP, "unable to find ", who.s, " user for subuser", (char *)0);
		}
		puts0("=");
		put(s, c1);
		puts0(":");
		puts0(u);
		puts0(dashcolon);
		put(s + c2 + 1, c3 - c2 - 1);
		puts0(":\n");
		if (breakc) {
			puts0("+");
			put(s, c1);
			put(&breakc, 1);
			puts0(":");
			puts0(u);
			puts0(dashcolon);
			put(s + c2 + 1, c3 - c2 - 1);
			puts0("-:\n");
		}
	}
	buf_free(&f);
}

static void append(void)
{
	buf f = BUF_INIT;
	if (read_file("users/append", &f, LIST_MAX) < 0) {
		if (errno == ENOENT) return;
		err_dieerr(EXIT_TEMP, "unable to read users/append", (char *)0);
	}
	put(f.s, f.len);
	if (f.len && f.s[f.len - 1] != '\n') puts0("\n");
	buf_free(&f);
}

static _Noreturn void usage(void)
{
	err_die(EXIT_PERM, "usage: qmail-pw2u [-/ohHuUC] [-cchar] < passwd", (char *)0);
}

int main(int argc, char **argv)
{
	buf line = BUF_INIT;
	unsigned long lineno = 0;
	io_in in;
	int opt;

	err_prog = "qmail-pw2u";
	while ((opt = getopt(argc, argv, "/ohHuUc:C")) != -1)
		switch (opt) {
		case '/': dashcolon = "-/:"; break;
		case 'o': homestrategy = 2; break;
		case 'h': homestrategy = 1; break;
		case 'H': homestrategy = 0; break;
		case 'u': noupper = 0; break;
		case 'U': noupper = 1; break;
		case 'c': breakc = *optarg; break;
		case 'C': breakc = 0; break;
		default: usage();
		}
	if (optind < argc) usage();

	nq_path(&aliashome, "alias");
	nq_chdir_home();
	readlist(&incl, "include");
	readlist(&excl, "exclude");
	readlist(&mailnames, "mailnames");
	out_init(&out, 1, 0);
	in_init(&in, 0, 0);

	for (;;) {
		int r;
		line.len = 0;
		lineno++;
		r = in_getline(&in, &line, '\n', USERS_LINE_MAX + 1);
		if (r < 0 && errno == ERANGE) {
			char num[24];
			fmt_ulong(num, lineno);
			err_die(EXIT_PERM, "input line ", num, " is longer than 8192 bytes", (char *)0);
		}
		if (r < 0) err_dieerr(EXIT_TEMP, "unable to read input", (char *)0);
		if (line.len && line.s[line.len - 1] == '\n') line.len--;
		if (line.len) account(line.s, line.len);
		if (r == 0) break;
	}
	if (!sawalias) aliasfallback();
	subusers();
	append();
	puts0(".\n");
	if (out_flush(&out) < 0) err_dieerr(EXIT_TEMP, "unable to write output", (char *)0);
	buf_free(&line);
	return 0;
}
