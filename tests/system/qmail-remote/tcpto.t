#!/usr/bin/env python3
# Hosts that time out (qmail-tcpto(8), qmail-tcpok(8)): an exchanger that
# does not answer the connection within control/timeoutconnect is left
# for the next one and remembered in queue/lock/tcpto; qmail-tcpto shows
# it as qmail does; an address with two recent timeouts is skipped
# without waiting; a connection that succeeds clears an address's count;
# qmail-tcpok empties the table (an empty file is an empty table);
# qmail-rspawn empties it at start, as qmail's does. The exchanger that
# never answers is a listening socket whose accept queue is full.
import os, re, socket, struct, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, run
from remotelib import Sink, Dns, remote, PORT, MXROUTE

t = Tap()
MSG = "Subject: t\n\nx\n"


def record(fam, ip, errors, when):
    addr = socket.inet_pton(socket.AF_INET6 if fam == 6 else socket.AF_INET, ip).ljust(16, b"\0")
    return bytes([fam, errors]) + b"\0" * 6 + struct.pack("<Q", int(when)) + addr


def tcpto(q):
    return run([q.bin("qmail-tcpto")]).stdout.decode()


with Instance(t, name="example.test") as q, Dns(["mx-host=hole.test,mx1.hole.test,10", "mx-host=hole.test,mx2.hole.test,20",
                                                  "host-record=mx1.hole.test,127.0.0.40", "host-record=mx2.hole.test,127.0.0.41"]) as d:
    q.control("dnsservers", d.server_line())
    q.control("timeoutconnect", "1")
    q.control("smtproutes", MXROUTE)
    tab = q.path("queue/lock/tcpto")
    hole = socket.socket()
    hole.bind(("127.0.0.40", PORT))
    hole.listen(0)
    fill = []
    for i in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.40", PORT))
        except BlockingIOError:
            pass
        fill.append(c)
    time.sleep(0.2)
    try:
        t.eq(tcpto(q), "", "an empty table prints nothing")
        with Sink("127.0.0.41") as s:
            reps, p = remote(q, "hole.test", "joe@example.test", ["a@hole.test"], MSG)
            t.ok([l for l, _ in reps] == ["r", "K"] and len(s.messages) == 1, "timed out: delivered by the next MX", reps)
            t.ok(p.elapsed >= 0.9, "after waiting control/timeoutconnect", p.elapsed)
            out = tcpto(q)
            t.ok(re.fullmatch(r"127\.0\.0\.40 timed out \d+ seconds ago; # recent timeouts: 1\n", out), "qmail-tcpto shows it", out)
            # two recent timeouts: skipped at once
            with open(tab, "r+b") as f:
                f.write(record(4, "127.0.0.40", 2, time.time()))
            reps, p = remote(q, "hole.test", "joe@example.test", ["a@hole.test"], MSG)
            t.ok([l for l, _ in reps] == ["r", "K"] and p.elapsed < 0.9, "two recent timeouts: skipped without waiting", (reps, p.elapsed))
            # an old timeout is tried again
            with open(tab, "r+b") as f:
                f.write(record(4, "127.0.0.40", 2, time.time() - 7200))
            reps, p = remote(q, "hole.test", "joe@example.test", ["a@hole.test"], MSG)
            t.ok(p.elapsed >= 0.9, "an old one is tried again", p.elapsed)
            # a success clears the count
            with open(tab, "wb") as f:
                f.write(record(4, "127.0.0.41", 1, time.time() - 5) + record(6, "::1", 1, time.time() - 10))
            out = tcpto(q)
            t.ok("127.0.0.41 timed out" in out and re.search(r"^::1 timed out \d+ seconds ago; # recent timeouts: 1$", out, re.M),
                 "IPv4 and IPv6 entries shown", out)
            reps, _ = remote(q, "[127.0.0.41]", "joe@example.test", ["a@x.test"], MSG)
            out = tcpto(q)
            t.ok("127.0.0.41" not in out and "::1" in out, "a connection that succeeds clears the count", (out, reps))
        r = run([q.bin("qmail-tcpok")])
        t.ok(r.returncode == 0 and os.path.getsize(tab) == 0 and tcpto(q) == "", "qmail-tcpok empties the table", r.stderr)
        with open(tab, "wb") as f:
            f.write(record(4, "127.0.0.40", 2, time.time()))
        os.chown(tab, q.role_ids()["qmailr"][0], -1) if q.mode == "root" else None
        q.start()
        t.ok(q.wait(lambda: os.path.getsize(tab) == 0, 10), "qmail-rspawn empties the table at start")
        q.stop()
    finally:
        for c in fill:
            c.close()
        hole.close()
t.done()
