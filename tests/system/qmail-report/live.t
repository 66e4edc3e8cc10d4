#!/usr/bin/env python3
# qmail-report on the log of a real instance, written by multilog with
# tai64n stamps (root mode: the logger runs as qmaill): three deliveries,
# a failure whose bounce fails too (a double bounce to the postmaster),
# and a remote recipient that is deferred and stays queued.
import os, re, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reportlib import kv, table
from nqtest import Tap, Instance, IS_ROOT

t = Tap()
if not IS_ROOT:
    t.skip("live instance with multilog", "needs root (the logger runs as qmaill)")
    t.done()
    sys.exit(0)

with Instance(t, name="example.test") as q:
    logdir = os.path.join(q.base, "log")
    os.mkdir(logdir)
    uid, gid = q.role_ids()["qmaill"]
    os.chown(logdir, uid, gid)
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.start(logger=["multilog", "t", logdir])
    for i in range(3):
        q.queue("Subject: %d\n\nbody\n" % i, "joe@example.test", ["x@example.test"])
    q.queue("Subject: bad\n\nbody\n", "joe@example.test", ["nosuch@example.test"])
    q.queue("Subject: far\n\nbody\n", "joe@example.test", ["r@far.test"])
    cur = os.path.join(logdir, "current")

    def logtext():
        try:
            with open(cur, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
    # three to x, and the double bounce to the postmaster (alias)
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 4, 30), "deliveries done", logtext())
    t.ok(q.wait(lambda: "deferral" in logtext() and logtext().count("end msg") >= 6, 20), "log complete", logtext())
    q.stop()
    r = subprocess.run([q.bin("qmail-report"), cur], capture_output=True, timeout=60)
    out = r.stdout.decode()
    d = kv(out)
    t.eq(r.returncode, 0, "exit 0", r.stderr)
    t.ok(re.match(r"qmail-report: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d to ", out), "period from the tai64n stamps", out)
    t.eq((d.get("Messages received (new msg)"), d.get("Completed messages"), d.get("Messages still in the queue at the end")),
         ("7", "6", "1"), "messages: 5 queued + bounce + double bounce; the remote one still queued", out)
    t.eq((d.get("success"), d.get("failure")), ("4", "2"), "success and failure counts")
    t.ok(int(d.get("deferral", "0")) >= 1 and d.get("Remote results", "").startswith("success 0, failure 0, deferral "),
         "the remote recipient was deferred")
    t.eq((d.get("Bounces sent"), d.get("Double bounces sent")), ("1", "1"), "a bounce and a double bounce")
    t.eq(d.get("Lines without a time stamp"), "0", "every line stamped")
    fr = table(out, "Top failure reasons") or []
    t.ok(fr and fr[0][0] == "2" and "mailbox" in " ".join(fr[0]), "failure reason counted", fr)
    dd = table(out, "Top deferring destinations") or []
    t.ok(dd and dd[0][-1] == "far.test", "far.test defers", dd)
t.done()
