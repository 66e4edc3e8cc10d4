/* dmarc: policy discovery, alignment and the decision (see dmarc.h).
 *
 * libopendmarc is given, in this order (its store functions compare with
 * what was stored before): the From domain, the policy record, then only
 * the SPF and DKIM identifiers we found aligned, each as the From domain
 * itself, so that its own alignment test cannot disagree with ours. */
#include "mail/dmarc.h"
#include "mail/control.h"
#include "mail/dkimsign.h"
#include "mail/dns.h"
#include "mail/dnstxt.h"
#include "mail/orgdomain.h"
#include "lib/str.h"
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <opendmarc/dmarc.h>

#define FIELD_MAX 16384      /* bytes of From kept: enough for any address list */

/* ---- control/dmarcpolicy --------------------------------------------------- */

int dmarc_policy(void)
{
	buf v = BUF_INIT;
	int r = -1;

	if (control_readline(&v, "dmarcpolicy", "none") < 0) return -1;
	case_lower(v.s, v.len);
	if (!v.len || str_eq(v.s, "none") || str_eq(v.s, "record")) r = DMARC_RECORD;
	else if (str_eq(v.s, "quarantine")) r = DMARC_QUARANTINE;
	else if (str_eq(v.s, "reject")) r = DMARC_REJECT;
	buf_free(&v);
	return r;
}

/* ---- the From field ------------------------------------------------------------ */

int dmarc_fromdomain(const char *h, size_t n, buf *dom)
{
	buf f = BUF_INIT;
	size_t i = 0, count = 0;

	dom->len = 0;
	while (i < n) {
		size_t e = i + byte_chr(h + i, n - i, '\n'), c, k;
		if (e == i) break;                          /* the empty line: the end */
		c = byte_chr(h + i, e - i, ':');
		k = c;
		while (k > 0 && (h[i + k - 1] == ' ' || h[i + k - 1] == '\t')) k--;
		if (h[i] != ' ' && h[i] != '\t' && c < e - i && k == 4 && case_eqn(h + i, "from", 4)) {
			count++;
			if (count == 1) {
				/* its contents, continuation lines joined */
				size_t j = i + c + 1;
				for (;;) {
					size_t take = e - j;
					if (f.len + take > FIELD_MAX) take = FIELD_MAX - f.len;
					if (buf_put(&f, h + j, take) < 0 || buf_putc(&f, ' ') < 0) { buf_free(&f); return -1; }
					if (e + 1 >= n || (h[e + 1] != ' ' && h[e + 1] != '\t')) break;
					j = e + 1;
					e = j + byte_chr(h + j, n - j, '\n');
				}
			}
		}
		i = e + 1;
	}
	if (count && f.len && dkimsign_fromdomain(f.s, f.len, dom) < 0) dom->len = 0;
	if (dom->len && memchr(dom->s, 0, dom->len)) dom->len = 0;    /* not a name */
	buf_free(&f);
	return (int)(count > 1000 ? 1000 : count);
}

/* ---- policy discovery ------------------------------------------------------------- */

/* Does TXT record r begin with "v=DMARC1"? */
static int isdmarc(const char *r)
{
	while (*r == ' ' || *r == '\t') r++;
	if (*r != 'v' && *r != 'V') return 0;
	for (r++; *r == ' ' || *r == '\t'; r++) ;
	if (*r++ != '=') return 0;
	while (*r == ' ' || *r == '\t') r++;
	if (!case_eqn(r, "DMARC1", 6)) return 0;
	for (r += 6; *r == ' ' || *r == '\t'; r++) ;
	return *r == ';' || *r == 0;
}

/* The one DMARC record at _dmarc.domain into rec. DNS_FOUND, DNS_NX (no
 * usable record) or DNS_SOFT. */
static int fetch(const char *domain, buf *rec)
{
	buf name = BUF_INIT, txt = BUF_INIT;
	size_t n, i, found = 0;
	const char *p;
	int r;

	if (buf_copys(&name, "_dmarc.") < 0 || buf_puts(&name, domain) < 0) { buf_free(&name); return DNS_SOFT; }
	r = dnstxt_lookup(name.s, &txt, &n, 0);
	buf_free(&name);
	if (r == DNS_SOFT) { buf_free(&txt); return DNS_SOFT; }
	if (r != DNS_FOUND) { buf_free(&txt); return DNS_NX; }
	for (i = 0, p = txt.s; i < n; i++, p += strlen(p) + 1) {
		if (!isdmarc(p)) continue;
		if (found++ == 0 && buf_copys(rec, p) < 0) { buf_free(&txt); return DNS_SOFT; }
	}
	buf_free(&txt);
	return found == 1 ? DNS_FOUND : DNS_NX;
}

static const char *pname(int p)
{
	switch (p) {
	case DMARC_RECORD_P_REJECT: return "reject";
	case DMARC_RECORD_P_QUARANTINE: return "quarantine";
	case DMARC_RECORD_P_NONE: return "none";
	}
	return 0;
}

/* ---- the evaluation ----------------------------------------------------------------- */

static void say(struct dmarc_out *o, const char *result, const char *why)
{
	o->result = result;
	o->why = why;
}

int dmarc_check(const struct dmarc_in *in, struct dmarc_out *out)
{
	buf from = BUF_INIT, org = BUF_INIT, rec = BUF_INIT;
	DMARC_POLICY_T *pc = 0;
	int nfrom, r, atorg = 0, adkim = 0, aspf = 0, pct = 100, pol, nomem = 0;
	size_t i;

	memset(out, 0, sizeof *out);
	say(out, "none", 0);
	if (!in->hdr) { say(out, "permerror", "header too large to check"); goto done; }
	nfrom = dmarc_fromdomain(in->hdr, in->hdrlen, &from);
	if (nfrom < 0) return -1;
	if (nfrom > 1) { say(out, "permerror", "more than one From field"); goto done; }
	if (!from.len || from.len >= sizeof out->from) { say(out, "permerror", "no From domain"); goto done; }
	memcpy(out->from, from.s, from.len + 1);

	/* the record: the From domain's, else its Organizational Domain's */
	r = fetch(from.s, &rec);
	if (r == DNS_NX) {
		if (orgdomain(from.s, &org) < 0) { say(out, "permerror", "no From domain"); goto done; }
		if (!(org.len == from.len && memcmp(org.s, from.s, from.len) == 0)) {
			r = fetch(org.s, &rec);
			atorg = 1;
		}
	}
	if (r == DNS_SOFT) { say(out, "temperror", "DNS failure fetching the policy"); goto done; }
	if (r != DNS_FOUND) goto done;                       /* none */

	pc = opendmarc_policy_connect_init((u_char *)(in->ip ? in->ip : "0.0.0.0"), in->ip && strchr(in->ip, ':') != 0);
	if (!pc) { nomem = 1; goto done; }
	if (opendmarc_policy_store_from_domain(pc, (u_char *)from.s) != DMARC_PARSE_OKAY) {
		say(out, "permerror", "no From domain");
		goto done;
	}
	if (opendmarc_policy_store_dmarc(pc, (u_char *)rec.s, (u_char *)from.s, atorg ? (u_char *)org.s : 0) != DMARC_PARSE_OKAY) {
		say(out, "permerror", "malformed policy record");
		goto done;
	}
	(void)opendmarc_policy_fetch_adkim(pc, &adkim);
	(void)opendmarc_policy_fetch_aspf(pc, &aspf);
	(void)opendmarc_policy_fetch_pct(pc, &pct);

	/* only aligned passes are handed over, as the From domain itself */
	if (in->spfpass && in->spfdomain && *in->spfdomain) {
		r = orgdomain_aligned(in->spfdomain, from.s, aspf == DMARC_RECORD_A_STRICT);
		if (r < 0) { nomem = 1; goto done; }
		if (r) (void)opendmarc_policy_store_spf(pc, (u_char *)from.s, DMARC_POLICY_SPF_OUTCOME_PASS,
		                                        DMARC_POLICY_SPF_ORIGIN_MAILFROM, 0);
	}
	for (i = 0; in->dkim && i < in->dkim->n; i++) {
		const struct dkimv_sig *g = &in->dkim->sig[i];
		if (!str_eq(g->result, "pass") || !g->domain[0]) continue;
		r = orgdomain_aligned(g->domain, from.s, adkim == DMARC_RECORD_A_STRICT);
		if (r < 0) { nomem = 1; goto done; }
		if (r) {
			(void)opendmarc_policy_store_dkim(pc, (u_char *)from.s, (u_char *)g->selector,
			                                  DMARC_POLICY_DKIM_OUTCOME_PASS, 0);
			break;
		}
	}

	pol = opendmarc_get_policy_to_enforce(pc);
	if (pol == DMARC_POLICY_PASS) { say(out, "pass", 0); goto done; }
	if (pol != DMARC_POLICY_REJECT && pol != DMARC_POLICY_QUARANTINE && pol != DMARC_POLICY_NONE) goto done;
	say(out, "fail", 0);
	{
		int p = 0, sp = 0;
		(void)opendmarc_policy_fetch_p(pc, &p);
		(void)opendmarc_policy_fetch_sp(pc, &sp);
		out->policy = pname(atorg && sp ? sp : p);
		if (!out->policy) out->policy = pol == DMARC_POLICY_REJECT ? "reject" : pol == DMARC_POLICY_QUARANTINE ? "quarantine" : "none";
	}
	/* pct=: the messages not sampled get the next milder policy */
	if (pct >= 0 && pct < 100 && (int)arc4random_uniform(100) >= pct) {
		if (pol == DMARC_POLICY_REJECT) pol = DMARC_POLICY_QUARANTINE;
		else if (pol == DMARC_POLICY_QUARANTINE) pol = DMARC_POLICY_NONE;
	}
	if (pol == DMARC_POLICY_REJECT && in->enforce == DMARC_REJECT) out->action = DMARC_DO_REJECT;
	else if ((pol == DMARC_POLICY_REJECT || pol == DMARC_POLICY_QUARANTINE) && in->enforce >= DMARC_QUARANTINE)
		out->action = DMARC_DO_QUARANTINE;
done:
	if (pc) opendmarc_policy_connect_shutdown(pc);
	buf_free(&from);
	buf_free(&org);
	buf_free(&rec);
	return nomem ? -1 : 0;
}

int dmarc_authres(const struct dmarc_out *o, struct authres *a)
{
	buf c = BUF_INIT;
	const char *comment = o->why;
	int r;

	if (o->policy) {
		static const char *const dis[] = { "none", "quarantine", "reject" };
		if (buf_copys(&c, "p=") < 0 || buf_puts(&c, o->policy) < 0 || buf_puts(&c, " dis=") < 0 ||
		    buf_puts(&c, dis[o->action >= 0 && o->action <= 2 ? o->action : 0]) < 0) { buf_free(&c); return -1; }
		comment = c.s;
	}
	r = authres_add(a, "dmarc", o->result, comment, o->from[0] ? "header.from" : 0, o->from[0] ? o->from : 0);
	buf_free(&c);
	return r;
}
