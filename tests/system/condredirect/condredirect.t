#!/usr/bin/env python3
# condredirect: "| condredirect newaddress program" forwards the message
# and stops the .qmail file (exit 99) when program exits 0; program's 111
# defers (111); any other exit (or no such program) lets the next lines
# deliver (0). With except in front, the test is reversed.
import os, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run, run_file

t = Tap()
MSG = b"Subject: s\n\nbody SPAM-MARK\n"

# --- direct runs --------------------------------------------------------------
tmp = tempfile.mkdtemp(prefix="nqt-cr-")
fake = os.path.join(tmp, "qq")
with open(fake, "w") as f:
    f.write("#!/bin/sh\ncat > %s/mess\ncat 0<&1 > %s/env\nexit 0\n" % (tmp, tmp))
os.chmod(fake, 0o755)
env = qlenv("joe", "joe-cr", sender="orig@example.org", extra={"QMAILQUEUE": fake})
env["NEWSENDER"] = "other@example.org"


def cr(prog, input=MSG, e=env):
    return run_file([bin_("condredirect"), "new@example.net"] + prog, input, e)


r = cr(["grep", "-q", "SPAM-MARK"])
t.eq(r.returncode, 99, "program exits 0: forwarded, exit 99", r.stderr)
t.ok(r.stderr.startswith(b"condredirect: qp "), "says condredirect: qp N", r.stderr)
t.eq(open(os.path.join(tmp, "mess"), "rb").read(), env["DTLINE"].encode() + MSG,
     "the whole message, read again from the start after program read it, DTLINE on top")
t.eq(open(os.path.join(tmp, "env"), "rb").read(), b"Forig@example.org\0Tnew@example.net\0\0",
     "envelope: $SENDER (as qmail's condredirect), newaddress")
os.unlink(os.path.join(tmp, "mess"))
r = cr(["grep", "-q", "NOT-THERE"])
t.ok(r.returncode == 0 and not os.path.exists(os.path.join(tmp, "mess")), "program exits 1: 0, nothing sent")
r = cr(["sh", "-c", "exit 111"])
t.eq(r.returncode, 111, "program exits 111: 111")
r = cr(["sh", "-c", "exit 100"])
t.eq(r.returncode, 0, "program exits 100: 0")
r = cr(["sh", "-c", "kill -9 $$"])
t.eq(r.returncode, 111, "program crashes: 111")
r = cr(["/nonexistent/prog"])
t.eq(r.returncode, 0, "program does not exist: 0")
r = run([bin_("condredirect"), "x@y.z"], input=MSG, env=env)
t.eq(r.returncode, 100, "no program: usage, 100")
e2 = dict(env)
del e2["SENDER"]
r = cr(["true"], e=e2)
t.eq(r.returncode, 100, "SENDER missing when forwarding: 100")
e3 = dict(env, QMAILQUEUE="/nonexistent/qq")
r = cr(["true"], e=e3)
t.eq(r.returncode, 111, "qmail-queue cannot run: 111")

if not IS_ROOT:
    t.skip("condredirect through qmail-local", "needs root to create test users")
    t.done()
with Box(t, "cr") as b:
    u = b.u
    u.maildirmake("Spam")
    b.dotqmail("spam", "./Spam/\n")
    b.dotqmail("cr", "| condredirect %s grep -q SPAM-MARK\n./Maildir/\n" % b.addr("spam"))
    b.dotqmail("vip", "| condredirect %s except grep -q VIP-MARK\n./Maildir/\n" % b.addr("spam"))
    b.start()
    t.ok(b.deliver(b"Subject: one\n\ncr-token-1 SPAM-MARK\n", [b.addr("cr")], sender="s@example.org"),
         "marked message delivered", b.q.logtext())
    t.ok(b.deliver(b"Subject: two\n\ncr-token-2 clean\n", [b.addr("cr")], sender="s@example.org"),
         "clean message delivered", b.q.logtext())
    spam, inbox = b.maildir(rel="Spam"), b.maildir()
    t.ok(any(b"cr-token-1" in x for x in spam) and not any(b"cr-token-1" in x for x in inbox),
         "program said 0: redirected, and the later ./Maildir/ line skipped (99)")
    t.ok(any(b"cr-token-2" in x for x in inbox) and not any(b"cr-token-2" in x for x in spam),
         "program said 1: the rest of .qmail delivered it")
    got = [x for x in spam if b"cr-token-1" in x]
    t.ok(got and got[0].startswith(b"Return-Path: <s@example.org>\n")
         and ("Delivered-To: %s\n" % b.addr("cr")).encode() in got[0], "redirected copy: sender and Delivered-To",
         got[0][:300] if got else "")
    t.ok(b.deliver(b"Subject: three\n\ncr-token-3 VIP-MARK\n", [b.addr("vip")]), "VIP message delivered")
    t.ok(b.deliver(b"Subject: four\n\ncr-token-4\n", [b.addr("vip")]), "other message delivered")
    spam, inbox = b.maildir(rel="Spam"), b.maildir()
    t.ok(any(b"cr-token-3" in x for x in inbox) and any(b"cr-token-4" in x for x in spam),
         "with except: what does not match is redirected, what matches stays")
t.done()
