/* mtastsfetch: the HTTPS GET of an MTA-STS policy with libcurl, as RFC
 * 8461 section 3.3 asks: https only, the certificate checked against the
 * system store (or control/mtastscafile) and the name mta-sts.DOMAIN,
 * HTTP redirects not followed, at most MTASTS_BODY_MAX bytes, a timeout,
 * status 200 and media type text/plain, no proxy.
 *
 * Name resolution stays ours: the addresses of mta-sts.DOMAIN come from
 * src/mail/dns.h (control/dnsservers) and are given to curl with
 * CURLOPT_RESOLVE, so curl never asks the system resolver; without an
 * address the fetch fails before curl is started. */
#include "mail/mtasts.h"
#include "mail/dns.h"
#include "lib/ipaddr.h"
#include "lib/str.h"
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

struct sink { buf *b; int over; };

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *k = ctx;
	size_t len = size * n;
	if (n && len / n != size) return 0;
	if (len > MTASTS_BODY_MAX || k->b->len > MTASTS_BODY_MAX - len) { k->over = 1; return 0; }
	if (buf_put(k->b, p, len) < 0) return 0;
	return len;
}

static int fail(buf *why, const char **rtype, const char *type, const char *a, const char *b)
{
	*rtype = type;
	if (why && (buf_copys(why, a) < 0 || (b && buf_puts(why, b) < 0))) why->len = 0;
	return -1;
}

/* "mta-sts.DOMAIN:443:addr,[addr6],..." from our DNS. 0 ok, -1 none
 * (why), -2 DNS failed. */
static int addresses(const char *host, buf *line, buf *why)
{
	dns_iplist ips;
	size_t i;
	int r6, r4;

	ips.n = 0;
	r6 = dns_ip(host, AF_INET6, &ips, why);
	r4 = dns_ip(host, AF_INET, &ips, why);
	if (!ips.n) return r6 == DNS_SOFT || r4 == DNS_SOFT ? -2 : -1;
	if (buf_copys(line, host) < 0 || buf_puts(line, ":443:") < 0) return -2;
	for (i = 0; i < ips.n; i++) {
		char a[IPADDR_FMT];
		ipaddr_fmt(a, &ips.ip[i]);
		if ((i && buf_putc(line, ',') < 0) ||
		    (ips.ip[i].family == AF_INET6 ? buf_putc(line, '[') < 0 || buf_puts(line, a) < 0 || buf_putc(line, ']') < 0
		                                  : buf_puts(line, a) < 0))
			return -2;
	}
	return 0;
}

int mtasts_fetch(const char *domain, buf *body, const char **rtype, buf *why)
{
	static int inited;
	buf host = BUF_INIT, url = BUF_INIT, res = BUF_INIT, dwhy = BUF_INIT;
	struct curl_slist *rl = 0;
	struct sink k;
	CURL *c = 0;
	CURLcode e;
	long code = 0;
	char *ctype = 0, errbuf[CURL_ERROR_SIZE];
	const char *cafile = mtasts_cafile();
	int r = -1, a;

	body->len = 0;
	if (buf_copys(&host, "mta-sts.") < 0 || buf_puts(&host, domain) < 0 ||
	    buf_copys(&url, "https://") < 0 || buf_puts(&url, host.s) < 0 || buf_puts(&url, "/.well-known/mta-sts.txt") < 0) {
		fail(why, rtype, "sts-policy-fetch-error", "out of memory", 0);
		goto out;
	}
	a = addresses(host.s, &res, &dwhy);
	if (a < 0) {
		fail(why, rtype, "sts-policy-fetch-error", a == -1 ? "no address for " : "DNS failed for ", host.s);
		goto out;
	}
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) { fail(why, rtype, "sts-policy-fetch-error", "unable to start libcurl", 0); goto out; }
		inited = 1;
	}
	c = curl_easy_init();
	rl = curl_slist_append(0, res.s);
	if (!c || !rl) { fail(why, rtype, "sts-policy-fetch-error", "unable to start libcurl", 0); goto out; }
	k.b = body;
	k.over = 0;
	errbuf[0] = 0;
	if (curl_easy_setopt(c, CURLOPT_URL, url.s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_RESOLVE, rl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MTASTS_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(MTASTS_TIMEOUT / 2)) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)MTASTS_BODY_MAX) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "nqmail MTA-STS") != CURLE_OK ||
	    (cafile && (curl_easy_setopt(c, CURLOPT_CAINFO, cafile) != CURLE_OK ||
	                curl_easy_setopt(c, CURLOPT_CAPATH, (char *)0) != CURLE_OK))) {
		fail(why, rtype, "sts-policy-fetch-error", "unable to set libcurl up", 0);
		goto out;
	}
	e = curl_easy_perform(c);
	if (e != CURLE_OK) {
		const char *t = "sts-policy-fetch-error";
		if (e == CURLE_PEER_FAILED_VERIFICATION || e == CURLE_SSL_CERTPROBLEM || e == CURLE_SSL_CACERT_BADFILE ||
		    e == CURLE_SSL_ISSUER_ERROR)
			t = "sts-webpki-invalid";
		if (k.over || e == CURLE_FILESIZE_EXCEEDED) fail(why, rtype, t, "the policy is larger than 64 KiB at ", url.s);
		else fail(why, rtype, t, errbuf[0] ? errbuf : curl_easy_strerror(e), 0);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		/* a redirect (3xx) is not followed: it fails here too */
		char n[24];
		fmt_ulong(n, code > 0 ? (unsigned long long)code : 0);
		fail(why, rtype, "sts-policy-fetch-error", "HTTP status ", n);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
	if (!ctype || strncasecmp(ctype, "text/plain", 10) || (ctype[10] && ctype[10] != ';' && ctype[10] != ' ')) {
		fail(why, rtype, "sts-policy-invalid", "the policy's media type is not text/plain: ", ctype ? ctype : "none");
		goto out;
	}
	r = 0;
out:
	if (c) curl_easy_cleanup(c);
	curl_slist_free_all(rl);
	buf_free(&host);
	buf_free(&url);
	buf_free(&res);
	buf_free(&dwhy);
	return r;
}
