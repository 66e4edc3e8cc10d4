/* Unit tests for src/mail/srs.c: SRS0/SRS1 rewriting and reversal.
 *
 * The expected addresses were computed independently of this code with
 * Python's hmac module (the same definition libsrs2 uses):
 *   B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
 *   stamp(day) = B32[(day % 1024) >> 5] + B32[day % 32]
 *   hash(secret, *fields) = base64(hmac.new(secret, "".join(fields).lower(), sha1).digest())[:4]
 * tests/system/srs/forward.t repeats that computation at run time. */
#include "tap.h"
#include "mail/srs.h"
#include <string.h>

#define NOW 1764374400L   /* 2025-11-29 00:00 UTC: day 20421, stamp "6F" */
#define DAY 86400L

static void cfg(struct srs_cfg *c, const char *secrets, size_t n)
{
	buf_copys(&c->domain, "srs.example");
	buf_copy(&c->secrets, secrets, n);
}

static int fwd(buf *out, const struct srs_cfg *c, const char *sender, time_t now)
{
	out->len = 0;
	return srs_forward(out, c, 0, sender, now);
}

static int rev(buf *out, const struct srs_cfg *c, const char *addr, time_t now)
{
	size_t at = strlen(addr);
	const char *p = strrchr(addr, '@');
	if (p) at = (size_t)(p - addr);
	out->len = 0;
	return srs_reverse(out, c, addr, at, now);
}

int main(void)
{
	struct srs_cfg c = SRS_CFG_INIT, rot = SRS_CFG_INIT, off = SRS_CFG_INIT, none = SRS_CFG_INIT;
	buf out = BUF_INIT, back = BUF_INIT;
	char st[2], h[SRS_HASHLEN];
	const char *f[3] = {"AB", "x.org", "bob"};
	size_t fl[3] = {2, 5, 3};
	route rt = ROUTE_INIT;
	int r;

	cfg(&c, "s3cret\0", 7);

	/* the pieces */
	srs_stamp(st, 0);     ok(memcmp(st, "AA", 2) == 0, "stamp of day 0");
	srs_stamp(st, 31);    ok(memcmp(st, "A7", 2) == 0, "stamp of day 31");
	srs_stamp(st, 32);    ok(memcmp(st, "BA", 2) == 0, "stamp of day 32");
	srs_stamp(st, 1023);  ok(memcmp(st, "77", 2) == 0, "stamp of day 1023");
	srs_stamp(st, 1024);  ok(memcmp(st, "AA", 2) == 0, "stamps wrap after 1024 days");
	srs_stamp(st, 20000); ok(memcmp(st, "RA", 2) == 0, "stamp of day 20000");
	ok(srs_hash(h, "another key", 11, f, fl, 3) == 0 && memcmp(h, "PE3w", 4) == 0, "hash vector (python hmac)");

	/* SRS0 */
	r = fwd(&out, &c, "User.Name@orig.example", NOW);
	ok(r == 1 && strcmp(out.s, "SRS0=oP+T=6F=orig.example=User.Name@srs.example") == 0, "SRS0 vector (python hmac)");
	r = rev(&back, &c, out.s, NOW);
	ok(r == SRS_OK && strcmp(back.s, "User.Name@orig.example") == 0, "SRS0 reverses to the original");
	ok(rev(&back, &c, "srs0=OP+t=6f=ORIG.example=User.Name@x", NOW) == SRS_OK &&
	   strcmp(back.s, "User.Name@ORIG.example") == 0, "hash, stamp and tag compared without regard to case");
	ok(rev(&back, &c, "SRS0+oP+T=6F=orig.example=User.Name@x", NOW) == SRS_OK, "'+' separator after the tag");
	ok(rev(&back, &c, "SRS0=oP+U=6F=orig.example=User.Name@x", NOW) == SRS_BADHASH, "one hash character changed: forged");
	ok(rev(&back, &c, "SRS0=oP+T=6F=orig.example=User.Namf@x", NOW) == SRS_BADHASH, "user changed: forged");
	ok(rev(&back, &c, "SRS0=oP+T=6F=evil.example=User.Name@x", NOW) == SRS_BADHASH, "domain changed: forged");
	ok(rev(&back, &c, "SRS0=oP+T=6E=orig.example=User.Name@x", NOW) == SRS_BADHASH, "stamp changed: forged");
	ok(rev(&back, &c, "SRS0=oP+=6F=orig.example=User.Name@x", NOW) == SRS_BADHASH, "short hash: forged");

	/* age: valid for maxage days, then expired; a stamp from "the future"
	 * is an old one that wrapped */
	ok(rev(&back, &c, out.s, NOW + 21 * DAY) == SRS_OK, "valid after 21 days");
	ok(rev(&back, &c, out.s, NOW + 22 * DAY) == SRS_EXPIRED, "expired after 22 days");
	ok(rev(&back, &c, out.s, NOW - DAY) == SRS_EXPIRED, "a stamp of tomorrow is 1023 days old");
	c.maxage = 2;
	ok(rev(&back, &c, out.s, NOW + 3 * DAY) == SRS_EXPIRED, "srsmaxage 2: expired after 3 days");
	c.maxage = SRS_MAXAGE_DEFAULT;
	fwd(&out, &c, "a@b.example", 1023 * DAY + 5);
	ok(rev(&back, &c, out.s, 1024 * DAY + 5) == SRS_OK, "day 1023 to day 0 (wrap) is one day");

	/* malformed */
	ok(rev(&back, &c, "SRS0=oP+T=6F=orig.example@x", NOW) == SRS_BADFORM, "SRS0 without user");
	ok(rev(&back, &c, "SRS0=oP+T=6F@x", NOW) == SRS_BADFORM, "SRS0 without host");
	ok(rev(&back, &c, "SRS0=oP+T=61=h=u@x", NOW) == SRS_BADFORM, "stamp not base32");
	ok(rev(&back, &c, "SRS0=oP+T=6FF=h=u@x", NOW) == SRS_BADFORM, "stamp too long");
	ok(rev(&back, &c, "SRS0=@x", NOW) == SRS_BADFORM, "SRS0 and nothing");
	ok(rev(&back, &c, "SRS0", NOW) == SRS_NOTSRS, "bare tag");
	ok(rev(&back, &c, "SRS0x=a=b=c=d@x", NOW) == SRS_NOTSRS, "tag without separator");
	ok(rev(&back, &c, "postmaster@x", NOW) == SRS_NOTSRS, "not SRS");
	ok(rev(&back, &none, "SRS0=oP+T=6F=orig.example=User.Name@x", NOW) == SRS_NOSECRET, "no secret");

	/* SRS1: someone else's SRS0 forwarded again */
	r = fwd(&out, &c, "SRS0=AbCd=XY=o.example=u@hop1.example", NOW);
	ok(r == 1 && strcmp(out.s, "SRS1=R8Rr=hop1.example==AbCd=XY=o.example=u@srs.example") == 0,
	   "SRS1 vector (python hmac)");
	r = rev(&back, &c, out.s, NOW + 500 * DAY);
	ok(r == SRS_OK && strcmp(back.s, "SRS0=AbCd=XY=o.example=u@hop1.example") == 0,
	   "SRS1 reverses to the first hop's SRS0 (no stamp of ours)");
	ok(rev(&back, &c, "SRS1=R8Rr=hop2.example==AbCd=XY=o.example=u@x", NOW) == SRS_BADHASH, "SRS1 forged hop");
	ok(rev(&back, &c, "SRS1=R8Rr=hop1.example@x", NOW) == SRS_BADFORM, "SRS1 without opaque part");
	/* an SRS1 from another hop keeps its first hop, with our hash */
	r = fwd(&out, &c, "SRS1=zzzz=hop1.example==AbCd=XY=o.example=u@hop2.example", NOW);
	ok(r == 1 && strcmp(out.s, "SRS1=R8Rr=hop1.example==AbCd=XY=o.example=u@srs.example") == 0,
	   "SRS1 of another hop re-signed, first hop kept");
	r = fwd(&out, &c, "SRS1=broken@hop2.example", NOW);
	ok(r == 1 && strncmp(out.s, "SRS0=", 5) == 0, "a malformed SRS1 is wrapped in SRS0");

	/* not rewritten */
	ok(fwd(&out, &c, "", NOW) == 0, "null sender kept");
	ok(fwd(&out, &c, "#@[]", NOW) == 0, "double-bounce sender kept");
	ok(fwd(&out, &c, "nodomain", NOW) == 0, "sender without domain kept");
	ok(fwd(&out, &c, "x@SRS.Example", NOW) == 0, "sender at the SRS domain kept");
	ok(fwd(&out, &off, "x@a.example", NOW) == 0, "SRS off: kept");
	buf_copys(&none.domain, "srs.example");
	ok(fwd(&out, &none, "x@a.example", NOW) < 0, "srsdomain without secret: error");
	buf_copys(&rt.locals, "ours.example");
	buf_put0(&rt.locals);
	buf_copys(&rt.noathost, "ours.example");
	if (cmap_init(&rt.mlocals, &rt.locals, 0) == 0 && cmap_init(&rt.mvdoms, &rt.vdoms, 1) == 0 &&
	    cmap_init(&rt.mpercent, &rt.percent, 0) == 0) {
		out.len = 0;
		ok(srs_forward(&out, &c, &rt, "me@OURS.example", NOW) == 0, "sender at our own domain kept");
		ok(srs_forward(&out, &c, &rt, "you@theirs.example", NOW) == 1, "foreign sender rewritten");
	} else ok(0, "route set up");

	/* rotation: the first secret signs, every one verifies */
	cfg(&rot, "newkey\0s3cret\0", 14);
	ok(rev(&back, &rot, "SRS0=oP+T=6F=orig.example=User.Name@x", NOW) == SRS_OK, "old secret still verifies");
	fwd(&out, &rot, "User.Name@orig.example", NOW);
	ok(strcmp(out.s, "SRS0=oP+T=6F=orig.example=User.Name@srs.example") != 0, "new secret signs");
	ok(rev(&back, &rot, out.s, NOW) == SRS_OK, "new secret verifies");
	ok(rev(&back, &c, out.s, NOW) == SRS_BADHASH, "without the new secret: invalid");

	/* srs_check: only addresses at the SRS domain */
	ok(srs_check(&c, "SRS0=oP+T=6F=orig.example=User.Name@SRS.example", 47, NOW) == SRS_OK, "check: valid");
	ok(srs_check(&c, "SRS0=oP+U=6F=orig.example=User.Name@srs.example", 47, NOW) == SRS_BADHASH, "check: forged");
	ok(srs_check(&c, "SRS0=oP+U=6F=orig.example=User.Name@other.example", 49, NOW) == SRS_NOTSRS, "check: other domain");
	ok(srs_check(&c, "postmaster@srs.example", 22, NOW) == SRS_NOTSRS, "check: plain address at SRS domain");
	ok(srs_check(&off, "SRS0=oP+U=6F=orig.example=User.Name@srs.example", 47, NOW) == SRS_NOTSRS, "check: SRS off");

	srs_free(&c); srs_free(&rot); srs_free(&off); srs_free(&none);
	route_free(&rt);
	buf_free(&out); buf_free(&back);
	return done_testing();
}
