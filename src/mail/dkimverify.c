/* dkimverify: libopendkim's verifier, fed while the message arrives, with
 * key lookups of our own (see dkimverify.h).
 *
 * libopendkim in "chunk" mode takes the message in pieces of any size with
 * CR LF line ends; the queue form we are given has LF line ends, so each
 * piece is converted on the way in. It processes the signatures (and asks
 * for their keys) when the header is complete, and hashes the body as it
 * comes. The library handle is made once per process: qmail-smtpd checks
 * every message of the session with it. */
#include "mail/dkimverify.h"
#include "mail/dns.h"
#include "mail/dnstxt.h"
#include "lib/str.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <opendkim/dkim.h>

static DKIM_LIB *lib;

/* ---- keys ------------------------------------------------------------------ */

/* A name we are willing to ask about: letters, digits, '-', '_', '.'. */
static int nameok(const char *s)
{
	size_t i, n = strlen(s);
	if (!n || n > 253 || s[0] == '.') return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.')) return 0;
		if (c == '.' && s[i + 1] == '.') return 0;
	}
	return 1;
}

/* libopendkim asks for the key of one signature: the TXT record at
 * SELECTOR._domainkey.DOMAIN, copied into kb. */
static DKIM_CBSTAT keylookup(DKIM *h, DKIM_SIGINFO *sig, u_char *kb, size_t kblen)
{
	dkimv *v = dkim_get_user_context(h);
	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);
	buf name = BUF_INIT, txt = BUF_INIT;
	size_t n, len;
	int r;

	if (!d || !s || !nameok(d) || !nameok(s)) return DKIM_CBSTAT_NOTFOUND;
	if (buf_copys(&name, s) < 0 || buf_puts(&name, "._domainkey.") < 0 || buf_puts(&name, d) < 0) {
		buf_free(&name);
		return DKIM_CBSTAT_ERROR;
	}
	r = dnstxt_lookup(name.s, &txt, &n, 0);
	buf_free(&name);
	if (r == DNS_SOFT) {
		/* noted here: how libopendkim reports a TRYAGAIN varies */
		if (v && v->n < DKIMV_SIGS_MAX) {
			struct dkimv_sig *g = &v->sig[v->n++];
			memset(g, 0, sizeof *g);
			memcpy(g->domain, d, strlen(d) + 1);
			case_lower(g->domain, strlen(g->domain));
			if (strlen(s) < sizeof g->selector) memcpy(g->selector, s, strlen(s) + 1);
			g->soft = 1;
		}
		buf_free(&txt);
		return DKIM_CBSTAT_TRYAGAIN;
	}
	if (r != DNS_FOUND || n == 0) { buf_free(&txt); return DKIM_CBSTAT_NOTFOUND; }
	/* RFC 6376 3.6.2.2: more than one record is not to be guessed at */
	len = strlen(txt.s);
	if (n > 1 || len >= kblen) { buf_free(&txt); return DKIM_CBSTAT_NOTFOUND; }
	memcpy(kb, txt.s, len + 1);
	buf_free(&txt);
	return DKIM_CBSTAT_CONTINUE;
}

/* Bound the work a message can ask for: signatures after the first
 * DKIMV_SIGS_MAX are not looked at. */
static DKIM_CBSTAT prescreen(DKIM *h, DKIM_SIGINFO **sigs, int nsigs)
{
	int i;
	(void)h;
	for (i = DKIMV_SIGS_MAX; i < nsigs; i++) dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

static int libinit(void)
{
	if (lib) return 0;
	lib = dkim_init(0, 0);
	if (!lib) return -1;
	if (dkim_set_key_lookup(lib, keylookup) != DKIM_STAT_OK ||
	    dkim_set_prescreen(lib, prescreen) != DKIM_STAT_OK) {
		dkim_close(lib);
		lib = 0;
		return -1;
	}
	return 0;
}

/* ---- feeding ------------------------------------------------------------------ */

static void finish(dkimv *v, const char *none, const char *why)
{
	v->on = 0;
	if (!v->none) { v->none = none; v->nonewhy = why; }
}

int dkimv_start(dkimv *v)
{
	DKIM_STAT st = DKIM_STAT_OK;

	memset(v, 0, sizeof *v);
	v->inheader = 1;
	v->bol = 1;
	if (libinit() < 0) { finish(v, "temperror", "unable to start libopendkim"); return -1; }
	v->h = dkim_verify(lib, (const unsigned char *)"qmail-smtpd", 0, &st);
	if (!v->h) { finish(v, "temperror", "unable to start libopendkim"); return -1; }
	dkim_set_user_context(v->h, v);
	v->on = 1;
	return 0;
}

/* What a failing status of libopendkim means for the message. */
static void failed(dkimv *v, DKIM_STAT st)
{
	if (st == DKIM_STAT_NOSIG) finish(v, "none", 0);
	else if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL || st == DKIM_STAT_CBTRYAGAIN)
		finish(v, "temperror", "verification failed for now");
	else if (st == DKIM_STAT_SYNTAX) {
		/* a header libopendkim cannot take apart: it matters only
		 * when there is a signature in it, which the rest of the
		 * header may still show (dkimv_end decides) */
		v->syntax = 1;
	}
	/* anything else: the signatures' own results say it, at the end */
	else v->on = 0;
}

int dkimv_feed(dkimv *v, const char *p, size_t n)
{
	size_t i;
	DKIM_STAT st;

	if (!v->on || !n) return 0;
	if (v->syntax && !v->inheader) return 0;
	v->crlf.len = 0;
	if (buf_ready(&v->crlf, 2 * n) < 0) return -1;
	for (i = 0; i < n; i++) {
		char c = p[i];
		if (v->inheader) {
			if (++v->hdr > DKIMV_HEADER_MAX) {
				/* what libopendkim holds of it goes now */
				finish(v, "neutral", "header too large to verify");
				dkim_free(v->h);
				v->h = 0;
				v->n = 0;
				return 0;
			}
			if (c == '\n' && v->bol) v->inheader = 0;
			if (v->bol) v->name = 0;
			if (v->name >= 0) {
				static const char sig[] = "dkim-signature";
				char l = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
				if (v->name < 14 && l == sig[v->name]) v->name++;
				else if (v->name == 14 && (c == ':' || c == ' ' || c == '\t')) { v->sawsig = 1; v->name = -1; }
				else v->name = -1;
			}
			v->bol = c == '\n';
		}
		if (c == '\n') v->crlf.s[v->crlf.len++] = '\r';
		v->crlf.s[v->crlf.len++] = c;
	}
	if (v->syntax) return 0;
	st = dkim_chunk(v->h, (unsigned char *)v->crlf.s, v->crlf.len);
	if (st != DKIM_STAT_OK) failed(v, st);
	return 0;
}

/* ---- results ------------------------------------------------------------------ */

static void classify(struct dkimv_sig *g, DKIM_SIGINFO *sig)
{
	unsigned flags = dkim_sig_getflags(sig);
	int bh = dkim_sig_getbh(sig), e = dkim_sig_geterror(sig);

	g->why = 0;
	if (g->soft) { g->result = "temperror"; g->why = "key lookup failed"; return; }
	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) { g->result = "pass"; return; }
	switch (e) {
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_BADSIG:
		g->result = "fail";
		g->why = bh == DKIM_SIGBH_MISMATCH ? "body hash did not verify" : "signature did not verify";
		break;
	case DKIM_SIGERROR_KEYFAIL:
		g->result = "temperror"; g->why = "key lookup failed"; break;
	case DKIM_SIGERROR_NOKEY:
		g->result = "permerror"; g->why = "no key"; break;
	case DKIM_SIGERROR_EXPIRED:
		g->result = "permerror"; g->why = "signature expired"; break;
	case DKIM_SIGERROR_FUTURE:
		g->result = "permerror"; g->why = "signature in the future"; break;
	case DKIM_SIGERROR_KEYREVOKED:
		g->result = "permerror"; g->why = "key revoked"; break;
	case DKIM_SIGERROR_KEYTOOSMALL:
		g->result = "policy"; g->why = "key too small"; break;
	case DKIM_SIGERROR_DNSSYNTAX: case DKIM_SIGERROR_MULTIREPLY: case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH: case DKIM_SIGERROR_KEYHASHMISMATCH: case DKIM_SIGERROR_NOTEMAILKEY:
	case DKIM_SIGERROR_KEYTYPEMISSING: case DKIM_SIGERROR_KEYTYPEUNKNOWN: case DKIM_SIGERROR_KEYDECODE:
		g->result = "permerror"; g->why = "bad key record"; break;
	case DKIM_SIGERROR_SUBDOMAIN:
		g->result = "permerror"; g->why = "identity outside the signing domain"; break;
	default:
		g->result = "neutral"; g->why = "bad signature field"; break;
	}
}

void dkimv_end(dkimv *v)
{
	DKIM_SIGINFO **sigs = 0;
	int nsigs = 0, i;
	struct dkimv_sig soft[DKIMV_SIGS_MAX];
	size_t nsoft = v->n;

	if (!v->h) return;
	if (v->syntax) {
		if (v->sawsig) finish(v, "neutral", "the header cannot be parsed");
		else finish(v, "none", 0);
	}
	if (v->on) {
		DKIM_STAT st = dkim_chunk(v->h, 0, 0);
		if (st == DKIM_STAT_OK) st = dkim_eom(v->h, 0);
		/* BADSIG, NOKEY and the like: each signature says which */
		if (st == DKIM_STAT_NOSIG || st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL) failed(v, st);
		v->on = 0;
	}
	memcpy(soft, v->sig, nsoft * sizeof soft[0]);
	v->n = 0;
	if (!v->none && dkim_getsiglist(v->h, &sigs, &nsigs) == DKIM_STAT_OK) {
		for (i = 0; i < nsigs && v->n < DKIMV_SIGS_MAX; i++) {
			struct dkimv_sig *g = &v->sig[v->n];
			const char *d = (const char *)dkim_sig_getdomain(sigs[i]);
			const char *s = (const char *)dkim_sig_getselector(sigs[i]);
			size_t bl = sizeof g->b, k;
			if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) continue;
			memset(g, 0, sizeof *g);
			if (d && strlen(d) < sizeof g->domain) memcpy(g->domain, d, strlen(d) + 1);
			case_lower(g->domain, strlen(g->domain));
			if (s && strlen(s) < sizeof g->selector) memcpy(g->selector, s, strlen(s) + 1);
			for (k = 0; k < nsoft; k++)
				if (str_eq(soft[k].domain, g->domain) && str_eq(soft[k].selector, g->selector)) g->soft = 1;
			if (dkim_get_sigsubstring(v->h, sigs[i], g->b, &bl) != DKIM_STAT_OK || bl >= sizeof g->b) g->b[0] = 0;
			else g->b[bl] = 0;
			classify(g, sigs[i]);
			v->n++;
		}
	}
	if (!v->n && !v->none) finish(v, "none", 0);
	dkim_free(v->h);
	v->h = 0;
}

int dkimv_authres(const dkimv *v, struct authres *a)
{
	size_t i;

	if (!v->n) return authres_add(a, "dkim", v->none ? v->none : "none", v->nonewhy, 0, 0);
	for (i = 0; i < v->n; i++) {
		const struct dkimv_sig *g = &v->sig[i];
		const char *props[7];
		size_t k = 0;
		if (g->domain[0]) { props[k++] = "header.d"; props[k++] = g->domain; }
		if (g->selector[0] && nameok(g->selector)) { props[k++] = "header.s"; props[k++] = g->selector; }
		if (g->b[0]) { props[k++] = "header.b"; props[k++] = g->b; }
		props[k] = 0;
		if (authres_addp(a, "dkim", g->result, g->why, props) < 0) return -1;
	}
	return 0;
}

void dkimv_free(dkimv *v)
{
	if (v->h) dkim_free(v->h);
	v->h = 0;
	buf_free(&v->crlf);
}
