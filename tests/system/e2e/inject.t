#!/usr/bin/env python3
# The contract's main path on a root instance: mail to x@NAME, where
# alias/.qmail-x says ./Maildir/, lands in alias/Maildir/new/ whether it
# comes through qmail-inject, sendmail or qmail-queue; the queue ends empty
# and qmail-send logs the message's life.
# smoke
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, run, IS_ROOT

t = Tap()
NAME = "example.test"
with Instance(t, name=NAME) as q:
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.start()
    t.ok(q.pids("qmail-send"), "qmail-send is running", q.logtext())

    r = q.inject("To: x@%s\nSubject: via inject\n\nbody tok-inject-1\n" % NAME)
    t.eq(r.returncode, 0, "qmail-inject exits 0")
    if r.returncode:
        t.diag(r.stderr.decode(errors="replace"))
    r = run([q.bin("sendmail"), "-f", "s@%s" % NAME, "-i", "x@%s" % NAME],
            input="Subject: via sendmail\n\nbody tok-sendmail-2\n", user=q.as_owner())
    t.eq(r.returncode, 0, "sendmail exits 0")
    rc = q.queue("Subject: via qmail-queue\n\nbody tok-queue-3\n", "s@%s" % NAME, ["x@%s" % NAME])
    t.eq(rc, 0, "qmail-queue exits 0")

    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") >= 3, 30),
         "three messages in alias/Maildir", q.logtext())
    texts = q.maildir_texts("alias/Maildir")
    for tok in ("tok-inject-1", "tok-sendmail-2", "tok-queue-3"):
        got = [x for x in texts if tok in x]
        t.eq(len(got), 1, "%s delivered exactly once" % tok)
        if got:
            head = got[0].split("\n\n", 1)[0]
            t.ok("Delivered-To: x@%s" % NAME in head, "%s has Delivered-To: x@%s" % (tok, NAME), head)
            t.ok(head.startswith("Return-Path: <"), "%s starts with Return-Path" % tok, head)
            t.ok("\nReceived: " in head, "%s has qmail-queue's Received line" % tok, head)
    inj = [x for x in texts if "tok-inject-1" in x]
    if inj:
        head = inj[0].split("\n\n", 1)[0]
        for h in ("Date:", "Message-ID:", "From:"):
            t.ok(("\n" + h.lower()) in ("\n" + head.lower()), "qmail-inject added %s" % h, head)
    snd = [x for x in texts if "tok-queue-3" in x]
    if snd:
        t.ok("Return-Path: <s@%s>" % NAME in snd[0], "envelope sender in Return-Path", snd[0][:300])

    files = q.maildir_files("alias/Maildir")
    t.ok(files and all("/new/" in f for f in files), "delivered into new/")
    if IS_ROOT and q.mode == "root" and files:
        uid = q.role_ids().get("alias", (None,))[0]
        t.ok(all(os.stat(f).st_uid == uid for f in files), "Maildir files owned by alias")
    t.ok(q.wait(lambda: q.queue_count() == 0, 20), "queue empties", q.qstat())
    t.ok("messages in queue: 0" in q.qstat(), "qmail-qstat prints 'messages in queue: 0'", q.qstat())
    log = q.logtext()
    for w in ("new msg", "info msg", "starting delivery", "success", "end msg"):
        t.ok(w in log, "log has '%s'" % w, log)
t.done()
