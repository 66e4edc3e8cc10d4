/* Unit tests for qmail-report's parts: logparse (stamps and events),
 * idmap, tally, textfmt, logstat's histogram and reason text. */
#include "tap.h"
#include "lib/idmap.h"
#include "lib/tally.h"
#include "lib/textfmt.h"
#include "mail/logparse.h"
#include "mail/logstat.h"
#include <stdlib.h>
#include <string.h>

static struct logline L;
static struct logctx C = LOGCTX_INIT;

static int parse(const char *s)
{
	logparse_line(&C, s, strlen(s), &L);
	return L.ev;
}

static int texteq(const char *want)
{
	return L.textlen == strlen(want) && !memcmp(L.text, want, L.textlen);
}

int main(void)
{
	/* stamps */
	ok(parse("@400000006593dce20000000a new msg 5") == LE_NEW && L.hast && L.t == 1704189144000000LL && L.msg == 5,
	   "tai64n stamp");
	ok(parse("@400000006593dce21dcd6500 end msg 5") == LE_END && L.t == 1704189144500000LL, "tai64n nanoseconds");
	ok(parse("@40000000zz93e0e20000000a new msg 5") == LE_OTHER && !L.hast, "bad hex is no stamp");
	ok(parse("1704189144.250000 new msg 7") == LE_NEW && L.t == 1704189144250000LL && L.msg == 7, "accustamp");
	ok(parse("1704189144.25 new msg 7") == LE_NEW && L.t == 1704189144250000LL, "short fraction");
	ok(parse("Jan  2 10:00:00 mx qmail: 1704189600.000001 new msg 8") == LE_NEW &&
	   L.t == 1704189600000001LL, "syslog with splogger stamp");
	ok(parse("2024-01-02T10:00:00+01:00 mx qmail[12]: end msg 9") == LE_END && L.t == 1704186000000000LL,
	   "RFC 3339 syslog, zone");
	ok(parse("2024-01-02T10:00:00.5Z mx qmail: end msg 9") == LE_END && L.t == 1704189600500000LL,
	   "RFC 3339 syslog, Z and fraction");
	ok(parse("1704189600.000001+rest of a long line") == LE_OTHER && L.cont && L.t == 1704189600000001LL,
	   "splogger continuation");
	ok(parse("new msg 10") == LE_NEW && !L.hast, "plain line");
	ok(parse("") == LE_OTHER && !L.hast, "empty line");

	/* events */
	ok(parse("info msg 5: bytes 123 from <a>b@x> qp 9 uid 7") == LE_INFO && L.bytes == 123 && texteq("a>b@x") &&
	   L.hasqp && L.qp == 9 && L.hasuid && L.uid == 7, "info with '>' in the sender");
	ok(parse("info msg 5: bytes 123 from <a@x>") == LE_INFO && texteq("a@x") && !L.hasqp, "old info without qp");
	ok(parse("info msg 5: bytes 123 from <>") == LE_INFO && L.textlen == 0, "info, null sender");
	ok(parse("starting delivery 12: msg 5 to remote u@h.example") == LE_START && L.del == 12 && L.msg == 5 &&
	   L.chan == 1 && texteq("u@h.example"), "starting remote");
	ok(parse("starting delivery 1: msg 5 to local a-b@l") == LE_START && L.chan == 0, "starting local");
	ok(parse("starting delivery 1: msg 5 to odd") == LE_START && L.chan == -1 && texteq("odd"), "no channel");
	ok(parse("delivery 12: success: did_1+0+0/") == LE_SUCCESS && L.del == 12 && texteq("did_1+0+0/"), "success");
	ok(parse("delivery 3: failure: No_such_user./") == LE_FAILURE && texteq("No_such_user./"), "failure");
	ok(parse("delivery 3: deferral: Try again/") == LE_DEFERRAL, "deferral");
	ok(parse("delivery 3: report mangled, will defer") == LE_DEFERRAL && texteq("report mangled"), "mangled");
	ok(parse("delivery 3: weird") == LE_OTHER, "unknown result");
	ok(parse("bounce msg 5 qp 77") == LE_BOUNCE && L.msg == 5 && L.qp == 77, "bounce");
	ok(parse("triple bounce: discarding bounce/5") == LE_TRIPLE && L.msg == 5, "triple bounce");
	ok(parse("status: local 2/10 remote 3/20") == LE_STATUS && L.lused == 2 && L.lmax == 10 &&
	   L.rused == 3 && L.rmax == 20, "status");
	ok(parse("status: local 0/10 remote 0/20 exitasap") == LE_STATUS, "status exitasap");
	ok(parse("status: exiting") == LE_EXITING, "exiting");
	ok(parse("alert: oh no! lost spawn connection! dying...") == LE_ALERT, "alert");
	ok(parse("warning: trouble opening local/3/5") == LE_WARNING, "warning");
	ok(parse("new msg 99999999999999999999999") == LE_OTHER, "overflowing number");
	ok(parse("end msg 5\r") == LE_END, "CR at the end");

	/* idmap: many puts and removals */
	{
		idmap m = IDMAP_INIT;
		unsigned long long k;
		int good = 1;
		static int v[5000];
		for (k = 0; k < 5000; k++) if (idmap_put(&m, k * 7919, &v[k]) < 0) good = 0;
		for (k = 0; k < 5000; k += 2) if (idmap_del(&m, k * 7919) != &v[k]) good = 0;
		for (k = 0; k < 5000; k++)
			if (idmap_get(&m, k * 7919) != (k % 2 ? &v[k] : 0)) good = 0;
		ok(good && m.n == 2500, "idmap put/del/get");
		idmap_free(&m);
	}
	/* tally: exact below capacity, bounded above */
	{
		tally t;
		const struct tally_ent *o[8];
		char k[16];
		int i;
		tally_init(&t, 8, 64);
		for (i = 0; i < 5; i++) tally_get(&t, "big", 3)->v[0]++;
		tally_get(&t, "small", 5)->v[0]++;
		ok(tally_sorted(&t, 0, o) == 2 && o[0]->v[0] == 5 && !memcmp(tally_key(&t, o[0]), "big", 3) && !t.floor,
		   "tally exact");
		for (i = 0; i < 100; i++) {
			k[0] = 'k'; k[1] = (char)('a' + i / 26); k[2] = (char)('a' + i % 26);
			tally_get(&t, k, 3)->v[0]++;
		}
		ok(t.n <= 8 && tally_get(&t, "big", 3)->v[0] == 5 && t.floor == 1, "tally bounded, big key kept");
		tally_free(&t);
	}
	/* textfmt */
	{
		buf b = BUF_INIT;
		buf_putfix(&b, 2.0 / 3, 3); buf_putc(&b, ' '); buf_putfix(&b, -1.25, 1); buf_putc(&b, ' ');
		buf_putfix(&b, 7, 0); buf_putc(&b, ' ');
		buf_putxml(&b, "<a href='x'>&\x01", 14);
		ok(b.len && !strcmp(b.s, "0.667 -1.3 7 &lt;a href=&#39;x&#39;&gt;&amp;?"), "textfmt");
		buf_free(&b);
	}
	/* reasons */
	{
		buf b = BUF_INIT;
		const char *r = "Remote host said: 550 <joe@x.example> unknown 1234567/";
		logstat_reason(&b, r, strlen(r));
		ok(b.len == strlen("Remote host said: 550 <*> unknown #") &&
		   !memcmp(b.s, "Remote host said: 550 <*> unknown #", b.len), "reason normalised");
		buf_free(&b);
	}
	/* histogram percentiles: exact for few values, bounded error otherwise */
	{
		logstat s;
		struct logline l;
		const char *lines[] = {
			"1000.0 new msg 1", "1000.0 info msg 1: bytes 10 from <a@b> qp 1 uid 0",
			"1000.0 starting delivery 1: msg 1 to local x@y", "1002.0 delivery 1: success: ok/",
			"1002.0 end msg 1",
			"1000.0 new msg 2", "1000.0 info msg 2: bytes 10 from <a@b> qp 1 uid 0",
			"1000.0 starting delivery 2: msg 2 to local x@y", "4600.0 delivery 2: success: ok/",
			"4600.0 end msg 2",
		};
		size_t i;
		struct logctx c = LOGCTX_INIT;
		logstat_init(&s, 16);
		for (i = 0; i < sizeof lines / sizeof *lines; i++) {
			logparse_line(&c, lines[i], strlen(lines[i]), &l);
			logstat_add(&s, &l);
		}
		ok(s.tot.completed == 2 && hist_pct(&s.qdelay, 50) == 2000000 && hist_pct(&s.qdelay, 90) == 3600000000ULL,
		   "percentiles exact");
		ok(s.tot.clock_back == 1, "clock step back seen");
		logstat_free(&s);
	}
	return done_testing();
}
