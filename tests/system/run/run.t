#!/usr/bin/env python3
# make run (scripts/run.sh): creates the demo instance, names it, starts
# it, and prints how to inject a message and where it lands; following
# those instructions delivers the message there. Run again while it runs:
# it restarts. Under a parent that keeps the qmail users out it explains.
import os, re, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmailctl"))
from nqtest import Tap, IS_ROOT, TOP, BUILD, run, wait
from ctl import instance_procs


class Dir:
    """Just enough of an Instance for instance_procs()."""
    def __init__(self, d):
        self.dir = d


t = Tap()
RUN = os.path.join(TOP, "scripts/run.sh")
base = tempfile.mkdtemp(prefix="nqt-")
d = os.path.join(base, "run")
env = dict(os.environ, DEMO_NAME="demo.run.test")
try:
    os.chmod(base, 0o755)
    r = run(["sh", RUN, d, BUILD], env=env, timeout=120)
    o = r.stdout.decode("utf-8", "replace")
    t.eq(r.returncode, 0, "run.sh exits 0")
    if r.returncode:
        t.diag(o + r.stderr.decode("utf-8", "replace"))
    t.eq(open(os.path.join(d, "control/me")).read(), "demo.run.test\n", "the demo instance is named")
    m = re.search(r"^\s*(echo .*\| (\S+/bin/qmail-inject) (\S+))$", o, re.M)
    t.ok(m and m.group(2) == os.path.join(d, "bin/qmail-inject") and m.group(3) == "postmaster@demo.run.test",
         "it prints the command that injects a message", o)
    t.ok(os.path.join(d, "alias/Maildir/new/") in o, "it says where the message lands")
    r2 = run([os.path.join(d, "bin/qmailctl"), "stat"])
    t.eq(r2.returncode, 0, "the instance runs")
    if m:
        r3 = run(["sh", "-c", m.group(1)])
        t.eq(r3.returncode, 0, "the printed command works")
        new = os.path.join(d, "alias/Maildir/new")
        t.ok(wait(lambda: len(os.listdir(new)) == 1, 30), "and the message lands where it said")
    r = run(["sh", RUN, d, BUILD], env=env, timeout=120)
    t.eq(r.returncode, 0, "run.sh again while it runs (restart)")
    t.eq(run([os.path.join(d, "bin/qmailctl"), "stat"]).returncode, 0, "still running")
    r = run([os.path.join(d, "bin/qmailctl"), "stop"])
    t.eq(r.returncode, 0, "qmailctl stop")
    t.ok(wait(lambda: not instance_procs(Dir(d)), 10), "nothing left running")

    if IS_ROOT:
        closed = os.path.join(base, "closed")
        os.mkdir(closed, 0o700)
        r = run(["sh", RUN, os.path.join(closed, "run"), BUILD], env=env)
        e = r.stderr.decode()
        t.eq(r.returncode, 100, "under a 0700 parent run.sh fails")
        t.ok("PREFIX=" in e and closed in e, "and explains what to do", e)
finally:
    run([os.path.join(d, "bin/qmailctl"), "stop"]) if os.path.exists(os.path.join(d, "bin/qmailctl")) else None
    shutil.rmtree(base, ignore_errors=True)
t.done()
