#!/usr/bin/env python3
# qmail-lspawn in a single-user instance (every role is the owner): no uid
# switching, the password file never consulted; users/assign entries with
# the owner's uid deliver, entries with another uid fail permanently with
# the reason, and everything else goes to the alias user (DIR/alias).
# Real qmail-local; the owner is a test user created for the test.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lspawnlib as L
from lspawnlib import nqtest

t = nqtest.Tap()
if not nqtest.IS_ROOT:
    t.skip("single-user qmail-lspawn", "the test creates its owner with useradd, which needs root")
    t.done()


def newfiles(d):
    n = os.path.join(d, "new")
    return [os.path.join(n, f) for f in sorted(os.listdir(n))] if os.path.isdir(n) else []


u = nqtest.TestUser("nqlss")
try:
    with nqtest.Instance(t, mode="single", owner="nqlss") as q:
        for s in ("", "/tmp", "/new", "/cur"):
            p = os.path.join(u.home, "Maildir" + s)
            os.mkdir(p, 0o700)
            os.chown(p, u.uid, u.gid)
        q.write("alias/.qmail-bob", "./Maildir/\n")
        probe = os.path.join(q.base, "getpw-ran")
        with open(q.bin("qmail-getpw"), "w") as f:
            f.write("#!/bin/sh\ntouch %s\nexit 111\n" % probe)
        os.chmod(q.bin("qmail-getpw"), 0o755)
        q.write("users/assign", "=me:nqlss:%d:%d:%s:::\n+me-:nqlss:%d:%d:%s:-::\n"
                "=other:someone:12345:12345:/tmp:::\n.\n" % (u.uid, u.gid, u.home, u.uid, u.gid, u.home))
        r = nqtest.run([q.bin("qmail-newu")], user="nqlss")
        t.ok(r.returncode == 0, "the owner compiles users/assign", r.stderr)
        m = L.put_message(q, "Subject: single\n\nowner mail\n")

        s = L.Lspawn(q)
        try:
            st, text = s.one(0, m, "a@remote.test", "me@example.test")
            fs = newfiles(os.path.join(u.home, "Maildir"))
            t.ok(st == "K" and len(fs) == 1, "assigned to the owner: delivered into the owner's Maildir", (st, text))
            if fs:
                t.eq(os.stat(fs[0]).st_uid, u.uid, "the file belongs to the owner")
            st, text = s.one(1, m, "a@remote.test", "other@example.test")
            t.ok(st == "D" and "uid 12345" in text and "owner" in text,
                 "assigned to another uid: D, saying only the owner receives mail", (st, text))
            st, text = s.one(2, m, "a@remote.test", "bob@example.test")
            fs = newfiles(q.path("alias/Maildir"))
            t.ok(st == "K" and len(fs) == 1, "not assigned: the alias user (DIR/alias/.qmail-bob)", (st, text))
            if fs:
                t.eq(os.stat(fs[0]).st_uid, u.uid, "alias delivery runs as the owner too")
            st, text = s.one(3, m, "a@remote.test", "nqlss@example.test")
            t.ok(st == "D" and "5.1.1" in text, "the owner's login name is not a mailbox without an assignment", (st, text))
            st, text = s.one(3, m, "a@remote.test", "unknown-x@example.test")
            t.ok(st == "D" and "5.1.1" in text, "unknown address: D, no mailbox", (st, text))
            t.ok(not os.path.exists(probe), "qmail-getpw is never run")
        finally:
            s.close()
finally:
    u.remove()
t.done()
