#!/usr/bin/env python3
# Recipient validation at RCPT time: an address in locals or
# virtualdomains that qmail-local would bounce is refused with 550 before
# DATA, by the same rules local delivery follows (users/cdb, the password
# file, the alias user, .qmail-ext and -default files in homes that are
# 0700), through the privileged helper qmail-rcptcheck, which answers only
# qmaild and root and only with one byte. What cannot be decided is
# accepted. control/rcptcheck 0 or NORCPTCHECK turns the check off. Root
# and single-user instances.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw
from nqtest import Tap, Instance, TestUser, run, IS_ROOT, unique_user

t = Tap()


def codes(port, rcpts):
    r = Raw(port)
    r.reply()
    r.cmd("EHLO client.test")
    r.cmd("MAIL FROM:<s@a.test>")
    out = [r.cmd("RCPT TO:<%s>" % a)[0] for a in rcpts]
    r.cmd("QUIT")
    r.close()
    return out


def check(port, cases, what):
    got = codes(port, [a for a, _ in cases])
    for (a, want), code in zip(cases, got):
        t.eq(code, want, "%s: %s -> %d" % (what, a, want))


if not IS_ROOT:
    t.skip("root-mode recipient check", "needs root to create test users")
    t.done()

u = TestUser(unique_user("rc"))
other = TestUser(unique_user("ro"))
try:
    with Instance(t, name="example.test") as q:
        prepare(q)
        D = "example.test"
        q.control("virtualdomains", "virt.test:%s\n" % u.name)
        q.control("rcpthosts", "example.test\nvirt.test\n")
        q.write("users/assign", "=list:%s:%d:%d:%s:::\n+pre-:%s:%d:%d:%s:-::\n=ghost:%s:%d:%d:/nonexistent/ghost:-::\n.\n" %
                (u.name, u.uid, u.gid, u.home, u.name, u.uid, u.gid, u.home, u.name, u.uid, u.gid))
        r = run([q.bin("qmail-newu")])
        t.eq(r.returncode, 0, "qmail-newu", r.stderr)
        u.write(".qmail-foo", "./Maildir/\n")
        u.write(".qmail-bar-default", "./Maildir/\n")
        with Server(q) as s:
            check(s.port, [
                (u.name + "@" + D, 250),
                (u.name.upper() + "@" + D, 250),
                (u.name + "-foo@" + D, 250),
                (u.name + "-FOO@" + D, 250),
                (u.name + "-nope@" + D, 550),
                (u.name + "-bar-x@" + D, 250),
                (u.name + "-baz-x@" + D, 550),
                ("postmaster@" + D, 250),
                ("nobody@" + D, 550),
                ("list@" + D, 250),
                ("pre-foo@" + D, 250),
                ("pre-other@" + D, 550),
                ("foo@virt.test", 250),
                ("other@virt.test", 550),
                ("ghost@" + D, 250),
                ("a/../../x@" + D, 550),
            ], "root")
            u.write(".qmail-default", "./Maildir/\n")
            check(s.port, [(u.name + "-nope@" + D, 250), ("other@virt.test", 250)], "with ~/.qmail-default")
            os.unlink(os.path.join(u.home, ".qmail-default"))
            q.write("alias/.qmail-default", "./Maildir/\n")
            check(s.port, [("nobody@" + D, 250)], "with alias/.qmail-default")
            os.unlink(q.path("alias/.qmail-default"))
            t.ok("550" not in s.log() and "qmail-rcptcheck:" not in s.log(), "the helper logs nothing", s.log())
        q.control("rcptcheck", "0")
        with Server(q) as s:
            check(s.port, [("nobody@" + D, 250)], "control/rcptcheck 0")
        os.unlink(q.path("control/rcptcheck"))
        with Server(q, env={"NORCPTCHECK": "1"}) as s:
            check(s.port, [("nobody@" + D, 250)], "NORCPTCHECK")

        # The helper itself.
        ids = q.role_ids()
        qmaild = [x for x, v in ids.items() if x == "qmaild"][0]
        req = ("nobody@%s\0postmaster@%s\0%s-foo@%s\0x@other.test\0" % (D, D, u.name, D)).encode()
        import pwd
        r = run([q.bin("qmail-rcptcheck")], input=req, user="qmaild")
        t.eq(r.stdout, b"NYYR", "as qmaild: one byte per question", r.stderr)
        r = run([q.bin("qmail-rcptcheck")], input=req, user=other.name)
        t.eq(r.returncode, 100, "any other user is refused", r.stderr)
        t.eq(r.stdout, b"", "and gets no answer")
        st = os.stat(q.bin("qmail-rcptcheck"))
        t.ok(st.st_mode & 0o4000 and st.st_uid == 0, "qmail-rcptcheck is set-uid root in a root instance")
finally:
    u.remove()
    other.remove()

# Single-user instance: the owner's own files, no privilege at all.
o = TestUser(unique_user("rs"))
try:
    with Instance(t, name="example.test", mode="single", owner=o.name) as q:
        prepare(q)
        q.write("alias/.qmail-known", "./Maildir/\n")
        q.write("users/assign", "=stranger:%s:%d:%d:%s:::\n.\n" % ("root", 0, 0, "/root"))
        run([q.bin("qmail-newu")], user=o.name)
        with Server(q) as s:
            check(s.port, [("known@example.test", 250), ("unknown@example.test", 550),
                           ("postmaster@example.test", 250), ("stranger@example.test", 550)], "single-user")
        st = os.stat(q.bin("qmail-rcptcheck"))
        t.ok(not st.st_mode & 0o6000, "qmail-rcptcheck is not set-id in a single-user instance")
finally:
    o.remove()
t.done()
