#!/usr/bin/env python3
# Two or more POP3 sessions on one Maildir never lose or duplicate a
# message: a session that deleted some and moved the rest to cur/ at
# QUIT leaves a second, older session able to read the moved ones (found
# again by name) and told -ERR for the deleted ones; its own deletions
# reach the moved files. Then eight clients log in over and over at once
# while others move messages from new/ to cur/: every listing holds each
# message exactly once, and at the end every message is there once.
import os, poplib, sys, threading
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3lib import Pop3Server, prepare, put_message, set_password
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user

t = Tap()
if not IS_ROOT:
    t.skip("concurrent sessions", "needs root (system users, qmail-popup as root)")
    t.done()


def session(port, name):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    p.user(name)
    p.pass_("two sessions")
    return p


def everything(md):
    return sorted(os.listdir(md + "/new") + os.listdir(md + "/cur"))


u = TestUser(unique_user("pc"))
try:
    set_password(u.name, "two sessions")
    md = u.maildirmake()
    own = (u.uid, u.gid)
    for i in range(20):
        put_message(md, "10000000%02d.C%d.host" % (i, i), b"Subject: %d\n\nbody %d\n" % (i, i), owner=own)
    with Instance(t, name="example.test") as q:
        prepare(q)
        with Pop3Server(q, env={"POP3PLAINLOOPBACK": "1"}) as s:
            a = session(s.port, u.name)
            b = session(s.port, u.name)
            t.eq(a.stat()[0], 20, "session A sees 20")
            t.eq(b.stat()[0], 20, "session B sees 20")
            for i in range(1, 11):
                a.dele(i)
            a.quit()
            t.eq(len(os.listdir(md + "/cur")), 10, "A's QUIT: 10 deleted, 10 moved to cur/")
            errs = 0
            for i in range(1, 11):
                try:
                    b.retr(i)
                except poplib.error_proto:
                    errs += 1
            t.eq(errs, 10, "B: the messages A deleted are -ERR")
            got = [b.retr(i)[1][2] for i in range(11, 21)]
            t.eq(got, [b"body %d" % i for i in range(10, 20)], "B: the messages A moved are read from cur/")
            for i in range(11, 16):
                b.dele(i)
            b.quit()
            t.eq(everything(md), ["10000000%02d.C%d.host:2," % (i, i) for i in range(15, 20)],
                 "B's deletions reached the moved files; nothing lost, nothing twice")

            # Racing: a deliverer keeps adding to new/ while eight clients
            # log in and QUIT (each QUIT moves new/ to cur/ under the
            # others' feet).
            for i in range(20, 400):
                put_message(md, "10000%05d.C%d.host" % (i, i), b"Subject: %d\n\nbody %d\n" % (i, i), owner=own)
            want = set("10000000%02d.C%d.host" % (i, i) for i in range(15, 20)) | \
                set("10000%05d.C%d.host" % (i, i) for i in range(20, 400))
            bad = []
            stop = []

            def deliver():
                i = 400
                while not stop and i < 3000:
                    put_message(md, "10000%05d.C%d.host" % (i, i), b"Subject: %d\n\nbody %d\n" % (i, i), owner=own)
                    want.add("10000%05d.C%d.host" % (i, i))
                    i += 1

            def worker(k):
                for _ in range(8):
                    try:
                        p = session(s.port, u.name)
                        ids = [ln.split()[1] for ln in p.uidl()[1]]
                        if len(set(ids)) != len(ids):
                            bad.append(("twice in one listing", k, len(ids) - len(set(ids))))
                        p.retr(1 + k % len(ids))
                        p.quit()
                    except Exception as e:   # noqa: BLE001
                        bad.append(("error", k, repr(e)))
            d = threading.Thread(target=deliver)
            d.start()
            th = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
            for x in th:
                x.start()
            for x in th:
                x.join(50)
            stop.append(1)
            d.join()
            t.eq(bad, [], "64 sessions racing with each other and a deliverer: no message twice in a listing")
            names = [n.split(":")[0] for n in everything(md)]
            t.eq(len(names), len(set(names)), "at the end no message is there twice")
            t.ok(set(names) == want, "and none is missing (%d messages)" % len(want),
                 "missing: %s\nextra: %s" % (sorted(want - set(names))[:10], sorted(set(names) - want)[:10]))
finally:
    u.remove()
t.done()
