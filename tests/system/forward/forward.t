#!/usr/bin/env python3
# forward: "| forward addr ..." in a .qmail file sends the message on to
# every address (computed by the shell when the line says so), with this
# delivery's Delivered-To line on top and $NEWSENDER as the envelope
# sender (the -owner address when .qmail-ext-owner exists); exit codes 0,
# 100 (usage, environment, permanent qmail-queue refusal), 111.
# smoke
import os, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run

t = Tap()

# --- direct runs: usage, environment, qmail-queue's verdicts -------------------
env = qlenv("joe", "joe-fw")
r = run([bin_("forward")], input=b"x\n", env=env)
t.eq(r.returncode, 100, "no address: usage, 100")
e2 = dict(env)
del e2["NEWSENDER"]
r = run([bin_("forward"), "a@b.c"], input=b"x\n", env=e2)
t.ok(r.returncode == 100 and b"NEWSENDER" in r.stderr, "NEWSENDER missing: 100", r.stderr)
tmp = tempfile.mkdtemp(prefix="nqt-fw-")
for code, want in ((31, 100), (53, 111), (0, 0)):
    fake = os.path.join(tmp, "qq%d" % code)
    with open(fake, "w") as f:
        f.write("#!/bin/sh\ncat > %s/mess\ncat 0<&1 > %s/env\nexit %d\n" % (tmp, tmp, code))
    os.chmod(fake, 0o755)
    e3 = dict(env, QMAILQUEUE=fake)
    r = run([bin_("forward"), "one@x.test", "two@y.test"], input=b"Subject: s\n\nbody\n", env=e3)
    t.eq(r.returncode, want, "qmail-queue exit %d: forward exits %d" % (code, want), r.stderr)
mess = open(os.path.join(tmp, "mess"), "rb").read()
envl = open(os.path.join(tmp, "env"), "rb").read()
t.eq(mess, env["DTLINE"].encode() + b"Subject: s\n\nbody\n", "qmail-queue gets DTLINE and the message")
t.eq(envl, b"Fsender@example.org\0Tone@x.test\0Ttwo@y.test\0\0", "envelope: NEWSENDER, every address")
t.ok(r.stderr.startswith(b"forward: qp "), "success says forward: qp N", r.stderr)

if not IS_ROOT:
    t.skip("forward through qmail-local", "needs root to create test users")
    t.done()
with Box(t, "fw") as b:
    u = b.u
    u.maildirmake("One")
    u.maildirmake("Two")
    b.dotqmail("one", "./One/\n")
    b.dotqmail("two", "./Two/\n")
    b.dotqmail("fw", "| forward %s %s\n" % (b.addr("one"), b.addr("two")))
    b.dotqmail("to-default", '| forward "$USER-$DEFAULT@$HOST"\n')
    b.dotqmail("fwo", "| forward %s\n" % b.addr("one"))
    b.dotqmail("fwo-owner", "./Maildir/\n")
    b.start()

    t.ok(b.deliver("Subject: fan\n\nforward-token-1\n", [b.addr("fw")], sender="s@example.org"),
         "message for user-fw delivered", b.q.logtext())
    one = [x for x in b.maildir(rel="One") if b"forward-token-1" in x]
    two = [x for x in b.maildir(rel="Two") if b"forward-token-1" in x]
    t.ok(len(one) == 1 and len(two) == 1, "forwarded to both addresses", b.q.logtext())
    if one:
        m = one[0].decode()
        t.ok(m.startswith("Return-Path: <s@example.org>\n"), "envelope sender kept (NEWSENDER)", m[:300])
        t.ok("Delivered-To: %s\n" % b.addr("one") in m and "Delivered-To: %s\n" % b.addr("fw") in m
             and m.index(b.addr("one")) < m.index(b.addr("fw")),
             "both Delivered-To lines, the forwarder's below", m[:400])
        t.ok(m.endswith("\nforward-token-1\n"), "message intact", m)
    t.ok("qp " in b.q.logtext(), "qmail-send logs forward's qp report")

    t.ok(b.deliver("Subject: computed\n\nforward-token-2\n", [b.addr("to-two")]),
         "message for user-to-two delivered", b.q.logtext())
    t.ok(any(b"forward-token-2" in x for x in b.maildir(rel="Two")),
         "address computed by the shell from $USER, $DEFAULT, $HOST", b.q.logtext())

    t.ok(b.deliver("Subject: owner\n\nforward-token-3\n", [b.addr("fwo")], sender="s@example.org"),
         "message for user-fwo delivered", b.q.logtext())
    got = [x for x in b.maildir(rel="One") if b"forward-token-3" in x]
    t.ok(got and got[0].startswith(("Return-Path: <%s>\n" % b.addr("fwo-owner")).encode()),
         ".qmail-fwo-owner exists: the forward's sender is user-fwo-owner", got[0][:200] if got else b.q.logtext())
t.done()
