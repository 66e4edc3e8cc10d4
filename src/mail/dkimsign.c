/* dkimsign: which outbound mail gets a DKIM signature, with which keys,
 * and the signature itself (see dkimsign.h and doc/dkim.5).
 *
 * The message is read twice with pread: once for the header fields that
 * decide (From, Delivered-To), once through libopendkim. Neither reading
 * keeps more than a chunk and one header field in memory. */
#include "mail/dkimsign.h"
#include "mail/control.h"
#include "mail/instance.h"
#include "lib/io.h"
#include "lib/str.h"
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <opendkim/dkim.h>

#define CHUNK 65536
#define FIELD_MAX 16384            /* of From: enough for any real address list */
#define SCAN_MAX (1024 * 1024)     /* header bytes looked at for From */

/* ---- names ---------------------------------------------------------------- */

int dkimsign_domainok(const char *d)
{
	size_t i, n = strlen(d), label = 0;
	if (!n || n > 253) return 0;
	for (i = 0; i < n; i++) {
		char c = d[i];
		if (c == '.') { if (!label) return 0; label = 0; continue; }
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return 0;
		if (++label > 63) return 0;
	}
	return label > 0;
}

static int selectorok(const char *s, size_t n)
{
	size_t i;
	if (!n || n >= sizeof ((dkimkey *)0)->selector || s[0] == '.') return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* The first address's domain: inside <...> when there is an angle
 * bracket, else the first word with an '@'. Comments and quoted strings
 * are skipped so that "a@b" <c@d> gives d. */
int dkimsign_fromdomain(const char *s, size_t n, buf *d)
{
	size_t i, at = n, start, end;
	int quote = 0, paren = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (quote) { if (c == '\\') i++; else if (c == '"') quote = 0; continue; }
		if (paren) { if (c == '\\') i++; else if (c == '(') paren++; else if (c == ')') paren--; continue; }
		if (c == '"') quote = 1;
		else if (c == '(') paren = 1;
		else if (c == '<') { at = n; for (i++; i < n && s[i] != '>'; i++) if (s[i] == '@') at = i; break; }
		else if (c == '@' && at == n) at = i;
		else if (c == ',' || c == ';') { if (at < n) break; }
	}
	if (at >= n) return -1;
	start = at + 1;
	for (end = start; end < n; end++) {
		char c = s[end];
		if (c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ';' || c == '(' || c == '"') break;
	}
	if (buf_copy(d, s + start, end - start) < 0) return -1;
	if (d->len && d->s[d->len - 1] == '.') buf_trunc(d, d->len - 1);
	case_lower(d->s, d->len);
	return dkimsign_domainok(d->s) ? 0 : -1;
}

/* ---- the signing table ---------------------------------------------------- */

/* pattern matches domain: the domain itself, ".suffix" any subdomain
 * of suffix, "*" anything; "local@domain" matches that address. */
static int match(const char *p, size_t pn, const char *domain, const char *addr)
{
	size_t dn = strlen(domain);
	if (pn == 1 && p[0] == '*') return 1;
	if (byte_chr(p, pn, '@') < pn) return addr && strlen(addr) == pn && case_eqn(p, addr, pn);
	if (p[0] == '.') return dn > pn && case_eqn(p, domain + dn - pn, pn);
	return dn == pn && case_eqn(p, domain, pn);
}

int dkimsign_table(const buf *table, const char *domain, const char *addr,
                   const char **signdom, size_t *signdomlen, const char **sel, size_t *sellen)
{
	const char *l;
	for (l = 0; (l = list_next(table, l)); ) {
		size_t n = strlen(l), c1 = byte_chr(l, n, ':'), c2;
		if (c1 == 0 || c1 == n) continue;          /* malformed: ignored */
		if (!match(l, c1, domain, addr)) continue;
		*signdom = l + c1 + 1;
		c2 = byte_chr(*signdom, n - c1 - 1, ':');
		*signdomlen = c2;
		if (c2 < n - c1 - 1) { *sel = *signdom + c2 + 1; *sellen = n - c1 - 2 - c2; }
		else { *sel = ""; *sellen = 0; }
		return 1;
	}
	return 0;
}

/* ---- keys ----------------------------------------------------------------- */

void dkimsign_freekeys(dkimkey *keys, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (keys[i].pem.s) memset(keys[i].pem.s, 0, keys[i].pem.cap);
		buf_free(&keys[i].pem);
	}
}

static int why3(buf *why, const char *a, const char *b, const char *c)
{
	if (buf_copys(why, a) < 0 || buf_puts(why, b) < 0 || buf_puts(why, c) < 0) return -1;
	return -1;
}

/* Read one key and learn its algorithm from the key itself. */
static int loadkey(dkimkey *k, const char *domain, const char *sel, size_t seln, buf *why)
{
	buf path = BUF_INIT, full = BUF_INIT;
	BIO *bio;
	EVP_PKEY *pk;
	int r = -1;

	memset(k, 0, sizeof *k);
	memcpy(k->domain, domain, strlen(domain) + 1);
	memcpy(k->selector, sel, seln);
	k->selector[seln] = 0;
	if (buf_copys(&path, "control/dkim/") < 0 || buf_puts(&path, domain) < 0 || buf_putc(&path, '/') < 0 ||
	    buf_puts(&path, k->selector) < 0 || buf_puts(&path, ".key") < 0) { why3(why, "out of memory", "", ""); goto out; }
	if (read_file(nq_path(&full, path.s), &k->pem, DKIM_KEYFILE_MAX) < 0) {
		why3(why, "unable to read ", path.s, errno == ERANGE ? ": too large" : errno == EACCES ? ": permission denied" : errno == ENOENT ? ": no such file" : "");
		goto out;
	}
	bio = BIO_new_mem_buf(k->pem.s, (int)k->pem.len);
	pk = bio ? PEM_read_bio_PrivateKey(bio, 0, 0, 0) : 0;
	BIO_free(bio);
	if (!pk) { why3(why, path.s, " is not a PEM private key", ""); goto out; }
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) k->ed25519 = 1;
	else if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) k->ed25519 = 0;
	else { EVP_PKEY_free(pk); why3(why, path.s, " is neither an RSA nor an Ed25519 key", ""); goto out; }
	EVP_PKEY_free(pk);
	r = 0;
out:
	buf_free(&path);
	buf_free(&full);
	if (r < 0) dkimsign_freekeys(k, 1);
	return r;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int dkimsign_loadkeys(const char *domain, const char *sel, dkimkey *keys, size_t *n, buf *why)
{
	buf dir = BUF_INIT, full = BUF_INIT, names = BUF_INIT;
	char *list[DKIM_KEYS_MAX];
	size_t i, count = 0, off;
	DIR *d;
	struct dirent *e;

	*n = 0;
	if (!dkimsign_domainok(domain)) return why3(why, "bad signing domain ", domain, "");
	if (sel && *sel) {
		if (!selectorok(sel, strlen(sel))) return why3(why, "bad selector ", sel, "");
		if (loadkey(&keys[0], domain, sel, strlen(sel), why) < 0) return -1;
		*n = 1;
		return 0;
	}
	if (buf_copys(&dir, "control/dkim/") < 0 || buf_puts(&dir, domain) < 0) { buf_free(&dir); return why3(why, "out of memory", "", ""); }
	d = opendir(nq_path(&full, dir.s));
	buf_free(&full);
	if (!d) {
		int en = errno;
		buf_free(&dir);
		if (en == ENOENT || en == ENOTDIR) return 0;   /* not ours */
		return why3(why, "unable to open control/dkim/", domain, "");
	}
	buf_free(&dir);
	/* names first, then sorted, so the order of signatures is stable */
	while ((e = readdir(d))) {
		size_t ln = strlen(e->d_name);
		if (ln <= 4 || strcmp(e->d_name + ln - 4, ".key") || !selectorok(e->d_name, ln - 4)) continue;
		if (count == DKIM_KEYS_MAX) break;
		if (buf_put(&names, e->d_name, ln - 4) < 0 || buf_put0(&names) < 0) { closedir(d); buf_free(&names); return why3(why, "out of memory", "", ""); }
		count++;
	}
	closedir(d);
	for (i = 0, off = 0; i < count; i++) { list[i] = names.s + off; off += strlen(list[i]) + 1; }
	qsort(list, count, sizeof list[0], cmpstr);
	for (i = 0; i < count; i++) {
		if (loadkey(&keys[i], domain, list[i], strlen(list[i]), why) < 0) {
			dkimsign_freekeys(keys, i);
			buf_free(&names);
			return -1;
		}
	}
	*n = count;
	buf_free(&names);
	return 0;
}

/* ---- signing ----------------------------------------------------------------- */

/* The fields a signature covers: RFC 6376 5.4.1's list. From is signed
 * once more than it occurs (oversigned), so no From can be added later. */
static const char *signhdrs[] = {
	"from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
	"mime-version", "content-type", "content-transfer-encoding", "content-id",
	"content-description", "resent-date", "resent-from", "resent-sender",
	"resent-to", "resent-cc", "resent-message-id", "in-reply-to", "references",
	"list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post",
	"list-subscribe", "list-post", "list-owner", "list-archive", 0
};
static const char *oversign[] = { "from", 0 };

/* The message as the wire will have it: every LF, CR LF and lone CR is
 * CR LF, and a last line without an end gets one (smtpdata.h). */
struct crlf { int cr, start; };

static size_t tocrlf(struct crlf *c, const char *p, size_t n, unsigned char *o)
{
	size_t i, k = 0;
	for (i = 0; i < n; i++) {
		char ch = p[i];
		if (c->cr) {
			o[k++] = '\r'; o[k++] = '\n';
			c->cr = 0;
			c->start = 1;
			if (ch == '\n') continue;
		}
		if (ch == '\r') { c->cr = 1; continue; }
		if (ch == '\n') { o[k++] = '\r'; o[k++] = '\n'; c->start = 1; continue; }
		o[k++] = (unsigned char)ch;
		c->start = 0;
	}
	return k;
}

static size_t crlfend(struct crlf *c, unsigned char *o)
{
	if (c->cr || !c->start) { o[0] = '\r'; o[1] = '\n'; c->cr = 0; c->start = 1; return 2; }
	return 0;
}

static int dkerr(buf *why, const char *what, DKIM *h, DKIM_STAT st)
{
	const char *e = h ? dkim_geterror(h) : 0;
	return why3(why, what, ": ", e && *e ? e : dkim_getresultstr(st));
}

int dkimsign_sign(dkimkey *keys, size_t n, int fd, off_t off, buf *out, buf *why)
{
	static DKIM_LIB *lib;
	DKIM *h[DKIM_KEYS_MAX];
	char in[CHUNK];
	unsigned char *o = 0;
	size_t i, k;
	struct crlf c = { 0, 1 };
	DKIM_STAT st = DKIM_STAT_OK;
	int r = -1;

	out->len = 0;
	if (!n) return 0;
	if (n > DKIM_KEYS_MAX) n = DKIM_KEYS_MAX;
	memset(h, 0, sizeof h);
	if (!lib) {
		lib = dkim_init(0, 0);
		if (!lib) return why3(why, "unable to start libopendkim", "", "");
		if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, signhdrs, sizeof (char **)) != DKIM_STAT_OK ||
		    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, oversign, sizeof (char **)) != DKIM_STAT_OK) {
			dkim_close(lib);
			lib = 0;
			return why3(why, "unable to configure libopendkim", "", "");
		}
	}
	o = malloc(2 * CHUNK + 2);
	if (!o) return why3(why, "out of memory", "", "");
	for (i = 0; i < n; i++) {
		h[i] = dkim_sign(lib, (const unsigned char *)"qmail-remote", 0, (dkim_sigkey_t)keys[i].pem.s,
		                 (const unsigned char *)keys[i].selector, (const unsigned char *)keys[i].domain,
		                 DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
		                 keys[i].ed25519 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
		if (!h[i]) { dkerr(why, "unable to start signing", 0, st); goto out; }
	}
	for (;;) {
		ssize_t got = pread(fd, in, sizeof in, off);
		if (got < 0 && errno == EINTR) continue;
		if (got < 0) { why3(why, "unable to read message", "", ""); goto out; }
		if (got == 0) break;
		off += got;
		k = tocrlf(&c, in, (size_t)got, o);
		for (i = 0; i < n; i++)
			if ((st = dkim_chunk(h[i], o, k)) != DKIM_STAT_OK) { dkerr(why, "unable to sign", h[i], st); goto out; }
	}
	k = crlfend(&c, o);
	for (i = 0; i < n; i++) {
		unsigned char *sig = 0;
		size_t sl = 0, j;
		if ((k && (st = dkim_chunk(h[i], o, k)) != DKIM_STAT_OK) ||
		    (st = dkim_chunk(h[i], 0, 0)) != DKIM_STAT_OK ||
		    (st = dkim_eom(h[i], 0)) != DKIM_STAT_OK ||
		    (st = dkim_getsighdr_d(h[i], strlen(DKIM_SIGNHEADER) + 2, &sig, &sl)) != DKIM_STAT_OK) {
			dkerr(why, "unable to sign", h[i], st);
			goto out;
		}
		/* the queue's line ends are LF; smtpdata makes them CR LF again */
		if (buf_puts(out, DKIM_SIGNHEADER ": ") < 0) { why3(why, "out of memory", "", ""); goto out; }
		for (j = 0; j < sl; j++) {
			if (sig[j] == '\r') continue;
			if (buf_putc(out, (char)sig[j]) < 0) { why3(why, "out of memory", "", ""); goto out; }
		}
		if (buf_putc(out, '\n') < 0) { why3(why, "out of memory", "", ""); goto out; }
	}
	r = 0;
out:
	for (i = 0; i < n; i++) if (h[i]) dkim_free(h[i]);
	free(o);
	if (r < 0) out->len = 0;
	return r;
}

/* ---- the decision ------------------------------------------------------------ */

/* From's contents (its first FIELD_MAX bytes) and whether Delivered-To
 * occurs. Line ends are read as smtpdata sends them: LF, CR LF or a lone
 * CR. *complete is 0 when the header did not end within SCAN_MAX bytes:
 * such a message is not signed, since libopendkim keeps the whole header
 * in memory. */
static int scanheader(int fd, off_t off, buf *from, int *delivered, int *complete)
{
	char in[CHUNK];
	buf f = BUF_INIT;        /* the name, then (for From) the contents */
	size_t seen = 0;
	int sol = 1, cr = 0, inname = 0, infrom = 0, have = 0;

	*delivered = 0;
	*complete = 0;
	from->len = 0;
	while (!*complete && seen < SCAN_MAX) {
		ssize_t got = pread(fd, in, sizeof in, off);
		size_t i;
		if (got < 0 && errno == EINTR) continue;
		if (got < 0) { buf_free(&f); return -1; }
		if (got == 0) { *complete = 1; break; }   /* a header without a body */
		off += got;
		seen += (size_t)got;
		for (i = 0; i < (size_t)got; i++) {
			char ch = in[i];
			if (cr) { cr = 0; if (ch == '\n') continue; }
			if (sol) {
				sol = 0;
				if (ch == ' ' || ch == '\t') {   /* a continuation line */
					if (infrom && f.len < FIELD_MAX && buf_putc(&f, ' ') < 0) goto nomem;
					continue;
				}
				/* a new field, or the end: the last one is complete */
				if (infrom && !have) { if (buf_copy(from, f.s ? f.s : "", f.len) < 0) goto nomem; have = 1; }
				infrom = 0;
				f.len = 0;
				if (ch == '\n' || ch == '\r') { *complete = 1; break; }
				inname = 1;
			}
			if (ch == '\n' || ch == '\r') { sol = 1; cr = ch == '\r'; inname = 0; continue; }
			if (inname) {
				if (ch == ':') {
					inname = 0;
					while (f.len && (f.s[f.len - 1] == ' ' || f.s[f.len - 1] == '\t')) f.len--;
					if (f.len == 4 && case_eqn(f.s, "from", 4)) infrom = 1;
					if (f.len == 12 && case_eqn(f.s, "delivered-to", 12)) *delivered = 1;
					f.len = 0;
				} else if (f.len < 64 && buf_putc(&f, ch) < 0) goto nomem;
				continue;
			}
			if (infrom && f.len < FIELD_MAX && buf_putc(&f, ch) < 0) goto nomem;
		}
	}
	if (infrom && !have && buf_copy(from, f.s ? f.s : "", f.len) < 0) goto nomem;
	buf_free(&f);
	return 0;
nomem:
	buf_free(&f);
	errno = ENOMEM;
	return -1;
}

/* The keys for domain d (address addr): the table's line or the
 * directory. 0 (maybe none), 1 the table says not to sign, -1 error. */
static int keysfor(const buf *table, const char *d, const char *addr, dkimkey *keys, size_t *n, buf *why)
{
	const char *sd, *sel;
	size_t sdl, sell;
	char dom[256], s[64];

	*n = 0;
	if (dkimsign_table(table, d, addr, &sd, &sdl, &sel, &sell)) {
		if ((sdl == 1 && sd[0] == '-') || !sdl) return 1;
		if (sdl >= sizeof dom || sell >= sizeof s) return why3(why, "control/dkim/signingtable has a line too long for ", d, "");
		memcpy(dom, sd, sdl); dom[sdl] = 0;
		memcpy(s, sel, sell); s[sell] = 0;
		case_lower(dom, sdl);
		return dkimsign_loadkeys(dom, s, keys, n, why);
	}
	return dkimsign_loadkeys(d, 0, keys, n, why);
}

int dkimsign_message(int fd, off_t off, const char *sender, buf *out, buf *why)
{
	static buf table, from, dom, sdom, flag;
	static int loaded;
	dkimkey keys[DKIM_KEYS_MAX];
	size_t n = 0, sl = sender ? strlen(sender) : 0, at;
	int delivered, complete, forwards, r = 0;

	out->len = 0;
	if (!loaded) {
		/* most instances sign nothing: one stat, and no reading */
		struct stat st;
		buf p = BUF_INIT;
		int none = stat(nq_path(&p, "control/dkim"), &st) < 0 && errno == ENOENT;
		buf_free(&p);
		if (none) return 0;
		if (control_readlines(&table, "dkim/signingtable") < 0) return why3(why, "unable to read control/dkim/signingtable", "", "");
		if (control_readline(&flag, "dkim/signforwards", "0") < 0) return why3(why, "unable to read control/dkim/signforwards", "", "");
		loaded = 1;
	}
	forwards = flag.len == 1 && flag.s[0] == '1';
	if (scanheader(fd, off, &from, &delivered, &complete) < 0) return why3(why, "unable to read message", "", "");
	if (!complete) return 0;

	/* the envelope sender's domain, if it has one (not for bounces) */
	sdom.len = 0;
	at = sl ? byte_rchr(sender, sl, '@') : sl;
	if (at < sl) {
		if (buf_copy(&sdom, sender + at + 1, sl - at - 1) < 0) return why3(why, "out of memory", "", "");
		case_lower(sdom.s, sdom.len);
		if (!dkimsign_domainok(sdom.s)) sdom.len = 0;
	}

	if (!delivered || forwards) {
		if (from.len && dkimsign_fromdomain(from.s, from.len, &dom) == 0)
			r = keysfor(&table, dom.s, 0, keys, &n, why);
	}
	if (!r && !n && sdom.len) r = keysfor(&table, sdom.s, sender, keys, &n, why);
	if (r < 0) return -1;
	if (!n) return 0;
	r = dkimsign_sign(keys, n, fd, off, out, why);
	dkimsign_freekeys(keys, n);
	return r;
}
