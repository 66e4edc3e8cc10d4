#!/usr/bin/env python3
# Remote concurrency beyond qmail's limits (issue 5): with
# control/concurrencyremote 300, raised by SIGHUP from 20 (so the delivery
# tables grow while running), more than 255 remote deliveries are in
# flight at once: a sink on 127.0.0.131 that holds every session for a
# few seconds before its greeting counts its concurrent sessions. The
# deliveries come from one message with 170 recipients at 170 domains
# (one SMTP session each) and 150 one-recipient messages (one channel
# file open per message), so both the slot table and the job table are
# past 255. Never more than 300 at once; every message arrives.
import os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-remote"))
from nqtest import Tap, Instance
from remotelib import Sink

t = Tap()
HOLD = 4
seen = {"peak": 0}


class HoldSink(Sink):
    """Counts the sessions held before their greeting: a session's thread
    may still be closing after its client has gone on to the next
    delivery, so all sessions open is not the deliveries in flight."""
    held = 0

    def talk(self, io, sess):
        with self.lock:
            self.held += 1
            seen["peak"] = max(seen["peak"], self.held)
        time.sleep(HOLD)
        with self.lock:
            self.held -= 1
        return Sink.talk(self, io, sess)


with Instance(t, name="example.test") as q, HoldSink("127.0.0.131") as s:
    s.sock.listen(512)
    q.control("smtproutes", ":[127.0.0.131]:2525")
    q.start()
    t.ok(q.wait(lambda: "status: local 0/10 remote 0/20" in q.logtext(), 10), "starts with the default 20", q.logtext())
    q.control("concurrencyremote", "300")
    q.send_pid_signal(signal.SIGHUP)
    time.sleep(0.5)
    q.queue("Subject: many\n\nx\n", "joe@example.test", ["u%d@d%d.test" % (i, i) for i in range(170)])
    for i in range(150):
        q.queue("Subject: one %d\n\nx\n" % i, "joe@example.test", ["v%d@e%d.test" % (i, i)])
    done = q.wait(lambda: len(re.findall(r"^delivery \d+: success", q.logtext(), re.M)) == 320, 50)
    log = q.logtext()
    t.ok(done, "320 remote deliveries succeeded",
         "%d successes, last lines: %s" % (len(re.findall(r"^delivery \d+: success", log, re.M)), log[-1500:]))
    print("# peak of sessions held at once: %d" % seen["peak"])
    t.ok(seen["peak"] > 255, "more than 255 sessions at the sink at once", seen["peak"])
    t.ok(seen["peak"] <= 300, "never more than concurrencyremote", seen["peak"])
    used = [int(m) for m in re.findall(r"^status: local \d+/\d+ remote (\d+)/300$", log, re.M)]
    t.ok(used and max(used) > 255 and max(used) <= 300, "status lines: remote up to 300/300",
         max(used) if used else None)
    s.settle(HOLD + 10)
    t.eq(len(s.messages), 320, "every delivery reached the sink")
    t.ok(q.wait(lambda: len(re.findall(r"^end msg", q.logtext(), re.M)) == 151, 10), "all 151 messages done")
    q.stop()
t.done()
