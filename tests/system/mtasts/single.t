#!/usr/bin/env python3
# MTA-STS in a single-user instance: qmail-remote runs as the owner, who
# owns queue/mtasts; an enforce policy is fetched, cached there and
# enforced (a listed exchanger with a valid certificate gets the message,
# an unlisted one is refused), and the sessions are counted for TLS-RPT.
# HTTPS server on 127.0.0.107:443, sinks on 127.0.0.108-109:2525.
import os, pwd, shutil, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stslib import Https, policy, sts_records
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user
from remotelib import Sink, Dns, remote, make_ca, make_cert, MXROUTE

t = Tap()
if not IS_ROOT:
    t.skip("MTA-STS in a single-user instance", "needs root for port 443 and a test user")
    t.done()

certs = tempfile.mkdtemp(prefix="nqt-sts-")
os.chmod(certs, 0o755)
try:
    ca = make_ca(certs)
    web = make_cert(certs, "web", ["mta-sts.one.test", "mta-sts.two.test"])
    mx = make_cert(certs, "mx", ["mx.one.test"])
    dns = sts_records("one.test", "127.0.0.107") + sts_records("two.test", "127.0.0.107") + \
        ["mx-host=one.test,mx.one.test,10", "host-record=mx.one.test,127.0.0.108",
         "mx-host=two.test,rogue.two.test,10", "host-record=rogue.two.test,127.0.0.109"]
    with TestUser(unique_user("sts")) as u, Dns(dns) as d, Https("127.0.0.107", web) as w:
        w.policy(policy(mx=["mx.one.test"]), host="mta-sts.one.test")
        w.policy(policy(mx=["mx.two.test"]), host="mta-sts.two.test")
        with Instance(t, name="example.test", mode="single", owner=u.name) as q:
            q.control("dnsservers", d.server_line())
            q.control("smtproutes", MXROUTE)
            q.control("mtastscafile", ca)
            st = os.stat(q.path("queue/mtasts"))
            t.ok(st.st_uid == u.uid and (st.st_mode & 0o777) == 0o700, "queue/mtasts is the owner's, 0700")
            with Sink("127.0.0.108", cert=mx) as s1, Sink("127.0.0.109", cert=mx) as s2:
                reps, _ = remote(q, "one.test", "joe@example.test", ["a@one.test"], "Subject: one\n\nhi\n")
                t.ok([l for l, _ in reps] == ["r", "K"] and s1.messages and s1.messages[0].tls,
                     "enforce: delivered over verified TLS", reps)
                reps, _ = remote(q, "two.test", "joe@example.test", ["a@two.test"], "Subject: two\n\nhi\n")
                t.ok([l for l, _ in reps] == ["Z"] and "#4.7.5" in reps[0][1] and not s2.messages,
                     "enforce: unlisted exchanger refused", reps)
            cf = q.path("queue/mtasts/policy.one.test")
            t.ok(os.path.exists(cf) and os.stat(cf).st_uid == u.uid, "policy cached, owned by the owner")
            day = time.strftime("%Y-%m-%d", time.gmtime())
            cnt = q.path("queue/mtasts/tlsrpt." + day)
            lines = open(cnt).read().splitlines() if os.path.exists(cnt) else []
            t.ok(any(l.startswith("v1 sts one.test success mx.one.test 127.0.0.108 ") for l in lines) and
                 any(l.startswith("v1 sts two.test validation-failure rogue.two.test ") for l in lines),
                 "both sessions counted", lines)
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
