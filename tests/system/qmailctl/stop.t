#!/usr/bin/env python3
# qmailctl stop while a delivery program hangs (|sleep in a .qmail file):
# after NQ_STOP_TIMEOUT qmail-send is killed, and the delivery, which runs
# no program of the instance, goes too: nothing started by the instance is
# left, with and without daemontools. The message stays queued.
import os, shutil, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, wait, proc_stat
from ctl import ctl, out, cleanup, instance_procs, smtp_off

t = Tap()
MARK = "nqmail-stop-test-%d" % os.getpid()


def sleepers():
    """The hanging delivery programs of this test (found by their argument)."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if MARK.encode() in f.read() and int(p) != os.getpid():
                    st = proc_stat(int(p))
                    if st and not st["state"].startswith("Z"):
                        found.append(int(p))
        except OSError:
            pass
    return found


modes = [("direct", {"NQ_NO_DAEMONTOOLS": "1", "NQ_STOP_TIMEOUT": "3"})]
if shutil.which("svscan"):
    modes.insert(0, ("daemontools", {"NQ_STOP_TIMEOUT": "3"}))
for tag, env in modes:
    with Instance(t, name="stop.example.test") as q:
        try:
            # $0 is the marker, so the process is easy to find
            smtp_off(q)
            q.write("alias/.qmail-slow", "|exec sh -c 'sleep 300' %s\n" % MARK)
            r = ctl(q, "start", env)
            t.eq(r.returncode, 0, tag + ": start")
            r = q.inject("To: slow@stop.example.test\n\nwait\n", ["slow@stop.example.test"])
            t.eq(r.returncode, 0, tag + ": message for the hanging program queued")
            t.ok(wait(lambda: sleepers(), 20), tag + ": the delivery program runs")
            start = time.time()
            r = ctl(q, "stop", env)
            t.eq(r.returncode, 0, tag + ": stop exits 0")
            took = time.time() - start
            t.diag("stop took %.1f s" % took)
            t.ok(took < 30, tag + ": within the stop timeout and a little more", "%.1f s: %s" % (took, out(r)))
            t.ok(wait(lambda: not sleepers() and not instance_procs(q), 10),
                 tag + ": the hanging delivery and everything else are gone", (sleepers(), instance_procs(q)))
            t.ok(len([f for f in q.queue_files(("mess",))]) == 1, tag + ": the message is still queued",
                 q.queue_files())
        finally:
            cleanup(q, env)
            for p in sleepers():
                os.kill(p, 9)
t.done()
