/* Unit tests for qmail-remote's routing and tables: control/smtproutes
 * and control/authsenders (src/mail/mxplan.c), the MX order, the TLS
 * policies of control/tlsdestinations and control/smtpauth
 * (src/mail/tlsdest.c), and the timeout table (src/mail/tcpto.c), on a
 * temporary instance directory. */
#include "tap.h"
#include "mail/mxplan.h"
#include "mail/tcpto.h"
#include "mail/tlsdest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/nqt-mxplan-XXXXXX";

static void put(const char *name, const char *text)
{
	char p[256];
	FILE *f;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f) { perror(p); exit(1); }
	fputs(text, f);
	fclose(f);
}

static int route(const mxroutes *r, const char *sender, const char *host, const char *relay, unsigned port, int bysender)
{
	mxroute o;
	buf why = BUF_INIT;
	int x = mxroutes_find(r, sender, host, &o, &why);
	buf_free(&why);
	if (x < 0) return 0;
	if (!relay) return !o.found;
	return o.found && !strcmp(o.relay, relay) && o.port == port && o.bysender == bysender;
}

int main(void)
{
	mxroutes r = MXROUTES_INIT;
	tlsdest td = TLSDEST_INIT;
	tlspolicy pol;
	mxroute o;
	const char *what;
	buf why = BUF_INIT, u = BUF_INIT, pw = BUF_INIT;
	dns_mxlist l;
	ipaddr ip;
	char cmd[300];
	int i, seen[2] = {0, 0};

	if (!mkdtemp(dir)) return 1;
	setenv("NQMAIL_HOME", dir, 1);
	snprintf(cmd, sizeof cmd, "%s/control", dir); mkdir(cmd, 0755);
	snprintf(cmd, sizeof cmd, "%s/queue", dir); mkdir(cmd, 0755);
	snprintf(cmd, sizeof cmd, "%s/queue/lock", dir); mkdir(cmd, 0755);

	put("control/smtproutes", "far.test:relay.test:2525\n.sub.test:[192.0.2.1]\nsub.test:\nv6.test:[2001:db8::1]:26\n"
	    "bad.test:relay:0\nport.test::2626\n:smart.test\n");
	put("control/authsenders", "boss@here.test:boss-relay.test:587\n@here.test:here-relay.test\nfree@here.test:\n");
	ok(mxroutes_load(&r, &what) == 0, "routes load");
	ok(route(&r, "x@y.test", "far.test", "relay.test", 2525, 0), "domain:relay:port");
	ok(route(&r, "x@y.test", "FAR.test", "relay.test", 2525, 0), "case ignored");
	ok(route(&r, "x@y.test", "a.b.sub.test", "192.0.2.1", 0, 0), ".suffix matches subdomains; [address]");
	ok(route(&r, "x@y.test", "sub.test", 0, 0, 0), "domain: means MX, before the catch-all");
	ok(route(&r, "x@y.test", "v6.test", "2001:db8::1", 26, 0), "[IPv6]:port");
	ok(route(&r, "x@y.test", "other.test", "smart.test", 0, 0), "catch-all");
	ok(route(&r, "x@y.test", "port.test", 0, 0, 0), "domain::port: MX");
	ok(mxroutes_find(&r, "x@y.test", "bad.test", &o, &why) < 0 && strstr(why.s, "bad.test"), "port 0 is malformed, said so");
	ok(route(&r, "boss@here.test", "far.test", "boss-relay.test", 587, 1), "authsenders: the whole address first");
	ok(route(&r, "other@HERE.test", "far.test", "here-relay.test", 0, 1), "authsenders: @domain");
	ok(route(&r, "free@here.test", "far.test", 0, 0, 0), "authsenders: an empty relay means MX");
	ok(mxroutes_find(&r, "boss@here.test", "x.test", &o, &why) == 0 && !strcmp(o.key, "boss@here.test"), "sender key kept");

	l.n = 5;
	for (i = 0; i < 5; i++) { l.mx[i].pref = (unsigned)(i % 2 ? 10 : 20); snprintf(l.mx[i].name, sizeof l.mx[i].name, "m%d", i); }
	mxplan_order(&l, 12345);
	ok(l.mx[0].pref == 10 && l.mx[1].pref == 10 && l.mx[2].pref == 20 && l.mx[4].pref == 20, "sorted by preference");
	for (i = 0; i < 64; i++) {
		l.n = 2;
		l.mx[0].pref = l.mx[1].pref = 10;
		memcpy(l.mx[0].name, "a", 2);
		memcpy(l.mx[1].name, "b", 2);
		mxplan_order(&l, (unsigned long)i * 2654435761UL);
		seen[l.mx[0].name[0] == 'b']++;
	}
	ok(seen[0] > 8 && seen[1] > 8, "equal preferences shuffled");

	put("control/tlsdestinations", "secure.test:verify:/etc/ssl/ca.pem\n.dane.test:dane\nbad.test:maybe\n:encrypt\n");
	ok(tlsdest_load(&td) == 0, "tlsdestinations load");
	ok(tlsdest_find(&td, 0, "secure.test", &pol, &why) == 0 && pol.level == TLS_VERIFY && pol.cafile &&
	   !strcmp(pol.cafile, "/etc/ssl/ca.pem"), "verify with a CA file");
	ok(tlsdest_find(&td, 0, "mx.dane.test", &pol, &why) == 0 && pol.level == TLS_DANE && !pol.cafile, ".suffix");
	ok(tlsdest_find(&td, "secure.test", "mx.dane.test", &pol, &why) == 0 && pol.level == TLS_VERIFY, "the relay's name first");
	ok(tlsdest_find(&td, 0, "else.test", &pol, &why) == 0 && pol.level == TLS_ENCRYPT, "catch-all");
	ok(tlsdest_find(&td, 0, "bad.test", &pol, &why) < 0, "unknown policy refused");
	put("control/smtpauth", "smart.test:user:pa:ss\n[192.0.2.1]:u2:p2\nbroken.test\n");
	ok(smtpauth_find("smart.test", &u, &pw, &why) == 1 && !strcmp(u.s, "user") && !strcmp(pw.s, "pa:ss"), "smtpauth: password is the rest");
	ok(smtpauth_find("[192.0.2.1]", &u, &pw, &why) == 1 && !strcmp(u.s, "u2"), "smtpauth: bracketed key");
	ok(smtpauth_find("none.test", &u, &pw, &why) == 0, "smtpauth: none");
	ok(smtpauth_find("broken.test", &u, &pw, &why) < 0, "smtpauth: malformed line");

	put("queue/lock/tcpto", "");
	ipaddr_scan(&ip, "192.0.2.7", 9);
	ok(!tcpto_skip(&ip, 1000000), "empty table: try");
	tcpto_record(&ip, 1, 1000000);
	ok(!tcpto_skip(&ip, 1000001), "one timeout: still try");
	tcpto_record(&ip, 1, 1000050);
	{ tcpto_ent e[TCPTO_N]; ok(tcpto_list(e) == 1 && e[0].errors == 1, "a second timeout within 2 minutes counts once"); }
	tcpto_record(&ip, 1, 1000200);
	ok(tcpto_skip(&ip, 1000201), "two timeouts: skip");
	ok(!tcpto_skip(&ip, 1000200 + 6000), "after an hour and more: try again");
	tcpto_record(&ip, 0, 1000300);
	ok(!tcpto_skip(&ip, 1000301), "a success clears it");
	for (i = 0; i < TCPTO_N + 10; i++) {
		ipaddr x = ip;
		x.a[3] = (unsigned char)i;
		x.a[2] = (unsigned char)(i >> 8);
		tcpto_record(&x, 1, 2000000 + i);
	}
	{
		struct stat st;
		snprintf(cmd, sizeof cmd, "%s/queue/lock/tcpto", dir);
		ok(stat(cmd, &st) == 0 && st.st_size == TCPTO_N * TCPTO_REC, "the table never grows past TCPTO_N records");
	}
	ok(tcpto_clear() == 0 && stat(cmd, &(struct stat){0}) == 0, "cleared");

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0) return 1;
	return done_testing();
}
