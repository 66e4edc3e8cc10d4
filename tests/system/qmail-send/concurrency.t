#!/usr/bin/env python3
# qmail-send respects control/concurrencylocal: program deliveries that
# record their start and end never overlap more than the limit, and do
# reach it. The limit changes with SIGHUP; 0 holds local deliveries.
import os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()
PROG = '|echo "start $$ $(date +%s.%N)" >> ./conc.log; sleep 0.4; echo "end $$ $(date +%s.%N)" >> ./conc.log\n'


def peak(path):
    ev = []
    try:
        for line in open(path):
            kind, pid, ts = line.split()
            ev.append((float(ts), 1 if kind == "start" else -1))
    except FileNotFoundError:
        return 0, 0
    ev.sort(key=lambda e: (e[0], e[1]))
    cur = top = 0
    for _, d in ev:
        cur += d
        top = max(top, cur)
    return top, sum(1 for _, d in ev if d > 0)


with Instance(t, name="example.test") as q:
    q.write("alias/.qmail-c-default", PROG)
    log = q.path("alias/conc.log")
    q.control("concurrencylocal", "2")
    q.start()
    t.ok("status: local 0/2 remote 0/20" in q.logtext(), "limit 2 in the status line")
    q.queue("Subject: c\n\nc\n", "joe@far.test", ["c-%d@example.test" % i for i in range(8)])
    t.ok(q.wait(lambda: len(re.findall(r"^delivery \d+: success", q.logtext(), re.M)) == 8, 30), "8 deliveries done",
         q.logtext())
    top, n = peak(log)
    t.eq((top, n), (2, 8), "at most 2 at once, and 2 reached")
    t.ok(not re.search(r"^status: local [3-9]/", q.logtext(), re.M), "status never above 2")

    os.unlink(log)
    q.control("concurrencylocal", "5")
    q.send_pid_signal(signal.SIGHUP)
    time.sleep(0.3)
    for i in range(10):
        q.queue("Subject: c%d\n\nc\n" % i, "joe@far.test", ["c-x%d@example.test" % i])
    t.ok(q.wait(lambda: len(re.findall(r"^delivery \d+: success", q.logtext(), re.M)) == 18, 30), "10 more done")
    top, n = peak(log)
    t.ok(2 < top <= 5 and n == 10, "after SIGHUP at most 5 at once (and more than 2)", (top, n))

    os.unlink(log)
    q.control("concurrencylocal", "0")
    q.send_pid_signal(signal.SIGHUP)
    time.sleep(0.3)
    q.queue("Subject: held\n\nc\n", "joe@far.test", ["c-held@example.test"])
    time.sleep(1.5)
    t.ok(not os.path.exists(log) and "to local c-held@" not in q.logtext(), "concurrencylocal 0: held")
    q.control("concurrencylocal", "1")
    q.send_pid_signal(signal.SIGHUP)
    q.send_pid_signal(signal.SIGALRM)
    t.ok(q.wait(lambda: len(re.findall(r"^delivery \d+: success", q.logtext(), re.M)) == 19, 10), "released by a new limit")
t.done()
