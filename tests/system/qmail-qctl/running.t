#!/usr/bin/env python3
# smoke
# qmail-qctl beside a running qmail-send. A qmail-send without lock/qctl
# open (src/mail/qctl.h; here: the pipe is missing) makes every change
# refused, exit 111, with a message saying to stop it; list still works.
# One that reads it: a held message gets no delivery, even after ALRM,
# and is delivered at once when released; a delete finishes the message
# at once, without a bounce; a bounce is sent at once; a delete waits for
# a delivery in progress (the channel lock); a requeue makes a deferred
# message be tried now, even one whose delivery is running; a held message
# still ages and bounces when released after queuelifetime.
import os, signal, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtools import start, stop, queue_msgs, preprocess, records, qctl, info, set_age, send_reads_qctl
from nqtest import Tap, Instance, run, wait

t = Tap()
NAME = "example.test"
PM = "postmaster@" + NAME

with Instance(t, name=NAME) as q:
    run([q.bin("qmail-qfix")])          # hold/ and lock/qctl, if setup did not make them
    ids = queue_msgs(q, [(PM, [PM]), (PM, ["r1@far.example"]), (PM, ["r2@far.example"]),
                         (PM, ["r3@far.example"])])
    held, dele, bnc, rq = ids
    # hold one while qmail-send is stopped, so it is never delivered
    rc, out, err = qctl(q, "hold", str(held))
    t.ok(rc == 111 and "not taken it from todo" in err, "a message still in todo/ is not changed", err)
    t.ok(preprocess(q, ids), "messages taken in", q.logtext())
    rc, out, err = qctl(q, "hold", str(held))
    t.eq(rc, 0, "held with qmail-send stopped", err)
    q.control("concurrencylocal", "10")

    # a qmail-send that cannot read lock/qctl: changes are refused
    fifo = q.path("queue/lock/qctl")
    os.rename(fifo, fifo + ".away")
    stale = q.path("queue/hold/%d" % (max(ids) + 1000))    # a number no message has
    with open(stale, "w"):
        pass
    try:
        t.ok(not start(q), "without lock/qctl qmail-send does not read requests")
        t.ok("warning: unable to open lock/qctl" in q.logtext(), "and says so in its log", q.logtext())
        t.ok(not os.path.exists(stale) and os.path.exists(q.path("queue/hold/%d" % held)),
             "at start a hold file without its message is removed, the others kept")
        os.rename(fifo + ".away", fifo)
        rc, out, err = qctl(q, "delete", str(dele))
        t.eq(rc, 111, "changes are refused while this qmail-send runs", err)
        t.ok("does not read queue/lock/qctl" in err and "stop qmail-send" in err, "and the message says why", err)
        t.eq(records(q, "remote", dele), [("T", "r1@far.example")], "nothing was changed")
        t.ok("msg %d to local" % held not in q.logtext(), "the held message got no delivery meanwhile", q.logtext())
        stop(q)
    finally:
        if os.path.exists(fifo + ".away"):
            os.rename(fifo + ".away", fifo)

    t.ok(start(q), "qmail-send holds lock/qctl open", q.logtext())
    rc, out, err = qctl(q, "list")
    t.eq(rc, 0, "list works while qmail-send runs", err)
    time.sleep(1)
    q.send_pid_signal(signal.SIGALRM)
    time.sleep(1)
    t.ok("msg %d to local" % held not in q.logtext(), "a held message gets no delivery, even after ALRM", q.logtext())
    before = q.maildir_count("alias/Maildir")
    rc, out, err = qctl(q, "release", str(held))
    t.eq((rc, out), (0, "#%d released\n" % held), "release", err)
    t.ok(wait(lambda: "end msg %d\n" % held in q.logtext(), 10), "released: delivered at once", q.logtext())

    rc, out, err = qctl(q, "delete", str(dele))
    t.eq((rc, out), (0, "#%d deleted 1 recipient, 0 left\n" % dele), "delete while running", err)
    t.ok(wait(lambda: "end msg %d\n" % dele in q.logtext(), 10), "deleted: finished at once", q.logtext())

    rc, out, err = qctl(q, "bounce", str(bnc))
    t.eq(rc, 0, "bounce while running", err)
    t.ok(wait(lambda: "end msg %d\n" % bnc in q.logtext(), 10), "bounced: finished at once", q.logtext())
    t.ok(wait(lambda: any("<r3@far.example>" not in x and "<r2@far.example>" in x and "postmaster" in x
                          for x in q.maildir_texts("alias/Maildir")), 10),
         "the bounce arrives; no bounce for the deleted one",
         "\n".join(q.maildir_texts("alias/Maildir")))
    t.ok(not any("<r1@far.example>" in x for x in q.maildir_texts("alias/Maildir")), "no bounce for r1")

    # a delivery in progress: a requeue makes it go again once it has
    # reported; qmail-qctl's delete waits for it (the channel lock)
    q.write("alias/.qmail-slow", "|sleep 3; exit 111\n")
    slow = queue_msgs(q, [(PM, ["slow@" + NAME])])[0]
    # (numbers are inodes: a finished message's number comes back)
    started = "msg %d to local slow@" % slow
    t.ok(wait(lambda: started in q.logtext(), 10), "slow delivery started", q.logtext())
    rc, out, err = qctl(q, "requeue", str(slow))
    t.eq((rc, out), (0, "#%d requeued\n" % slow), "requeue while its delivery runs", err)
    t.ok(wait(lambda: q.logtext().count(started) >= 2, 10),
         "deferred, then tried again at once, not at its retry time", q.logtext())
    rc, out, err = qctl(q, "delete", "-w", "0", str(slow))
    t.ok(rc == 111 and "in progress" in err, "-w 0: busy message refused at once", err)
    t0 = time.time()
    rc, out, err = qctl(q, "delete", str(slow))
    took = time.time() - t0
    log = q.logtext()
    t.eq(rc, 0, "delete of a message being delivered", err)
    t.ok(took > 1 and ": deferral:" in log[log.index(started):],
         "it waited until the delivery had reported", "took %.1f s\n%s" % (took, log))
    t.ok(wait(lambda: "end msg %d\n" % slow in q.logtext(), 10), "and the message then finished", q.logtext())

    # hold while running: no delivery even after ALRM, until released
    rc, out, err = qctl(q, "hold", str(rq))
    t.eq((rc, out), (0, "#%d held\n" % rq), "hold while running", err)
    n = q.logtext().count("msg %d to remote" % rq)
    q.send_pid_signal(signal.SIGALRM)
    time.sleep(1.5)
    t.eq(q.logtext().count("msg %d to remote" % rq), n, "held: not tried after ALRM", q.logtext())
    rc, out, err = qctl(q, "release", str(rq))
    t.eq(rc, 0, "release while running", err)
    t.ok(wait(lambda: q.logtext().count("msg %d to remote" % rq) > n, 10), "released: tried at once", q.logtext())

    wait(lambda: q.logtext().count(": deferral:") + q.logtext().count(": success:") + q.logtext().count(": failure:")
         >= q.logtext().count("starting delivery"), 10)
    n = q.logtext().count("msg %d to remote" % rq)
    rc, out, err = qctl(q, "requeue", str(rq))
    t.eq(rc, 0, "requeue while running", err)
    t.ok(wait(lambda: q.logtext().count("msg %d to remote" % rq) > n, 10), "requeued: tried again at once", q.logtext())

    # a held message still ages: released after queuelifetime, it is
    # tried once more and bounced
    wait(lambda: q.logtext().count(": deferral:") + q.logtext().count(": success:") + q.logtext().count(": failure:")
         >= q.logtext().count("starting delivery"), 10)
    rc, out, err = qctl(q, "hold", str(rq))
    t.eq(rc, 0, "hold again", err)
    set_age(q, rq, 700000)              # past the default queuelifetime (604800)
    rc, out, err = qctl(q, "release", str(rq))
    t.eq(rc, 0, "release after queuelifetime", err)
    t.ok(wait(lambda: "end msg %d\n" % rq in q.logtext(), 10), "tried once more, then finished", q.logtext())
    t.ok(wait(lambda: any("<r3@far.example>" in x and "too long" in x for x in q.maildir_texts("alias/Maildir")), 10),
         "and bounced as too old", "\n".join(q.maildir_texts("alias/Maildir")))
t.done()
