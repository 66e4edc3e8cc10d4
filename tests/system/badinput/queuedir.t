#!/usr/bin/env python3
# A damaged instance: missing queue directories give qmail-queue's
# documented exit codes (62 queue, 63 pid, 64 mess, 65 intd, 66 todo) and
# leave no half-written message; qmail-inject reports the failure; qmail-send
# refuses to start without its queue; a missing users/cdb falls back to the
# password file, a corrupt one defers (and recovers after qmail-newu).
import os, shutil, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, run, wait

t = Tap()
NAME = "example.test"
ENV = ["s@" + NAME, ["x@" + NAME]]
with Instance(t, name=NAME) as q:
    q.write("alias/.qmail-x", "./Maildir/\n")
    for sub, code in (("todo", 66), ("intd", 65), ("pid", 63)):
        d = q.path("queue/" + sub)
        os.rename(d, d + ".gone")
        rc = q.queue("Subject: x\n\nbody\n", *ENV)
        t.eq(rc, code, "queue/%s missing: qmail-queue exits %d" % (sub, code))
        os.rename(d + ".gone", d)
        t.eq(q.queue_files(), [], "queue/%s missing: nothing left behind" % sub)
    # every mess/S missing
    mess = q.path("queue/mess")
    os.rename(mess, mess + ".gone")
    os.mkdir(mess)
    rc = q.queue("Subject: x\n\nbody\n", *ENV)
    t.eq(rc, 64, "queue/mess/S missing: qmail-queue exits 64")
    shutil.rmtree(mess)
    os.rename(mess + ".gone", mess)
    t.eq(q.queue_files(), [], "queue/mess/S missing: nothing left behind")

    qd = q.path("queue")
    os.rename(qd, qd + ".gone")
    rc = q.queue("Subject: x\n\nbody\n", *ENV)
    t.ok(rc in (61, 62), "queue/ missing: qmail-queue exits 62 (got %d)" % rc)
    r = q.inject("To: x@%s\n\nno queue\n" % NAME)
    t.eq(r.returncode, 111, "queue/ missing: qmail-inject exits 111")
    t.ok(r.stderr.strip(), "and says why", r.stderr)
    q.start()
    t.ok(wait(lambda: q.proc.poll() is not None, 10), "queue/ missing: qmail-send does not run", q.logtext())
    rc = q.proc.poll()
    t.ok(rc is not None and rc > 0, "it exits with an error status (%r), not a signal" % rc)
    t.ok(q.logtext().strip(), "and says why", q.logtext())
    q.stop()
    q.kill_daemons()
    os.rename(qd + ".gone", qd)

    # users/cdb missing: the password file (and so the alias user) is used.
    if os.path.exists(q.path("users/cdb")):
        os.unlink(q.path("users/cdb"))
    q.start()
    r = q.inject("To: x@%s\n\nno-cdb-token\n" % NAME)
    t.eq(r.returncode, 0, "inject without users/cdb")
    t.ok(q.wait(lambda: any("no-cdb-token" in x for x in q.maildir_texts("alias/Maildir")), 30),
         "users/cdb missing: delivered through the password file's fallback", q.logtext())

    # users/cdb corrupt: a temporary failure, the message stays queued.
    q.write("users/cdb", b"\xff" * 100, owner="root")
    mark = len(q.logtext())
    r = q.inject("To: x@%s\n\nbad-cdb-token\n" % NAME)
    t.eq(r.returncode, 0, "inject with a corrupt users/cdb")
    t.ok(q.wait(lambda: "deferral" in q.logtext()[mark:], 30), "corrupt users/cdb: the delivery is deferred",
         q.logtext()[mark:])
    t.ok(not any("bad-cdb-token" in x for x in q.maildir_texts("alias/Maildir")), "and not delivered meanwhile")
    t.ok(q.pids("qmail-lspawn") and q.pids("qmail-send"), "qmail-send and qmail-lspawn keep running")
    t.ok(q.queue_count() == 1, "the message stays in the queue", q.qstat())
    q.write("users/assign", ".\n", owner="root")
    r = run([q.bin("qmail-newu")])
    t.eq(r.returncode, 0, "qmail-newu rewrites users/cdb")
    q.send_pid_signal(signal.SIGALRM)
    t.ok(q.wait(lambda: any("bad-cdb-token" in x for x in q.maildir_texts("alias/Maildir")), 30),
         "after qmail-newu and SIGALRM it is delivered", q.logtext()[mark:])
t.done()
