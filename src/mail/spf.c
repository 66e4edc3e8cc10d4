/* spf: libspf2 behind a DNS layer of our own (see spf.h).
 *
 * libspf2's bundled resolver layer calls res_ninit on a private state and
 * so always asks the servers of /etc/resolv.conf. We give it instead a
 * layer (an SPF_dns_server_t) whose lookups go through dns_query(), i.e.
 * to control/dnsservers, and whose answers we parse ourselves with the
 * same care as dns.c: every length checked against the message, at most
 * RR_MAX records kept. That layer is also where RFC 7208's void-lookup
 * limit is counted, since libspf2 1.2 does not know it. */
#include "mail/spf.h"
#include "mail/control.h"
#include "mail/dns.h"
#include "lib/str.h"
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <spf2/spf.h>

#define RR_MAX 100          /* records kept from one answer */
#define TXT_MAX 8192        /* bytes of one TXT record, strings joined */
#define VOID_MAX 2          /* RFC 7208 4.6.4 */

static SPF_server_t *server;
static SPF_dns_server_t layer;
static int voids;           /* empty answers in the current check */

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Keep one record's data: n bytes (a NUL added for the text types). */
static int keep(SPF_dns_rr_t *rr, const void *data, size_t n, int text)
{
	int i = rr->num_rr;
	if (SPF_dns_rr_buf_realloc(rr, i, n + 1) != SPF_E_SUCCESS) return -1;
	memcpy(rr->rr[i], data, n);
	if (text) ((char *)rr->rr[i])[n] = 0;
	rr->num_rr = i + 1;
	return 0;
}

/* One record's rdata (at rd, rdlen bytes in msg[0..len)) of the type
 * asked for, into rr. 0 kept or skipped (malformed data is skipped, as a
 * record that is not there), -1 out of memory. */
static int take(SPF_dns_rr_t *rr, int type, const unsigned char *msg, size_t len,
                size_t rd, size_t rdlen)
{
	char name[DNS_NAME_MAX];
	char txt[TXT_MAX];
	size_t k, n;

	switch (type) {
	case ns_t_a:
		return rdlen == 4 ? keep(rr, msg + rd, 4, 0) : 0;
	case ns_t_aaaa:
		return rdlen == 16 ? keep(rr, msg + rd, 16, 0) : 0;
	case ns_t_mx:
		if (rdlen < 3 || dn_expand(msg, msg + len, msg + rd + 2, name, sizeof name) < 0) return 0;
		return keep(rr, name, strlen(name), 1);
	case ns_t_ptr:
		if (dn_expand(msg, msg + len, msg + rd, name, sizeof name) < 0) return 0;
		return keep(rr, name, strlen(name), 1);
	case ns_t_txt:
	case ns_t_spf:
		/* character-strings joined, as RFC 7208 3.3 says */
		for (k = 0, n = 0; k < rdlen; ) {
			size_t l = msg[rd + k];
			if (l > rdlen - k - 1 || n + l >= sizeof txt) return 0;
			memcpy(txt + n, msg + rd + k + 1, l);
			n += l;
			k += l + 1;
		}
		if (memchr(txt, 0, n)) return 0;
		return keep(rr, txt, n, 1);
	}
	return 0;
}

/* The records of type in the answer msg[0..len). 0 ok, -1 malformed,
 * -2 out of memory. */
static int parse(SPF_dns_rr_t *rr, int type, const unsigned char *msg, size_t len)
{
	size_t pos = 12, k, qd, an;
	int s;

	if (len < 12) return -1;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (k = 0; k < qd; k++) {
		s = dn_skipname(msg + pos, msg + len);
		if (s <= 0 || len - pos < (size_t)s + 4) return -1;
		pos += (size_t)s + 4;
	}
	for (k = 0; k < an && rr->num_rr < RR_MAX; k++) {
		size_t rdlen;
		unsigned t;
		s = dn_skipname(msg + pos, msg + len);
		if (s <= 0 || len - pos < (size_t)s + 10) return -1;
		pos += (size_t)s;
		t = get16(msg + pos);
		rdlen = get16(msg + pos + 8);
		pos += 10;
		if (len - pos < rdlen) return -1;
		/* CNAMEs on the way are the resolver's business; the records
		 * of the type asked for are the answer */
		if ((int)t == type && get16(msg + pos - 8) == ns_c_in &&
		    take(rr, type, msg, len, pos, rdlen) < 0) return -2;
		pos += rdlen;
	}
	return 0;
}

static SPF_dns_rr_t *lookup(SPF_dns_server_t *self, const char *domain, ns_type type, int cache)
{
	const unsigned char *msg;
	size_t len;
	SPF_dns_rr_t *rr;
	int r, herr;

	(void)cache;
	r = dns_query(domain, (int)type, &msg, &len, 0);
	herr = r == DNS_FOUND ? NETDB_SUCCESS : r == DNS_NX ? HOST_NOT_FOUND :
	       r == DNS_NODATA ? NO_DATA : TRY_AGAIN;
	rr = SPF_dns_rr_new_init(self, domain, type, 0, herr);
	if (!rr) return 0;
	if (r == DNS_FOUND) {
		r = parse(rr, (int)type, msg, len);
		if (r == -2) { SPF_dns_rr_free(rr); return 0; }
		if (r == -1) rr->herrno = TRY_AGAIN;
		else if (!rr->num_rr) rr->herrno = NO_DATA;
	}
	/* Type 99 is libspf2's own habit, not a lookup RFC 7208 counts. */
	if ((rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA) && type != ns_t_spf) voids++;
	return rr;
}

/* libspf2 reports through these. Its warnings about a sender's broken
 * record are not our log's business (the result says it); its error
 * handler, called on an internal inconsistency, must not return: the
 * process ends as a temporary failure, as when out of memory. */
static void quiet(const char *file, int line, const char *msg)
{
	(void)file; (void)line; (void)msg;
}

/* the attribute libspf2 declares its error handler with */
__attribute__((noreturn)) static void fatal(const char *file, int line, const char *msg)
{
	(void)file; (void)line; (void)msg;
	_exit(111);
}

int spf_init(const char *me, buf *why)
{
	if (server) return 0;
	if (dns_init(why) < 0) return -1;
	SPF_error_handler = fatal;
	SPF_warning_handler = quiet;
	SPF_info_handler = quiet;
	SPF_debug_handler = quiet;
	memset(&layer, 0, sizeof layer);
	layer.lookup = lookup;
	layer.name = "nqmail";
	server = SPF_server_new_dns(&layer, 0);
	if (!server) {
		if (why && buf_copys(why, "unable to start libspf2") < 0) why->len = 0;
		return -1;
	}
	if (me && *me) SPF_server_set_rec_dom(server, me);
	return 0;
}

static enum spf_result result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS: return SPFR_PASS;
	case SPF_RESULT_FAIL: return SPFR_FAIL;
	case SPF_RESULT_SOFTFAIL: return SPFR_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return SPFR_NEUTRAL;
	case SPF_RESULT_NONE: return SPFR_NONE;
	case SPF_RESULT_TEMPERROR: return SPFR_TEMPERROR;
	default: return SPFR_PERMERROR;
	}
}

int spf_check(const char *ip, const char *helo, const char *sender, struct spf_check *out)
{
	SPF_request_t *req;
	SPF_response_t *res = 0;
	const char *dom;
	int bad;
	SPF_errcode_t e;

	out->result = SPFR_NONE;
	out->helo = !*sender;
	if (*sender) {
		size_t n = strlen(sender), a = byte_rchr(sender, n, '@');
		dom = a < n ? sender + a + 1 : sender;
	} else dom = helo ? helo : "";
	if (buf_copys(&out->domain, dom) < 0) return -1;
	if (!server && spf_init(0, 0) < 0) return -1;
	req = SPF_request_new(server);
	if (!req) return -1;
	bad = strchr(ip, ':') ? SPF_request_set_ipv6_str(req, ip) : SPF_request_set_ipv4_str(req, ip);
	if (bad) {
		/* no address to check (tcpserver always gives one) */
		SPF_request_free(req);
		out->result = SPFR_NONE;
		return 0;
	}
	if (helo && *helo) SPF_request_set_helo_dom(req, helo);
	if (SPF_request_set_env_from(req, sender) != 0) {
		/* a sender libspf2 cannot take apart, or <> without a HELO
		 * name: no identity to check */
		SPF_request_free(req);
		return 0;
	}
	voids = 0;
	e = SPF_request_query_mailfrom(req, &res);
	if (!res) { SPF_request_free(req); return -1; }
	if (e == SPF_E_NO_MEMORY) { SPF_response_free(res); SPF_request_free(req); return -1; }
	out->result = result(SPF_response_result(res));
	/* A DNS failure while fetching the sender's own record leaves
	 * libspf2's result unset, with this error code. */
	if (SPF_response_result(res) == SPF_RESULT_INVALID)
		out->result = e == SPF_E_DNS_ERROR ? SPFR_TEMPERROR : SPFR_PERMERROR;
	if (voids > VOID_MAX && out->result != SPFR_TEMPERROR) out->result = SPFR_PERMERROR;
	SPF_response_free(res);
	SPF_request_free(req);
	return 0;
}

const char *spf_name(enum spf_result r)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"
	};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "permerror";
}

int spf_policy(void)
{
	unsigned long u;
	if (control_readulong(&u, "spfpolicy", SPF_POLICY_RECORD) < 0) return -1;
	return u <= SPF_POLICY_DEFER ? (int)u : -1;
}
