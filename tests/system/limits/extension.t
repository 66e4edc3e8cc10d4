#!/usr/bin/env python3
# Hostile address extensions never reach a shell or a file outside the
# home. Addresses such as x-;touch M;, x-$(touch M), x-`touch M`,
# x-|touch M, x-../../etc/passwd, x-a/b, x-.qmail and a path that climbs
# out of the home to a planted .qmail file: with .qmail-x-default present
# each lands in that -default's Maildir (with the right Delivered-To) and
# no marker file appears; without it each bounces with qmail's
# "Sorry, no mailbox here by that name. (#5.1.1)".
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT

t = Tap()
NAME = "example.test"
mark = tempfile.mkdtemp(prefix="nqt-pwn-")
os.chmod(mark, 0o1777)
M = lambda n: os.path.join(mark, "m%d" % n)
# A trap outside every home: a .qmail-style file that would run a command
# if a delivery ever opened it.
trap = tempfile.mkdtemp(prefix="nqt-trap-")
os.chmod(trap, 0o755)
with open(os.path.join(trap, "cmd"), "w") as f:
    f.write("|touch %s\n" % M(99))
os.chmod(os.path.join(trap, "cmd"), 0o644)
up = "../" * 12
exts = [
    "x-;touch %s;" % M(1),
    "x-$(touch %s)" % M(2),
    "x-`touch %s`" % M(3),
    "x-|touch %s" % M(4),
    "x-&&touch %s" % M(5),
    "x-../../etc/passwd",
    "x-a/b",
    "x-.qmail",
    "x-..",
    "x-" + up.rstrip("/") + trap + "/cmd",
    "x-" + up + "tmp",
]
try:
    with Instance(t, name=NAME) as q:
        q.write("alias/.qmail-x-default", "./Maildir-ext/\n")
        q.maildirmake("alias/Maildir-ext")
        q.write("alias/.qmail-snd", "./Maildir-snd/\n")
        q.maildirmake("alias/Maildir-snd")
        # with a directory named like the first step of the climbing path,
        # a naive open(".qmail-" + ext) would really reach the trap
        os.makedirs(q.path("alias/.qmail-x-.."), exist_ok=True)
        q.start()
        for i, e in enumerate(exts):
            rc = q.queue("Subject: ext %d\n\next-token-%d\n" % (i, i), "snd@" + NAME, ["%s@%s" % (e, NAME)])
            t.eq(rc, 0, "queued for %r" % e)
        t.ok(q.wait(lambda: q.queue_count() == 0, 60), "every message leaves the queue", q.qstat())
        texts = q.maildir_texts("alias/Maildir-ext")
        for i, e in enumerate(exts):
            got = [x for x in texts if "ext-token-%d\n" % i in x]
            t.eq(len(got), 1, "%r lands in .qmail-x-default's Maildir" % e)
            if got:
                t.ok(("Delivered-To: %s@%s" % (e, NAME)).lower() in got[0].lower(),
                     "%r: Delivered-To names the address" % e, got[0][:400])
        t.eq(sorted(os.listdir(mark)), [], "no marker file: no shell ran an extension")

        # Without a -default: each bounces with qmail's text.
        os.unlink(q.path("alias/.qmail-x-default"))
        before = q.maildir_count("alias/Maildir-snd")
        for i, e in enumerate(exts):
            rc = q.queue("Subject: ext b%d\n\next-bounce-token-%d\n" % (i, i), "snd@" + NAME, ["%s@%s" % (e, NAME)])
            t.eq(rc, 0, "queued again for %r" % e)
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-snd") >= before + len(exts), 60),
             "a bounce for each", q.logtext())
        bounces = q.maildir_texts("alias/Maildir-snd")
        for i, e in enumerate(exts):
            b = [x for x in bounces if "ext-bounce-token-%d\n" % i in x]
            t.ok(b and "Sorry, no mailbox here by that name. (#5.1.1)" in b[0],
                 "%r bounces with 'Sorry, no mailbox here by that name. (#5.1.1)'" % e, b[0][:800] if b else bounces[-1:])
        t.eq(sorted(os.listdir(mark)), [], "still no marker file")
        t.eq(sorted(os.listdir(q.path("alias/.qmail-x-.."))), [], "nothing written through the extension's path")
finally:
    shutil.rmtree(mark, ignore_errors=True)
    shutil.rmtree(trap, ignore_errors=True)
t.done()
