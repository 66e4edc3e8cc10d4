#!/usr/bin/env python3
# Crash test for remote delivery (issue 5): 500 remote messages; while
# they are being sent, qmail-send, qmail-rspawn and every qmail-remote
# are SIGKILLed (twice, at different moments), then started again. In the
# end every message has reached the sink (127.0.0.100) at least once,
# the queue is empty, and the number of duplicates (deliveries repeated
# because the kill came between the peer's 250 and qmail-send's mark) is
# printed. Delivery is at least once: a duplicate is allowed, a loss not.
import os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, MXROUTE

t = Tap()
N = 500


def subjects(s):
    out = []
    for m in list(s.messages):
        g = re.search(rb"Subject: crash (\d+)", m.data)
        if g:
            out.append(int(g.group(1)))
    return out


with Instance(t, name="example.test") as q, Dns(["mx-host=far.test,mx.far.test,10", "host-record=mx.far.test,127.0.0.100"]) as d:
    q.control("dnsservers", d.server_line())
    q.control("concurrencyremote", "40")
    q.control("smtproutes", MXROUTE)
    with Sink("127.0.0.100", final="250 ok") as s:
        for i in range(N):
            if q.queue("Subject: crash %d\n\nbody %d\n" % (i, i), "joe@example.test", ["r%d@far.test" % (i % 7)]) != 0:
                t.ok(False, "queue message %d" % i)
                break
        killed = 0
        for at in (N // 5, N // 2):
            q.start()
            q.wait(lambda: len(s.messages) >= at, 60)
            pids = q.kill_daemons(signal.SIGKILL)
            killed += len(pids)
            time.sleep(0.2)
        t.ok(killed > 2, "daemons and deliveries killed twice in the middle", killed)
        q.start()
        t.ok(q.wait(lambda: len(set(subjects(s))) == N and q.queue_count() == 0, 120), "every message delivered, queue empty",
             (len(set(subjects(s))), q.qstat()))
        q.stop()
        s.settle()
        got = subjects(s)
        t.eq(sorted(set(got)), list(range(N)), "no message lost")
        dups = len(got) - len(set(got))
        t.ok(dups <= 2 * 40, "duplicates at most the deliveries in flight at the kills", dups)
        t.diag("crash test: %d messages, %d deliveries, %d duplicates after 2 kills" % (N, len(got), dups))
t.done()
