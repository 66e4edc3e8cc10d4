#!/usr/bin/env python3
# qmailctl on a single-user instance: set up and run by an ordinary user,
# under daemontools; every process runs as that user. Also: root running
# that instance's qmailctl acts as the owner, never as root.
import os, shutil, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, wait, proc_uid, run
from ctl import exercise, cleanup, ctl, instance_procs

t = Tap()
if not IS_ROOT:
    with Instance(t, name="single.example.test") as q:
        try:
            exercise(t, q, daemontools=bool(shutil.which("svscan")))
        finally:
            cleanup(q)
    t.done()

u = TestUser(unique_user("ctl"))
try:
    with Instance(t, name="single.example.test", mode="single", owner=u.name) as q:
        try:
            exercise(t, q, daemontools=bool(shutil.which("svscan")))
            # root runs the owner's qmailctl: it becomes the owner
            r = run([q.bin("qmailctl"), "start"], env={k: v for k, v in os.environ.items() if k != "NQMAIL_HOME"})
            t.eq(r.returncode, 0, "root starting a single-user instance")
            procs = instance_procs(q)
            uids = set(proc_uid(p[0]) for p in procs)
            t.ok(procs and uids == {u.uid}, "every process runs as the owner, none as root", procs)
            t.eq(ctl(q, "stop", user="root").returncode, 0, "root stops it")
            t.ok(wait(lambda: not instance_procs(q), 10), "nothing left after stop")
        finally:
            cleanup(q)
finally:
    u.remove()
t.done()
