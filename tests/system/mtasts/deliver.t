#!/usr/bin/env python3
# qmail-remote under MTA-STS (RFC 8461): a policy in enforce mode with a
# matching exchanger and a certificate valid for it delivers over
# verified TLS; no policy delivers as before; an exchanger the policy does
# not list, one without STARTTLS and one with a certificate for another
# name defer (#4.7.5) with nothing at the sink; a policy whose HTTPS
# server has a bad certificate is not used; testing mode delivers and
# counts the failure; a cached policy still applies when the HTTPS server
# is down; a message routed to a relay by smtproutes is not subject to
# the domain's policy; control/mtasts off turns it off. Then the day's
# counts through qmail-tlsrpt -n: the JSON parsed and checked.
# DNS from dnsmasq, HTTPS servers on 127.0.0.100-101:443, SMTP sinks on
# 127.0.0.102-106:2525 (control/smtproutes "::2525"), our own CA.
# smoke
import json, os, re, shutil, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stslib import Https, policy, sts_records
from nqtest import Tap, Instance, IS_ROOT, run
from remotelib import Sink, Dns, remote, make_ca, make_cert, MXROUTE, PORT

t = Tap()
if not IS_ROOT:
    t.skip("MTA-STS delivery", "needs root for port 443")
    t.done()

MSG = "Subject: sts\n\nover verified TLS only\n"
RUA = "mailto:tlsrpt@example.test"
certs = tempfile.mkdtemp(prefix="nqt-sts-")
os.chmod(certs, 0o755)
try:
    ca = make_ca(certs)
    web = make_cert(certs, "web", ["mta-sts.%s.test" % d for d in ("sts", "bad", "nossl", "wrong", "tmode", "tcert", "cache", "routed")])
    webself = make_cert(certs, "webself", ["mta-sts.webbad.test"], self_signed=True)
    mx = make_cert(certs, "mx", ["mx.sts.test", "mx.cache.test", "mx.routed.test"])
    wrongmx = make_cert(certs, "wrongmx", ["somebody.else.test"])
    dns = []
    for d in ("sts", "bad", "nossl", "wrong", "tmode", "tcert", "cache", "routed"):
        dns += sts_records(d + ".test", "127.0.0.100", rua=RUA)
    dns += sts_records("webbad.test", "127.0.0.101")
    dns += ["mx-host=sts.test,mx.sts.test,10", "host-record=mx.sts.test,127.0.0.102",
            "mx-host=plain.test,mx.plain.test,10", "host-record=mx.plain.test,127.0.0.103",
            "mx-host=bad.test,evil.bad.test,10", "host-record=evil.bad.test,127.0.0.103",
            "mx-host=nossl.test,mx.nossl.test,10", "host-record=mx.nossl.test,127.0.0.103",
            "mx-host=wrong.test,mx.wrong.test,10", "host-record=mx.wrong.test,127.0.0.104",
            "mx-host=webbad.test,mx.webbad.test,10", "host-record=mx.webbad.test,127.0.0.103",
            "mx-host=tmode.test,other.tmode.test,10", "host-record=other.tmode.test,127.0.0.103",
            "mx-host=tcert.test,mx.tcert.test,10", "host-record=mx.tcert.test,127.0.0.104",
            "mx-host=cache.test,mx.cache.test,10", "host-record=mx.cache.test,127.0.0.105",
            "host-record=relay.example.test,127.0.0.106"]

    def lets(reps):
        return "".join(l for l, _ in reps)

    with Instance(t, name="example.test") as q, Dns(dns) as d, \
            Https("127.0.0.100", web) as w1, Https("127.0.0.101", webself) as w2:
        q.control("dnsservers", d.server_line())
        q.control("smtproutes", MXROUTE)
        q.control("mtastscafile", ca)
        for dom, mxs in (("sts", ["mx.sts.test"]), ("bad", ["mx.good.bad.test"]), ("nossl", ["mx.nossl.test"]),
                         ("wrong", ["*.wrong.test"]), ("cache", ["mx.cache.test"]), ("routed", ["mx.routed.test"])):
            w1.policy(policy(mx=mxs, max_age=7 * 86400), host="mta-sts.%s.test" % dom)
        w1.policy(policy(mode="testing", mx=["mx.tmode.test"]), host="mta-sts.tmode.test")
        w1.policy(policy(mode="testing", mx=["mx.tcert.test"]), host="mta-sts.tcert.test")
        w2.policy(policy(mx=["mx.webbad.test"]))

        with Sink("127.0.0.102", cert=mx) as s:
            reps, _ = remote(q, "sts.test", "joe@example.test", ["a@sts.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls, "enforce, listed exchanger, valid certificate: delivered over TLS", reps)
            t.ok(reps and "certificate verified." in reps[-1][1], "the report says verified", reps)
        with Sink("127.0.0.103") as s:
            reps, _ = remote(q, "plain.test", "joe@example.test", ["a@plain.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.messages) == 1, "no policy: delivered as before (no TLS offered)", reps)
            reps, _ = remote(q, "bad.test", "joe@example.test", ["a@bad.test"], MSG)
            t.ok(lets(reps) == "Z" and "#4.7.5" in reps[0][1] and "MTA-STS" in reps[0][1] and len(s.messages) == 1,
                 "enforce, exchanger not listed: deferred, nothing sent", reps)
            t.ok(all("MAIL" not in c for x in s.sessions[1:] for c in x.cmds) and len(s.sessions) == 1,
                 "no connection to the unlisted exchanger", len(s.sessions))
            reps, _ = remote(q, "nossl.test", "joe@example.test", ["a@nossl.test"], MSG)
            t.ok(lets(reps) == "Z" and "does not offer STARTTLS, and the MTA-STS policy of nossl.test requires verified TLS. (#4.7.5)" in reps[0][1]
                 and len(s.messages) == 1, "enforce, no STARTTLS: deferred, nothing sent, the policy named", reps)
            reps, _ = remote(q, "webbad.test", "joe@example.test", ["a@webbad.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.messages) == 2, "policy server with a self-signed certificate: policy not used, delivered", reps)
            reps, _ = remote(q, "tmode.test", "joe@example.test", ["a@tmode.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.messages) == 3, "testing mode, exchanger not listed, no TLS: delivered", reps)
        with Sink("127.0.0.104", cert=wrongmx) as s:
            reps, _ = remote(q, "wrong.test", "joe@example.test", ["a@wrong.test"], MSG)
            t.ok(lets(reps) == "Z" and "#4.7.5" in reps[0][1] and not s.messages, "enforce, certificate for another name: deferred", reps)
            reps, _ = remote(q, "tcert.test", "joe@example.test", ["a@tcert.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.messages) == 1 and s.messages[0].tls,
                 "testing mode, certificate for another name: delivered over TLS", reps)

        # the cache when the policy server is down
        with Sink("127.0.0.105", cert=mx) as s:
            reps, _ = remote(q, "cache.test", "joe@example.test", ["a@cache.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls, "cache.test delivered, its policy cached", reps)
        w1.stop()
        cf = q.path("queue/mtasts/policy.cache.test")
        head, body = open(cf, newline="").read().split("\n", 1)
        old = int(time.time()) - 2 * 86400
        with open(cf, "w", newline="") as f:
            f.write("%d %s\n%s" % (old, head.split()[1], body))
        os.utime(cf, (old, old))
        with Sink("127.0.0.105") as s:
            reps, _ = remote(q, "cache.test", "joe@example.test", ["a@cache.test"], MSG)
            t.ok(lets(reps) == "Z" and "#4.7" in reps[0][1] and not s.messages,
                 "HTTPS server down: the cached enforce policy still refuses an exchanger without TLS", reps)

        # a relay route: not the domain's exchangers, no MTA-STS
        q.control("smtproutes", "routed.test:relay.example.test:%d\n%s" % (PORT, MXROUTE))
        with Sink("127.0.0.106") as s:
            reps, _ = remote(q, "routed.test", "joe@example.test", ["a@routed.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.messages) == 1, "smtproutes relay: the domain's policy does not apply", reps)
        q.control("smtproutes", MXROUTE)

        q.control("mtasts", "off")
        with Sink("127.0.0.103") as s:
            reps, _ = remote(q, "bad.test", "joe@example.test", ["a@bad.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.messages) == 1, "control/mtasts off: the unlisted exchanger is used", reps)
        os.unlink(q.path("control/mtasts"))

        # through qmail-send and qmail-rspawn: the log lines
        with Sink("127.0.0.102", cert=mx) as s, Sink("127.0.0.103") as s3:
            q.start()
            q.queue(MSG, "joe@example.test", ["b@sts.test"])
            q.queue(MSG, "joe@example.test", ["b@bad.test"])
            t.ok(q.wait(lambda: re.search(r"success: 127\.0\.0\.102_accepted_message\./.*certificate_verified", q.logtext()) and
                        re.search(r"deferral: Sorry,_evil\.bad\.test_is_not_an_exchanger_that_the_MTA-STS_policy_of_bad\.test_lists",
                                  q.logtext()), 30),
                 "qmail-send's log: verified delivery to sts.test, MTA-STS deferral for bad.test", q.logtext())
            t.ok(len(s.messages) == 1 and not s3.messages, "one message at the listed exchanger, none at the other")
            q.stop()

        # TLS-RPT: today's counts
        day = time.strftime("%Y-%m-%d", time.gmtime())
        counts = open(q.path("queue/mtasts/tlsrpt." + day)).read() if os.path.exists(q.path("queue/mtasts/tlsrpt." + day)) else ""
        r = run([q.bin("qmail-tlsrpt"), "-n", day])
        reports = {}
        for line in r.stdout.decode().splitlines():
            try:
                j = json.loads(line)
                reports[j["policies"][0]["policy"]["policy-domain"]] = j
            except (ValueError, KeyError, IndexError):
                t.diag("bad JSON line: " + line)

        def pol(dom, ptype="sts"):
            for p in reports.get(dom, {}).get("policies", []):
                if p["policy"]["policy-type"] == ptype:
                    return p
            return {}
        s = pol("sts.test")
        t.eq(s.get("summary"), {"total-successful-session-count": 2, "total-failure-session-count": 0}, "TLS-RPT sts.test: two successes", counts)
        t.ok(s.get("policy", {}).get("mx-host") == ["mx.sts.test"], "TLS-RPT sts.test: the policy's mx-host", s)
        b = pol("bad.test")
        t.ok(b.get("summary", {}).get("total-failure-session-count", 0) >= 2 and
             b.get("failure-details", [{}])[0].get("result-type") == "validation-failure" and
             b.get("failure-details", [{}])[0].get("receiving-mx-hostname") == "evil.bad.test",
             "TLS-RPT bad.test: the unlisted exchanger counted as validation-failure", b)
        n = pol("nossl.test")
        t.ok(n.get("failure-details", [{}])[0].get("result-type") == "starttls-not-supported", "TLS-RPT nossl.test: starttls-not-supported", n)
        tm = pol("tmode.test")
        t.ok(tm.get("summary", {}).get("total-failure-session-count") == 1 and
             tm.get("failure-details", [{}])[0].get("receiving-ip") == "127.0.0.103",
             "TLS-RPT tmode.test: testing mode's failure counted", tm)
        w = pol("wrong.test")
        t.ok(w.get("summary", {}).get("total-failure-session-count", 0) >= 1, "TLS-RPT wrong.test: the bad certificate counted", w)
        tc = pol("tcert.test")
        t.ok(tc.get("failure-details", [{}])[0].get("result-type") == "certificate-host-mismatch" and
             tc.get("summary", {}).get("total-failure-session-count") == 1,
             "TLS-RPT tcert.test: testing mode's certificate-host-mismatch counted", tc)
        t.ok("routed.test" not in reports, "no counts for the routed domain", list(reports))
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
