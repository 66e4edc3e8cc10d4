#!/usr/bin/env python3
# qmail-lspawn with the real qmail-local in a root instance: mail for a
# password-file user lands in that user's Maildir as a file the user owns;
# a user-ext address and a users/assign entry follow the user's .qmail-ext;
# an unknown address falls back to the alias user (DIR/alias/.qmail-NAME,
# delivered as alias) or, with no .qmail file there, fails permanently.
import os, pwd, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lspawnlib as L
from lspawnlib import nqtest

t = nqtest.Tap()
if not nqtest.IS_ROOT:
    t.skip("qmail-lspawn root mode", "needs root")
    t.done()


def maildir(u, rel="Maildir"):
    for s in ("", "/tmp", "/new", "/cur"):
        p = os.path.join(u.home, rel + s)
        os.mkdir(p, 0o700)
        os.chown(p, u.uid, u.gid)
    return os.path.join(u.home, rel)


def newfiles(d):
    n = os.path.join(d, "new")
    return [os.path.join(n, f) for f in sorted(os.listdir(n))] if os.path.isdir(n) else []


u = nqtest.TestUser("nqlsd")
try:
    with nqtest.Instance(t) as q:
        al = pwd.getpwnam("alias")
        md = maildir(u)
        md2 = maildir(u, "Other")
        u.write(".qmail-foo", "./Other/\n")
        q.write("alias/.qmail-bob", "./Maildir/\n")
        m = L.put_message(q, "From: a@remote.test\nSubject: real delivery\n\nhello body\n")
        s = L.Lspawn(q)
        try:
            st, text = s.one(0, m, "a@remote.test", "nqlsd@example.test")
            t.ok(st == "K" and "did 1+0+0" in text, "delivered: K with qmail-local's report", (st, text))
            fs = newfiles(md)
            t.eq(len(fs), 1, "one file in the user's Maildir/new")
            if fs:
                stt = os.stat(fs[0])
                t.eq((stt.st_uid, stt.st_gid), (u.uid, u.gid), "the file belongs to the user")
                with open(fs[0], "rb") as f:
                    data = f.read()
                t.ok(data.startswith(b"Return-Path: <a@remote.test>\nDelivered-To: nqlsd@example.test\n")
                     and data.endswith(b"Subject: real delivery\n\nhello body\n"),
                     "Return-Path, Delivered-To, then the message", data)

            st, text = s.one(1, m, "a@remote.test", "nqlsd-foo@example.test")
            t.ok(st == "K" and len(newfiles(md2)) == 1, "user-ext follows ~/.qmail-foo", (st, text))

            st, text = s.one(2, m, "a@remote.test", "bob@example.test")
            fs = newfiles(q.path("alias/Maildir"))
            t.ok(st == "K" and len(fs) == 1, "unknown user falls back to DIR/alias/.qmail-bob", (st, text))
            if fs:
                t.eq(os.stat(fs[0]).st_uid, al.pw_uid, "alias delivery runs as alias")
                with open(fs[0], "rb") as f:
                    t.ok(f.read().startswith(b"Return-Path: <a@remote.test>\nDelivered-To: bob@example.test\n"),
                         "alias delivery: Delivered-To names the recipient's local part")

            st, text = s.one(3, m, "a@remote.test", "nosuch@example.test")
            t.ok(st == "D" and "5.1.1" in text, "no user and no alias .qmail: D, no mailbox", (st, text))
            st, text = s.one(3, m, "a@remote.test", "nqlsd-nothing@example.test")
            t.ok(st == "D" and "5.1.1" in text, "user-ext without .qmail-ext: D", (st, text))
        finally:
            s.close()

        # users/assign sends another address to the user's .qmail-foo.
        q.write("users/assign", "=boss:nqlsd:%d:%d:%s:-:foo:\n.\n" % (u.uid, u.gid, u.home))
        r = nqtest.run([q.bin("qmail-newu")])
        s = L.Lspawn(q)
        try:
            st, text = s.one(0, m, "", "Boss@example.test")
            fs = newfiles(md2)
            t.ok(r.returncode == 0 and st == "K" and len(fs) == 2, "users/assign entry delivers to .qmail-foo", (st, text))
            if len(fs) == 2:
                t.eq(os.stat(fs[1]).st_uid, u.uid, "as the assigned uid")
        finally:
            s.close()
finally:
    u.remove()
t.done()
