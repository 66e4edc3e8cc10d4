#!/usr/bin/env python3
# MTA-STS policy discovery and its cache (RFC 8461 sections 3 and 5.1),
# through qmail-mtasts, which runs the same code as qmail-remote: the TXT
# record from dnsmasq, the policy over HTTPS from a server started here
# with its own CA (control/mtastscafile), certificates made with openssl.
# A policy is used when the certificate is valid for mta-sts.DOMAIN and
# chains to the CA, the answer is 200 text/plain and small; a self-signed,
# expired or wrong-name certificate, another media type, a redirect, a
# body over 64 KiB or no TXT record mean no policy. The cache: written by
# qmailr, used without a fetch while fresh and the TXT id is the same,
# refetched when the id changes, kept when a refresh fails (the HTTPS
# server down), dropped once max_age has passed, used without a TXT
# record while unexpired. control/mtasts off turns it all off.
# HTTPS servers on 127.0.0.80-83 port 443 (root only).
import os, pwd, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stslib import Https, policy, sts_records
from nqtest import Tap, Instance, IS_ROOT, run
from remotelib import Dns, make_ca, make_cert

t = Tap()
if not IS_ROOT:
    t.skip("MTA-STS discovery", "needs root for port 443")
    t.done()

certs = tempfile.mkdtemp(prefix="nqt-sts-")
os.chmod(certs, 0o755)
GOOD = ["sts.test", "cache.test", "html.test", "redirect.test", "big.test", "gone.test", "tmode.test"]
try:
    ca = make_ca(certs)
    good = make_cert(certs, "good", ["mta-sts." + d for d in GOOD])
    selfs = make_cert(certs, "self", ["mta-sts.badca.test"], self_signed=True)
    expired = make_cert(certs, "expired", ["mta-sts.expired.test"], days=-1)
    wrong = make_cert(certs, "wrong", ["mta-sts.other.test"])
    recs = []
    for d in GOOD:
        if d != "gone.test":
            recs += sts_records(d, "127.0.0.80")
    recs += sts_records("badca.test", "127.0.0.81") + sts_records("expired.test", "127.0.0.82") + \
        sts_records("wrongname.test", "127.0.0.83")
    recs += ["txt-record=_mta-sts.two.test,v=STSv1; id=1;", "txt-record=_mta-sts.two.test,v=STSv1; id=2;",
             "host-record=mta-sts.two.test,127.0.0.80"]

    with Instance(t, name="example.test") as q, Dns(recs) as d, \
            Https("127.0.0.80", good) as web, Https("127.0.0.81", selfs) as w2, \
            Https("127.0.0.82", expired) as w3, Https("127.0.0.83", wrong) as w4:
        q.control("dnsservers", d.server_line())
        q.control("mtastscafile", ca)
        P = policy(mx=("mx.sts.test", "*.mx.sts.test"))
        for w in (web, w2, w3, w4):
            w.policy(P)
        web.policy("<html>policy</html>", ctype="text/html", host="mta-sts.html.test")
        web.policy("", status=301, headers={"Location": "https://mta-sts.sts.test/.well-known/mta-sts.txt"},
                   host="mta-sts.redirect.test")
        web.policy(P + "#" * 70000 + "\n", host="mta-sts.big.test")
        web.policy(policy(mode="testing"), host="mta-sts.tmode.test")
        WEEK = 7 * 86400
        web.policy(policy(max_age=WEEK), host="mta-sts.cache.test")

        def sts(*doms):
            r = run([q.bin("qmail-mtasts")] + list(doms), user="qmailr", env=dict(os.environ, NQMAIL_HOME=q.dir))
            return r.stdout.decode(), r

        out, r = sts("sts.test")
        t.ok(r.returncode == 0 and out.startswith("sts.test: enforce max_age 86400 id 1 fetched ") and
             out.rstrip().endswith("mx mx.sts.test *.mx.sts.test"), "enforce policy found and parsed", out + r.stderr.decode())
        cf = q.path("queue/mtasts/policy.sts.test")
        st = os.stat(cf) if os.path.exists(cf) else None
        t.ok(st and st.st_uid == pwd.getpwnam("qmailr").pw_uid and open(cf, newline="").read().split("\n", 1)[1] == P,
             "cached in queue/mtasts/policy.sts.test, owned by qmailr, the policy as fetched")
        t.ok(web.count("mta-sts.sts.test") == 1 and web.requests[0][1] == "/.well-known/mta-sts.txt",
             "fetched from the well-known path", web.requests)
        out, _ = sts("tmode.test")
        t.ok(out.startswith("tmode.test: testing "), "testing mode", out)

        out, _ = sts("none.test")
        t.eq(out, "none.test: none\n", "no TXT record: no policy")
        out, _ = sts("two.test")
        t.eq(out, "two.test: none\n", "two STSv1 TXT records: no policy")
        for dom, why, what in (("badca.test", "sts-webpki-invalid", "self-signed certificate"),
                               ("expired.test", "sts-webpki-invalid", "expired certificate"),
                               ("wrongname.test", "sts-webpki-invalid", "certificate for another name"),
                               ("html.test", "sts-policy-invalid", "media type text/html"),
                               ("redirect.test", "sts-policy-fetch-error", "a redirect is not followed"),
                               ("big.test", "sts-policy-fetch-error", "a policy over 64 KiB")):
            out, _ = sts(dom)
            t.ok(out.startswith(dom + ": none (" + why), what + ": no policy (" + why + ")", out)
            t.ok(not os.path.exists(q.path("queue/mtasts/policy." + dom)), what + ": nothing cached")
        t.ok(web.count("mta-sts.sts.test") == 1, "the redirect's target was not fetched", web.requests)

        # the cache: fresh and the same id -> no fetch
        out, _ = sts("cache.test")
        n = web.count("mta-sts.cache.test")
        out2, _ = sts("cache.test")
        t.ok(n == 1 and web.count("mta-sts.cache.test") == 1 and out2 == out, "fresh cache, same id: no fetch", (n, out, out2))
        cf = q.path("queue/mtasts/policy.cache.test")

        def rewrite(fetched=None, id=None):
            head, body = open(cf, newline="").read().split("\n", 1)
            f, i = head.split(" ")
            with open(cf, "w", newline="") as fh:
                fh.write("%s %s\n%s" % (fetched if fetched is not None else f, id or i, body))
            f = int(fetched if fetched is not None else f)
            os.utime(cf, (f, f))      # no refresh has failed since
        rewrite(id="0")
        out, _ = sts("cache.test")
        t.ok(web.count("mta-sts.cache.test") == 2 and " id 1 " in out, "TXT id changed: fetched again", out)
        web.policy(policy(mx=("new.cache.test",), max_age=WEEK), host="mta-sts.cache.test")
        rewrite(fetched=int(time.time()) - 2 * 86400)
        out, _ = sts("cache.test")
        t.ok(web.count("mta-sts.cache.test") == 3 and out.rstrip().endswith("mx new.cache.test"), "older than a day: refreshed", out)
        web.policy("", status=500, host="mta-sts.cache.test")
        rewrite(fetched=int(time.time()) - 2 * 86400)
        out, _ = sts("cache.test")
        t.ok(out.startswith("cache.test: enforce ") and "cached after: sts-policy-fetch-error" in out,
             "refresh fails (HTTP 500): the cached policy stays", out)
        n = web.count("mta-sts.cache.test")
        out, _ = sts("cache.test")
        t.ok(out.startswith("cache.test: enforce ") and web.count("mta-sts.cache.test") == n,
             "within 5 minutes of a failed refresh: the cache, no new fetch", out)
        rewrite(fetched=int(time.time()) - WEEK - 10)
        out, _ = sts("cache.test")
        t.ok(out.startswith("cache.test: none (sts-policy-fetch-error"), "cache past max_age and fetch fails: no policy", out)

        # the HTTPS server down
        web.policy(policy(max_age=WEEK), host="mta-sts.cache.test")
        sts("cache.test")
        web.stop()
        rewrite(fetched=int(time.time()) - 2 * 86400)
        out, _ = sts("cache.test")
        t.ok(out.startswith("cache.test: enforce ") and "cached after: sts-policy-fetch-error" in out,
             "HTTPS server down: the cached policy is used", out)

        # no TXT record any more, but a cached policy that has not expired
        shutil.copy(cf, q.path("queue/mtasts/policy.gone.test"))
        out, _ = sts("gone.test")
        t.ok(out.startswith("gone.test: enforce "), "no TXT record, unexpired cache: still enforced", out)

        q.control("mtasts", "off")
        out, _ = sts("sts.test")
        t.eq(out, "sts.test: none\n", "control/mtasts off: no policy")
        q.control("mtasts", "maybe")
        out, r = sts("sts.test")
        t.ok(r.returncode == 111 and b"control/mtasts" in r.stderr, "control/mtasts neither on nor off: an error (111)", r)
        os.unlink(q.path("control/mtasts"))
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
