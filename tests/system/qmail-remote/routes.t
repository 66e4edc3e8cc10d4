#!/usr/bin/env python3
# Where qmail-remote delivers (qmail-remote(8), qmail-control(5)):
# control/smtproutes (a relay with a port, an address relay, ".suffix"
# for subdomains only, the ":relay" catch-all, "domain::port" for MX on
# another port, longest match first, a relay on our own address
# allowed); MX records in
# preference order with random choice among equal ones; the implicit MX
# (A/AAAA of the domain); an exchanger reached through a CNAME; AAAA
# tried before A; null MX (RFC 7505), NXDOMAIN (permanent) and SERVFAIL
# (temporary); qmail's rule for MX records that are ourselves (127.0.0.1
# and ::1 are ours): they and worse ones are dropped, and when nothing is
# left the message fails with #5.4.6. Sinks on 127.0.0.30-39 port 2525
# (MX lookups are routed there by "::2525"), dnsmasq.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, remote, free_tcp_port, PORT, MXROUTE

t = Tap()
MSG = "Subject: r\n\nx\n"
DNS = ["mx-host=sub.test,mx.sub.test,10", "host-record=mx.sub.test,127.0.0.30",
       "mx-host=a.sub.test,mx.a.sub.test,10", "host-record=mx.a.sub.test,127.0.0.31",
       "host-record=relay.test,127.0.0.32",
       "mx-host=direct.test,mx.direct.test,10", "host-record=mx.direct.test,127.0.0.30",
       "mx-host=eq.test,mx1.eq.test,10", "mx-host=eq.test,mx2.eq.test,10",
       "host-record=mx1.eq.test,127.0.0.35", "host-record=mx2.eq.test,127.0.0.36",
       "host-record=implicit.test,127.0.0.37",
       "host-record=both.test,fd00:dead::37,127.0.0.37",
       "mx-host=cn.test,alias.cn.test,10", "cname=alias.cn.test,real.cn.test", "host-record=real.cn.test,127.0.0.38",
       "mx-host=nullmx.test,.,0",
       "mx-host=self.test,me.self.test,10", "mx-host=self.test,other.self.test,20",
       "host-record=me.self.test,127.0.0.1", "host-record=other.self.test,127.0.0.39",
       "mx-host=self6.test,me6.self6.test,10", "host-record=me6.self6.test,::1",
       "mx-host=better.test,best.better.test,5", "mx-host=better.test,me.better.test,10",
       "mx-host=better.test,worse.better.test,20",
       "host-record=best.better.test,127.0.0.33", "host-record=me.better.test,127.0.0.1",
       "host-record=worse.better.test,127.0.0.34"]


def lets(reps):
    return "".join(l for l, _ in reps)


with Instance(t, name="example.test") as q, Dns(DNS, servfail=("broken.test",)) as d:
    q.control("dnsservers", d.server_line())
    selfport = free_tcp_port("127.0.0.1")
    q.control("smtproutes", "\n".join([
        "far.test:[127.0.0.33]:2626",
        ".sub.test:relay.test:%d" % PORT,
        "direct.test::%d" % PORT,
        "selfrelay.test:[127.0.0.1]:%d" % selfport,
        ":[127.0.0.34]:%d" % PORT,
    ]))
    with Sink("127.0.0.33", port=2626) as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "domain:[address]:port relay", reps)
    with Sink("127.0.0.32") as relay, Sink("127.0.0.34") as catch:
        reps, _ = remote(q, "a.sub.test", "joe@example.test", ["a@a.sub.test"], MSG)
        t.ok(lets(reps) == "rK" and len(relay.messages) == 1, ".sub.test matches a subdomain: relay by name", reps)
        reps, _ = remote(q, "sub.test", "joe@example.test", ["a@sub.test"], MSG)
        t.ok(lets(reps) == "rK" and len(catch.messages) == 1 and len(relay.messages) == 1,
             ".sub.test does not match sub.test itself (the catch-all does)", reps)
    with Sink("127.0.0.30") as mx, Sink("127.0.0.34") as catch:
        reps, _ = remote(q, "direct.test", "joe@example.test", ["a@direct.test"], MSG)
        t.ok(lets(reps) == "rK" and len(mx.messages) == 1 and not catch.messages, "domain::port means MX despite a catch-all", reps)
        reps, _ = remote(q, "elsewhere.test", "joe@example.test", ["a@elsewhere.test"], MSG)
        t.ok(lets(reps) == "rK" and len(catch.messages) == 1, "the catch-all relay", reps)
    with Sink("127.0.0.1", port=selfport) as s:
        reps, _ = remote(q, "selfrelay.test", "joe@example.test", ["a@selfrelay.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "a relay on our own address is used", reps)
    q.control("smtproutes", MXROUTE)     # MX as usual, on the sinks' port

    # MX records
    with Sink("127.0.0.35") as s1, Sink("127.0.0.36") as s2:
        for i in range(12):
            remote(q, "eq.test", "joe@example.test", ["a@eq.test"], MSG)
        t.ok(len(s1.messages) + len(s2.messages) == 12 and s1.messages and s2.messages,
             "equal preferences: both used (random order)", (len(s1.messages), len(s2.messages)))
    with Sink("127.0.0.37") as s:
        reps, _ = remote(q, "implicit.test", "joe@example.test", ["a@implicit.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "no MX: the implicit MX (A record)", reps)
        reps, _ = remote(q, "both.test", "joe@example.test", ["a@both.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 2, "AAAA unreachable, then A", reps)
    with Sink("127.0.0.38") as s:
        reps, _ = remote(q, "cn.test", "joe@example.test", ["a@cn.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "exchanger name through a CNAME", reps)

    reps, _ = remote(q, "nullmx.test", "joe@example.test", ["a@nullmx.test"], MSG)
    t.ok(lets(reps) == "D" and "#5.1.10" in reps[0][1], "null MX: permanent", reps)
    reps, _ = remote(q, "nx.test", "joe@example.test", ["a@nx.test"], MSG)
    t.eq(reps, [("D", "Sorry, I couldn't find any host named nx.test. (#5.1.2)\n")], "NXDOMAIN: qmail's #5.1.2")
    reps, _ = remote(q, "broken.test", "joe@example.test", ["a@broken.test"], MSG)
    t.eq(reps, [("Z", "Sorry, I couldn't find any host by that name. (#4.1.2)\n")], "SERVFAIL: qmail's #4.1.2, temporary")

    # ourselves
    AMBIG = ("Sorry. Although I'm listed as a best-preference MX or A for that host,\n"
             "it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)\n")
    with Sink("127.0.0.39") as s:
        reps, _ = remote(q, "self.test", "joe@example.test", ["a@self.test"], MSG)
        t.eq(reps, [("D", AMBIG)], "best MX is 127.0.0.1: #5.4.6")
        t.eq(len(s.sessions), 0, "the worse MX is not tried either")
    reps, _ = remote(q, "self6.test", "joe@example.test", ["a@self6.test"], MSG)
    t.eq(reps, [("D", AMBIG)], "best MX is ::1: #5.4.6")
    reps, _ = remote(q, "[127.0.0.1]", "joe@example.test", ["a@[127.0.0.1]"], MSG)
    t.eq(reps, [("D", AMBIG)], "an address literal that is ours: #5.4.6")
    with Sink("127.0.0.34") as worse:
        reps, _ = remote(q, "better.test", "joe@example.test", ["a@better.test"], MSG)
        t.ok(lets(reps) == "Z" and not worse.sessions, "a better MX than us is tried; ours and worse ones never", reps)
        with Sink("127.0.0.33") as best:
            reps, _ = remote(q, "better.test", "joe@example.test", ["a@better.test"], MSG)
            t.ok(lets(reps) == "rK" and len(best.messages) == 1, "and delivered to", reps)
    reps, _ = remote(q, "[127.0.0.37]", "joe@example.test", ["a@[127.0.0.37]"], MSG)
    t.eq(lets(reps), "Z", "an address literal host is connected to directly", reps)
t.done()
