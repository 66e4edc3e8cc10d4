#!/usr/bin/env python3
# qmail-send: a message to a local address lands in DIR/alias/Maildir/new,
# the queue is empty afterwards, and the log lines are qmail-log(5)'s,
# exactly. Also: many messages and many recipients in one message.
# smoke
import os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()


def queue_empty(q):
    for d in ("todo", "intd", "info", "local", "remote", "bounce", "mess"):
        for root, dirs, files in os.walk(q.path("queue/" + d)):
            if files:
                return False
    return True


with Instance(t, name="example.test") as q:
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.start()
    t.ok(q.wait(lambda: "status: local 0/10 remote 0/20" in q.logtext(), 5), "status line at start")
    t.eq(q.queue("Subject: one\n\nbody one\n", "joe@far.test", ["x@example.test"]), 0, "qmail-queue accepted")
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "delivered to alias/Maildir/new")
    texts = q.maildir_texts("alias/Maildir")
    t.ok(texts and texts[0].startswith("Return-Path: <joe@far.test>\nDelivered-To: x@example.test\n")
         and texts[0].endswith("Subject: one\n\nbody one\n"), "message bytes", texts)
    t.ok(q.wait(lambda: "end msg" in q.logtext() and queue_empty(q), 10), "queue empty after end msg")
    time.sleep(0.3)
    log = q.logtext()
    m = re.search(r"^new msg (\d+)$", log, re.M)
    t.ok(m, "new msg N", log)
    n = m.group(1) if m else "?"
    want = [
        "new msg %s" % n,
        r"info msg %s: bytes \d+ from <joe@far.test> qp \d+ uid \d+" % n,
        "starting delivery 1: msg %s to local x@example.test" % n,
        "status: local 1/10 remote 0/20",
        re.escape("delivery 1: success: did_1+0+0/"),
        "status: local 0/10 remote 0/20",
        "end msg %s" % n,
    ]
    lines = log.splitlines()
    i = 0
    for line in lines:
        if i < len(want) and re.fullmatch(want[i], line):
            i += 1
    t.eq(i, len(want), "log lines in qmail-log(5) format and order", log)
    m = re.search(r"info msg \d+: bytes (\d+) ", log)
    t.ok(m and int(m.group(1)) > len("Subject: one\n\nbody one\n"), "bytes counts the queued file (with Received)")

    # a log-safe sender: spaces and '%' shown as '_'
    q.queue("Subject: two\n\n2\n", "a b%c@far.test", ["x@example.test"])
    t.ok(q.wait(lambda: "from <a_b_c@far.test> qp" in q.logtext()), "sender made log-safe", q.logtext())
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 2), "second delivered")

    # 40 messages at once and one message to 30 recipients (x-1 .. x-30 via .qmail-x-default)
    q.write("alias/.qmail-x-default", "./Maildir/\n")
    for k in range(40):
        q.queue("Subject: many %d\n\n%d\n" % (k, k), "joe@far.test", ["x@example.test"])
    q.queue("Subject: fan\n\nfan\n", "joe@far.test", ["x-%d@example.test" % k for k in range(30)])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 72, 40), "40 messages + 30 recipients delivered",
         "count %d" % q.maildir_count("alias/Maildir"))
    t.ok(q.wait(lambda: queue_empty(q), 10), "queue empty again")
    log = q.logtext()
    starts = re.findall(r"^starting delivery (\d+):", log, re.M)
    t.eq(len(starts), 72, "one delivery per recipient")
    t.eq(sorted(int(s) for s in starts), list(range(1, 73)), "delivery numbers 1, 2, 3 ...")
    t.ok(not re.search(r"^(alert|warning):", log, re.M), "no alerts or warnings", log)
t.done()
