#!/usr/bin/env python3
# qmail-send's group commit of the 'D' marks, seen in its system calls
# (strace): a message to a slow program and to many quick Maildirs. The
# quick recipients' marks are fsynced together, a short while after they
# are written, while the slow delivery is still running (a crash then
# repeats at most the last moments' deliveries), not once per mark and not
# only when the message ends; the marks of a message that goes back to
# the schedule are fsynced before its file is closed; and the 'D' of a
# failed recipient comes after its bounce/N is fsynced.
import os, re, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "durability"))
sys.dont_write_bytecode = True
from nqtest import Tap, Instance, IS_ROOT
import straceparse as sp

t = Tap()
NAME = "example.test"
if not os.path.exists("/usr/bin/strace"):
    t.skip("group commit under strace", "needs strace")
    t.done()

with Instance(t, name=NAME) as q:
    q.write("alias/.qmail-quick-default", "./Maildir-quick/\n")
    q.write("alias/.qmail-slow", "|sleep 3\n")
    q.write("alias/.qmail-later", "|exit 111\n")
    q.maildirmake("alias/Maildir-quick")
    out = os.path.join(q.base, "send.strace")
    q.start(wrap=sp.trace_cmd(out))
    t.ok(q.wait(lambda: q.pids("qmail-send"), 10), "qmail-send runs under strace", q.logtext())
    N = 30
    rcpts = ["slow@" + NAME] + ["quick-%d@%s" % (i, NAME) for i in range(N)] + ["nosuch@" + NAME, "later@" + NAME]
    t.eq(q.queue("Subject: g\n\ngroup\n", "snd@" + NAME, rcpts), 0, "queued a message to %d recipients" % len(rcpts))
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-quick") == N, 60), "quick recipients delivered", q.logtext())
    t.ok(q.wait(lambda: len(re.findall(r"^delivery \d+: ", q.logtext(), re.M)) == len(rcpts), 60),
         "every delivery reported", q.logtext())
    q.stop()
    ev, parent = sp.parse(out, q.dir)
    S = [e["pid"] for e in ev if e["call"] == "exec" and e["path"] == q.bin("qmail-send")]
    if not t.ok(S, "qmail-send was traced"):
        t.done()
    S = S[0]
    qdir = q.path("queue")
    mine = [e for e in ev if e["pid"] == S]
    marks = [e for e in mine if e["call"] == "write" and e["data"] == b"D" and
             re.match(re.escape(qdir) + r"/local/\d+/\d+$", e["path"] or "")]
    t.ok(len(marks) >= N + 2, "a mark per finished recipient (%d)" % len(marks))
    F = marks[0]["path"] if marks else None
    syncs = [e for e in mine if e["call"] == "fsync" and e["path"] == F]
    # the slow delivery's report is the last mark (the deferral has none)
    last = marks[-1] if marks else None
    t.ok(marks and syncs and syncs[0]["i"] < last["i"],
         "the quick marks are fsynced while the slow delivery still runs", [str(e) for e in syncs])
    t.ok(syncs and len(syncs) < len(marks), "fewer fsyncs than marks: %d for %d marks" % (len(syncs), len(marks)))
    t.diag("%d marks, %d fsyncs of the local file" % (len(marks), len(syncs)))
    closes_after = [e for e in mine if e["call"] == "fsync" and e["path"] == F and e["i"] > last["i"]] if last else []
    t.ok(closes_after, "the last marks are fsynced when the message goes back to the schedule")
    # the failure's bounce/N before its mark
    bw = [e for e in mine if e["call"] == "fsync" and re.match(re.escape(qdir) + r"/bounce/\d+$", e["path"] or "")]
    t.ok(bw, "bounce/N fsynced")
    if bw:
        t.ok(any(mk["i"] > bw[0]["i"] for mk in marks), "a mark follows it")
t.done()
