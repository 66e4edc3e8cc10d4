#!/usr/bin/env python3
# qmail-send in a single-user instance (set up and started by an ordinary
# user): delivery, a bounce, and every daemon running as that user.
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT

t = Tap()
user = None
try:
    if IS_ROOT:
        user = TestUser("nqtsend%d" % (os.getpid() % 100000))
    with Instance(t, name="single.test", mode="single", owner=user.name if user else None) as q:
        uid = user.uid if user else os.getuid()
        q.write("alias/.qmail-joe", "./joebox/\n")
        q.maildirmake("alias/joebox")
        q.start()
        t.ok(q.wait(lambda: "status: local 0/10" in q.logtext(), 5), "started", q.logtext())
        q.queue("Subject: hi\n\nhi\n", "joe@single.test", ["postmaster@single.test", "nobody@single.test"])
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "delivered", q.logtext())
        t.ok(q.wait(lambda: q.maildir_count("alias/joebox") == 1), "bounce for the unknown address")
        t.ok(q.wait(lambda: len(re.findall(r"^end msg", q.logtext(), re.M)) == 2), "both messages end")
        for prog in ("qmail-send", "qmail-lspawn", "qmail-clean"):
            pids = q.pids(prog)
            uids = set()
            for p in pids:
                for line in open("/proc/%d/status" % p):
                    if line.startswith("Uid:"):
                        uids.add(int(line.split()[1]))
            t.eq(uids, {uid}, "%s runs as the owner" % prog)
        q.stop()
        t.eq(q.proc.returncode, 0, "clean exit")
finally:
    if user:
        user.remove()
t.done()
