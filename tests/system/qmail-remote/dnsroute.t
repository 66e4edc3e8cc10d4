#!/usr/bin/env python3
# Routing cases of issue 5 that routes.t and dns.t do not take end to
# end through qmail-remote: a mail domain that is a CNAME (to a name with
# MX records, and to a name with only an A record: the implicit MX found
# through the alias), with the recipient written as it was given; an MX
# answer too big for UDP (30 exchangers with long names), which the
# resolver must fetch again over TCP before the best exchanger is known;
# an exchanger with two A records, the first refusing connections;
# control/dnsservers naming an IPv6 server as "[::1]:port"; the longest
# suffix in control/smtproutes winning whatever the order of the lines;
# "domain:" (MX lookup) winning over the ":relay" catch-all; a slow
# server that answers within control/timeoutremote; control/helohost in
# EHLO; control/outgoingip as the address the peer sees. Sinks on
# 127.0.0.180-188 (port 2525, "::2525" route), dnsmasq.
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, remote, PORT, MXROUTE

t = Tap()
MSG = "Subject: route\n\nx\n"
# 30 exchangers whose names do not compress: the MX answer is ~2.5 kB,
# more than the resolver's EDNS buffer, so the UDP answer comes truncated
BIG = []
for i in range(30):
    label = ("mx%02d" % i) + "-" + ("%c" % (97 + i % 26)) * 58
    BIG.append("mx-host=big.test,%s.big.test,%d" % (label, 10 + i))
BIG.append("host-record=%s.big.test,127.0.0.182" % (("mx00-") + "a" * 58))
DNS = ["mx-host=real.test,mx.real.test,10", "host-record=mx.real.test,127.0.0.180", "cname=cnd.test,real.test",
       "host-record=aonly.test,127.0.0.181", "cname=cna.test,aonly.test",
       "host-record=relay1.test,127.0.0.183", "host-record=relay2.test,127.0.0.184"] + BIG


def lets(reps):
    return "".join(l for l, _ in reps)


hosts = tempfile.NamedTemporaryFile("w", suffix=".hosts", delete=False)
hosts.write("127.0.0.187 mx.multi.test\n127.0.0.188 mx.multi.test\n")
hosts.close()
os.chmod(hosts.name, 0o644)
DNS += ["mx-host=multi.test,mx.multi.test,10", "addn-hosts=" + hosts.name]

with Instance(t, name="example.test") as q, Dns(DNS, v6=True) as d:
    q.control("dnsservers", d.server_line())
    q.control("smtproutes", MXROUTE)

    # ---- the mail domain is an alias ---------------------------------------
    with Sink("127.0.0.180") as s:
        reps, _ = remote(q, "cnd.test", "joe@example.test", ["a@cnd.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "domain CNAME to a name with MX: its exchanger", reps)
        rc = s.messages[0].rcpts if s.messages else []
        t.diag("RCPT for a@cnd.test went out as %r" % rc)
        t.eq(rc, ["a@cnd.test"], "the recipient is sent as given (RFC 5321 5.1: no CNAME rewriting)")
    with Sink("127.0.0.181") as s:
        reps, _ = remote(q, "cna.test", "joe@example.test", ["a@cna.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "domain CNAME to a name without MX: the implicit MX through it", reps)

    # ---- a truncated answer is fetched again over TCP ------------------------
    with Sink("127.0.0.182") as s:
        trace = os.path.join(q.base, "strace.out")
        reps, p = remote(q, "big.test", "joe@example.test", ["a@big.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "MX answer too big for UDP: the best of 30 exchangers", reps)
    if shutil.which("strace"):
        # the same lookup once more under strace: a TCP socket was used
        with Sink("127.0.0.182") as s:
            env = dict(os.environ, NQMAIL_HOME=q.dir)
            mf = os.path.join(q.base, "msg")
            with open(mf, "w") as f:
                f.write(MSG)
            with open(mf) as f:
                subprocess.run(["strace", "-f", "-e", "trace=socket,connect", "-o", trace, q.bin("qmail-remote"), "big.test",
                                "joe@example.test", "a@big.test"], stdin=f, env=env, capture_output=True, timeout=60)
            tr = open(trace).read() if os.path.exists(trace) else ""
            # a stream socket (not the sink's: that one goes to port 2525)
            # connected to dnsmasq's port; descriptors are reused, so
            # follow the trace in order
            import re
            kind, tcpdns = {}, []
            for l in tr.splitlines():
                m = re.match(r"(\d+)\s+socket\(\w+, (SOCK_\w+)[^)]*\) = (\d+)", l)
                if m:
                    kind[(m.group(1), m.group(3))] = m.group(2)
                m = re.match(r"(\d+)\s+connect\((\d+), .*htons\(%d\)" % d.port, l)
                if m and kind.get((m.group(1), m.group(2))) == "SOCK_STREAM":
                    tcpdns.append(l)
            t.ok(tcpdns, "and the resolver asked again over TCP", tr[-1500:])
    else:
        t.skip("the resolver asked over TCP", "no strace")
    t.ok("query[MX] big.test" in d.log(), "the lookup reached our dnsmasq")

    # ---- one exchanger with two addresses: a dead one, then the other ------
    with Sink("127.0.0.188") as s:
        for i in range(4):
            reps, _ = remote(q, "multi.test", "joe@example.test", ["a@multi.test"], MSG)
            if lets(reps) != "rK":
                break
        t.ok(lets(reps) == "rK" and len(s.messages) == 4, "an exchanger's every address is tried (127.0.0.187 refuses)", reps)

    # ---- control/dnsservers: an IPv6 server as [addr]:port -----------------
    q.control("dnsservers", "[::1]:%d" % d.port)
    with Sink("127.0.0.180") as s:
        reps, _ = remote(q, "real.test", "joe@example.test", ["a@real.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "DNS asked at [::1]:port", reps)
    q.control("dnsservers", d.server_line())

    # ---- smtproutes: the longest suffix wins, whatever the order -----------
    for order in ((".test:relay1.test:%d" % PORT, ".sub.test:relay2.test:%d" % PORT),
                  (".sub.test:relay2.test:%d" % PORT, ".test:relay1.test:%d" % PORT)):
        q.control("smtproutes", "\n".join(order))
        with Sink("127.0.0.183") as short, Sink("127.0.0.184") as long_:
            reps, _ = remote(q, "x.a.sub.test", "joe@example.test", ["a@x.a.sub.test"], MSG)
            t.ok(lets(reps) == "rK" and len(long_.messages) == 1 and not short.sessions,
                 "longest suffix .sub.test wins (%s first)" % order[0].split(":")[0], reps)
            reps, _ = remote(q, "other.test", "joe@example.test", ["a@other.test"], MSG)
            t.ok(lets(reps) == "rK" and len(short.messages) == 1, "and .test takes the rest", reps)

    # ---- "domain:" means MX lookup despite a catch-all relay --------------
    q.control("smtproutes", "nx-direct.test:\n:[127.0.0.185]:%d" % PORT)
    with Sink("127.0.0.185") as catch:
        reps, _ = remote(q, "nx-direct.test", "joe@example.test", ["a@nx-direct.test"], MSG)
        t.ok(lets(reps) == "D" and "#5.1.2" in reps[0][1] and not catch.sessions,
             "'domain:' looks up the MX (here NXDOMAIN) instead of the catch-all", reps)
        reps, _ = remote(q, "other-nx.test", "joe@example.test", ["a@other-nx.test"], MSG)
        t.ok(lets(reps) == "rK" and len(catch.messages) == 1, "the catch-all takes the rest", reps)

    # ---- a slow server within control/timeoutremote ---------------------------
    q.control("smtproutes", ":[127.0.0.185]:%d" % PORT)
    q.control("timeoutremote", "4")
    with Sink("127.0.0.185", slow=1.5) as s:
        reps, p = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1 and p.elapsed >= 1.4, "a slow greeting within timeoutremote: delivered",
             (reps, p.elapsed))
    os.unlink(q.path("control/timeoutremote"))

    # ---- helohost and outgoingip ------------------------------------------
    q.control("smtproutes", ":[127.0.0.185]:%d" % PORT)
    q.control("helohost", "out.example.test")
    q.control("outgoingip", "127.0.0.184")
    with Sink("127.0.0.185") as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.eq(lets(reps), "rK", "delivered with helohost and outgoingip", reps)
        ses = s.sessions[0] if s.sessions else None
        t.eq(ses.cmds[0] if ses else None, "EHLO out.example.test", "EHLO names control/helohost, not control/me")
        t.eq(ses.peer if ses else None, "127.0.0.184", "the peer sees control/outgoingip")
os.unlink(hosts.name)
t.done()
