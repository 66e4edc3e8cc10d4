#!/usr/bin/env python3
# qmail-send and SIGTERM: deliveries in progress finish (and are recorded),
# nothing new starts, "status: exiting", exit 0, and every other daemon
# (qmail-lspawn, qmail-clean) sees end of file and exits. After a restart
# whatever was waiting is delivered: no delivery lost.
import os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()


def instance_procs(q):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % pid)
        except OSError:
            continue
        if exe.startswith(q.path("bin") + "/"):
            out.append((int(pid), exe))
    return out


with Instance(t, name="example.test") as q:
    q.write("alias/.qmail-slow", "|sleep 2; echo slept\n")
    q.start()
    t.ok(q.wait(lambda: len(q.pids("qmail-lspawn")) == 1 and len(q.pids("qmail-clean")) == 1, 5),
         "qmail-lspawn and qmail-clean running")
    q.queue("Subject: slow\n\nslow\n", "joe@far.test", ["slow@example.test"])
    t.ok(q.wait(lambda: "starting delivery 1:" in q.logtext()), "slow delivery started")
    q.send_pid_signal(signal.SIGTERM)
    time.sleep(0.3)
    t.ok(q.proc.poll() is None, "qmail-send waits for the delivery in progress")
    q.queue("Subject: later\n\nlater\n", "joe@far.test", ["postmaster@example.test"])
    try:
        code = q.proc.wait(15)
    except Exception:
        code = None
    t.eq(code, 0, "exit code 0")
    log = q.logtext()
    t.ok(re.search(r"^delivery 1: success: slept/did_0\+0\+1/$", log, re.M), "the delivery finished and was recorded", log)
    t.ok(log.rstrip().endswith("status: exiting"), "last line: status: exiting")
    t.ok(re.search(r"^status: local 0/10 remote 0/20 exitasap$", log, re.M), "status lines say exitasap")
    t.ok(log.index("delivery 1: success") < log.index("status: exiting"), "success before exiting")
    t.ok("starting delivery 2" not in log, "nothing new started after SIGTERM")
    t.ok(q.wait(lambda: not instance_procs(q), 5), "every daemon exited with it", instance_procs(q))
    t.eq(q.maildir_count("alias/Maildir"), 0, "second message waits in the queue")

    mark = len(log)
    q.start()
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "after restart: delivered")
    time.sleep(0.3)
    t.ok("to local slow@example.test" not in q.logtext()[mark:], "the finished delivery is not repeated")
    q.stop()
    t.eq(q.proc.returncode, 0, "second clean exit")
t.done()
