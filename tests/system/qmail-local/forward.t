#!/usr/bin/env python3
# qmail-local: forwards (&addr and bare addresses) through qmail-queue:
# the message handed over, the envelope, NEWSENDER and the -owner rules,
# forwards done last and only when everything else succeeded, qmail-queue's
# exit codes, and a real queue (nqtest.Instance) in root and single-user mode.
import os, shutil, stat, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient, MESSAGE
import nqtest
from nqtest import Tap, IS_ROOT, Instance, TestUser

t = Tap()
r = Recipient("fw")
spool = tempfile.mkdtemp(prefix="nql-fakeqq-")
os.chmod(spool, 0o777)
FAKE = os.path.join(spool, "fake-qmail-queue")
with open(FAKE, "w") as f:
    # The message is on fd 0, the envelope on fd 1; the exit code and an
    # optional fd-6 reason come from files the test writes.
    f.write("#!/bin/sh\ncat > %s/mess\ncat 0<&1 > %s/env\n"
            "[ -f %s/reason ] && cat %s/reason >&6\n"
            "exit $(cat %s/code 2>/dev/null || echo 0)\n" % ((spool,) * 5))
os.chmod(FAKE, 0o755)
ENV = {"PATH": "/usr/bin:/bin", "QMAILQUEUE": FAKE}


def spooled(name):
    p = os.path.join(spool, name)
    if not os.path.exists(p):
        return None
    with open(p, "rb") as f:
        return f.read()


def clean():
    for n in ("mess", "env", "code", "reason"):
        try:
            os.unlink(os.path.join(spool, n))
        except FileNotFoundError:
            pass


def fw(ext, sender="s@example.org", code=None, reason=None, **kw):
    clean()
    if code is not None:
        with open(os.path.join(spool, "code"), "w") as f:
            f.write("%d\n" % code)
    if reason is not None:
        with open(os.path.join(spool, "reason"), "w") as f:
            f.write(reason)
    return r.deliver(MESSAGE, dash="-", ext=ext, sender=sender, env=ENV, **kw)


try:
    r.maildirmake("Maildir")
    dt = "Delivered-To: %s-fw@example.test\n" % r.name

    # 1. two forwards, one qmail-queue run
    r.write(".qmail-fw", "&a@example.org\nb@example.net\n")
    rc, out, err = fw("fw")
    t.eq(rc, 0, "forward: exit 0")
    t.ok(out.startswith("did 0+2+0\nqp ") and out.endswith("\n") and out.split("\n")[1][3:].isdigit(),
         "report: did 0+2+0 and qp", out)
    t.eq(spooled("mess"), (dt + MESSAGE).encode(), "message: our Delivered-To on top, no Return-Path")
    t.eq(spooled("env"), b"Fs@example.org\0Ta@example.org\0Tb@example.net\0\0", "envelope F, T, T, end")

    # 2. NEWSENDER: -owner and -owner-default (VERP); bounces keep their sender
    r.write(".qmail-fw-owner", "&owner@example.org\n")
    rc, out, err = fw("fw")
    t.eq(spooled("env")[:40].split(b"\0")[0], ("F%s-fw-owner@example.test" % r.name).encode(), "-owner: new sender")
    r.write(".qmail-fw-owner-default", "&owner@example.org\n")
    rc, out, err = fw("fw")
    t.eq(spooled("env").split(b"\0")[0], ("F%s-fw-owner-@example.test-@[]" % r.name).encode(),
         "-owner and -owner-default: VERP sender")
    for snd in ("", "#@[]"):
        rc, out, err = fw("fw", sender=snd)
        t.eq(spooled("env").split(b"\0")[0], ("F" + snd).encode(), "sender %r kept" % snd)
    r.write(".qmail-fw", "|echo \"$NEWSENDER\" > ns.out\n")
    rc, out, err = fw("fw")
    t.eq(r.read("ns.out").decode(), "%s-fw-owner-@example.test-@[]\n" % r.name, "NEWSENDER for programs")
    r.unlink(".qmail-fw-owner")
    r.unlink(".qmail-fw-owner-default")

    # 3. forwards come last, and only if nothing failed before
    r.write(".qmail-fw", "&a@example.org\n./Maildir/\n|echo ran > ran.out\n")
    rc, out, err = fw("fw")
    t.ok(rc == 0 and out.startswith("did 1+1+1\n") and r.read("ran.out") == b"ran\n"
         and spooled("env") == b"Fs@example.org\0Ta@example.org\0\0", "file, program, then the forward", out)
    r.write(".qmail-fw", "&a@example.org\n|exit 111\n")
    rc, out, err = fw("fw")
    t.ok(rc == 111 and spooled("mess") is None, "a failed program prevents the forward")
    r.write(".qmail-fw", "&a@example.org\n|exit 99\n&b@example.org\n")
    rc, out, err = fw("fw")
    t.eq((rc, spooled("env")), (0, b"Fs@example.org\0Ta@example.org\0\0"),
         "exit 99: forwards before it go, lines after it do not")

    # 4. qmail-queue's exit codes
    r.write(".qmail-fw", "&a@example.org\n")
    rc, out, err = fw("fw", code=11)
    t.eq((rc, out), (100, "Unable to forward message: envelope address too long for qq (#5.1.3).\n"), "qq 11: 100")
    rc, out, err = fw("fw", code=53)
    t.eq((rc, out), (111, "Unable to forward message: qq write error or disk full (#4.3.0).\n"), "qq 53: 111")
    rc, out, err = fw("fw", code=82, reason="Dno such list here (#5.1.1)")
    t.eq((rc, out), (100, "Unable to forward message: no such list here (#5.1.1).\n"), "qq 82 with a D reason")
    rc, out, err = fw("fw", code=82, reason="Zbusy (#4.3.0)")
    t.eq(rc, 111, "qq 82 with a Z reason: 111")
    ENV["QMAILQUEUE"] = os.path.join(spool, "missing")
    rc, out, err = fw("fw")
    t.ok(rc == 111 and "unable to run qq" in out, "missing qmail-queue: 111", out)
    ENV["QMAILQUEUE"] = FAKE

    # 5. a real queue: DIR/bin/qmail-queue of the instance qmail-local is in
    if not os.path.exists(os.path.join(nqtest.BUILD, "bin", "qmail-queue")):
        t.skip("real queue", "qmail-queue is not built yet")
    else:
        modes = ["root", "single"] if IS_ROOT else ["single"]
        for mode in modes:
            owner = None
            if mode == "single" and IS_ROOT:
                owner = TestUser("nqlfwown")
            try:
                with Instance(t, mode=mode, owner=owner.name if owner else None) as q:
                    if mode == "single" and IS_ROOT:
                        # in a single-user instance only the owner receives mail
                        rcpt = Recipient.__new__(Recipient)
                        rcpt.tu, rcpt.name, rcpt.home = None, owner.name, owner.home
                        rcpt.uid, rcpt.gid = owner.uid, owner.gid
                    else:
                        rcpt = r
                    rcpt.write(".qmail-fw", "&far@example.org\n")
                    rc, out, err = rcpt.deliver(MESSAGE, dash="-", ext="fw", bin=q.bin("qmail-local"),
                                                env={"PATH": "/usr/bin:/bin"})
                    t.ok(rc == 0 and out.startswith("did 0+1+0\nqp "), "%s instance: forwarded" % mode, out + err)
                    todo = q.path("queue/todo")
                    files = os.listdir(todo)
                    env = b""
                    if files:
                        with open(os.path.join(todo, files[0]), "rb") as f:
                            env = f.read()
                    t.ok(len(files) == 1 and env.endswith(b"Fsender@example.org\0Tfar@example.org\0\0"),
                         "%s instance: todo/ envelope has F and T" % mode, repr(env))
                    mess = b""
                    for root, dirs, fs in os.walk(q.path("queue/mess")):
                        for n in fs:
                            with open(os.path.join(root, n), "rb") as f:
                                mess = f.read()
                    dtl = "Delivered-To: %s-fw@example.test\n" % rcpt.name
                    t.ok((dtl + MESSAGE).encode() in mess, "%s instance: queued message has our Delivered-To" % mode)
            finally:
                if owner:
                    owner.remove()
finally:
    r.remove()
    shutil.rmtree(spool, ignore_errors=True)
t.done()
