#!/usr/bin/env python3
# One message to 1000 recipients at 10 domains (issue 5), through
# qmail-send and qmail-rspawn with control/concurrencyremote 120: every
# recipient reaches its domain's sink (127.0.0.90-99) exactly once, a few
# refused ones bounce in one bounce message, qmail-send logs one
# starting/delivery pair per recipient, and recipients share SMTP
# transactions (fewer connections than recipients; the count is printed).
import os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, MXROUTE

t = Tap()
N, DOMS = 1000, 10
dns = []
for i in range(DOMS):
    dns += ["mx-host=d%d.test,mx.d%d.test,10" % (i, i), "host-record=mx.d%d.test,127.0.0.%d" % (i, 90 + i)]
rcpts = ["u%d@d%d.test" % (k, k % DOMS) for k in range(N)]
refuse = lambda a: "550 5.1.1 unknown" if a in ("u7@d7.test", "u13@d3.test") else "250 ok"

with Instance(t, name="example.test") as q, Dns(dns) as d:
    q.control("dnsservers", d.server_line())
    q.control("concurrencyremote", "120")
    q.control("smtproutes", MXROUTE)
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    sinks = [Sink("127.0.0.%d" % (90 + i), rcpt=refuse).start() for i in range(DOMS)]
    try:
        q.start()
        start = time.time()
        t.eq(q.queue("Subject: fan-out\n\nto a thousand\n", "joe@example.test", rcpts), 0, "queued to 1000 recipients")
        t.ok(q.wait(lambda: re.search(r"^end msg", q.logtext(), re.M) and q.maildir_count("alias/joebox") == 1, 90),
             "all done, bounce delivered", q.logtext()[-3000:])
        took = time.time() - start
        for s in sinks:
            s.settle()
        got = sorted(r for s in sinks for m in s.messages for r in m.rcpts)
        want = sorted(r for r in rcpts if refuse(r).startswith("2"))
        t.eq(len(got), len(want), "every accepted recipient delivered")
        t.ok(got == want, "exactly once each")
        t.ok(all(r.split("@")[1] == "d%d.test" % i for i, s in enumerate(sinks) for m in s.messages for r in m.rcpts),
             "each at its own domain's exchanger")
        log = q.logtext()
        ids = set(re.findall(r"^starting delivery (\d+): msg \d+ to remote ", log, re.M))
        t.eq(len(ids), N, "one starting line per recipient")
        done = re.findall(r"^delivery (\d+): (?:success|failure): ", log, re.M)
        t.eq(len([x for x in done if x in ids]), N, "one delivery line per recipient")
        b = q.maildir_texts("alias/joebox")[0] if q.maildir_count("alias/joebox") else ""
        t.ok("<u7@d7.test>:" in b and "<u13@d3.test>:" in b, "the two refused recipients in one bounce", b[:800])
        conns = sum(s.connections for s in sinks)
        t.ok(conns < N, "recipients share connections", conns)
        t.diag("1000 recipients: %d SMTP connections, %d transactions, %.1f s" %
               (conns, sum(len(s.messages) for s in sinks), took))
        q.stop()
    finally:
        for s in sinks:
            s.stop()
t.done()
