#!/usr/bin/env python3
# A single-user instance set up and run by an ordinary user (a TestUser
# when we are root): the instance belongs to that user, every daemon runs
# as that user, and mail to x@NAME lands in DIR/alias/Maildir/new through
# qmail-inject, sendmail and qmail-queue. Another local account is not
# delivered to: only addresses the owner assigns.
import os, pwd, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, run, IS_ROOT, unique_user, proc_uid

t = Tap()
NAME = "single.test"
owner = TestUser(unique_user("s")) if IS_ROOT else None
other = TestUser(unique_user("o")) if IS_ROOT else None
try:
    ouid = owner.uid if owner else os.getuid()
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        t.eq(os.stat(q.dir).st_uid, ouid, "the instance directory belongs to the owner")
        bad = []
        for root, dirs, files in os.walk(q.dir):
            for n in dirs + files:
                p = os.path.join(root, n)
                if os.lstat(p).st_uid != ouid:
                    bad.append(p)
        t.ok(not bad, "every file of the instance belongs to the owner", "\n".join(bad[:20]))
        st = os.stat(q.bin("qmail-queue"))
        t.ok(not st.st_mode & 0o6000, "qmail-queue is not set-id in a single-user instance")
        ids = q.role_ids()
        t.ok(ids and all(v[0] == ouid for v in ids.values()), "users/ids gives every role the owner's uid", ids)

        q.write("alias/.qmail-x", "./Maildir/\n")
        q.write("alias/.qmail-bounces", "./Maildir-b/\n")
        q.maildirmake("alias/Maildir-b")
        q.start()
        t.ok(q.wait(lambda: q.pids("qmail-send"), 5), "qmail-send runs", q.logtext())
        # qmail-start forks each daemon before it execs: wait until all run.
        q.wait(lambda: all(q.pids(p) for p in ("qmail-lspawn", "qmail-clean", "qmail-rspawn")), 10)
        for prog in ("qmail-send", "qmail-lspawn", "qmail-clean"):
            pids = q.pids(prog)
            t.ok(pids and all(proc_uid(p) == ouid for p in pids), "%s runs as the owner" % prog,
                 [(p, proc_uid(p)) for p in pids])
        others = [p for p in q.session_procs() if p["uid"] != ouid]
        t.ok(not others, "no process of the instance runs as anyone else", others)

        r = q.inject("To: x@%s\n\nsingle-token-1\n" % NAME)
        t.eq(r.returncode, 0, "qmail-inject as the owner", )
        if r.returncode:
            t.diag(r.stderr)
        r = run([q.bin("sendmail"), "x@%s" % NAME], input="Subject: s\n\nsingle-token-2\n", user=q.as_owner())
        t.eq(r.returncode, 0, "sendmail as the owner")
        t.eq(q.queue("Subject: q\n\nsingle-token-3\n", "", ["x@%s" % NAME]), 0, "qmail-queue as the owner")
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") >= 3, 30), "three messages in DIR/alias/Maildir", q.logtext())
        texts = q.maildir_texts("alias/Maildir")
        for tok in ("single-token-1", "single-token-2", "single-token-3"):
            t.eq(sum(tok in x for x in texts), 1, "%s delivered once" % tok)
        files = q.maildir_files("alias/Maildir")
        t.ok(files and all(os.stat(f).st_uid == ouid for f in files), "Maildir files belong to the owner")

        if other:
            other.maildirmake("Maildir")
            r = q.queue("Subject: o\n\nnot-for-other\n", "bounces@%s" % NAME, ["%s@%s" % (other.name, NAME)])
            t.eq(r, 0, "queued a message for another local account")
            t.ok(q.wait(lambda: q.queue_count() == 0, 30), "it leaves the queue", q.qstat())
            got = []
            for s in ("new", "cur", "tmp"):
                got += os.listdir(os.path.join(other.home, "Maildir", s))
            t.ok(not got, "nothing lands in another account's home")
            t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-b") >= 1, 10),
                 "the sender gets a bounce instead", q.logtext())
        t.ok(q.wait(lambda: q.queue_count() == 0, 20), "queue empties", q.qstat())
        t.ok("messages in queue: 0" in q.qstat(), "qmail-qstat: messages in queue: 0", q.qstat())
finally:
    if owner:
        owner.remove()
    if other:
        other.remove()
t.done()
