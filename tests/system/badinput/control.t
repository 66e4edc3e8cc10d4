#!/usr/bin/env python3
# Unreadable and broken control files give a clear error, never a silent
# default or a crash:
#  - control/me mode 000: qmail-inject run by an ordinary user exits 111
#    with a message, and queues nothing;
#  - control/concurrencylocal mode 000: qmail-send (running as qmails,
#    which really cannot read it) refuses to start, says so, exits 111;
#  - control/concurrencylocal "abc": qmail-send either refuses to start or
#    logs a warning naming the file; on SIGHUP a running qmail-send keeps
#    running, warns, and still delivers.
import os, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, wait

t = Tap()
NAME = "example.test"
if not IS_ROOT:
    t.skip("unreadable control files", "needs root to make the error real for another user")
    t.done()
u = TestUser(unique_user("c"))
try:
    with Instance(t, name=NAME) as q:
        q.write("alias/.qmail-x", "./Maildir/\n")
        os.chmod(q.path("control/me"), 0)
        r = q.inject("To: x@%s\n\nunreadable-me\n" % NAME, user=u.name)
        t.eq(r.returncode, 111, "qmail-inject with control/me unreadable exits 111")
        t.ok(r.stderr.strip(), "and says why", r.stderr)
        t.eq(q.queue_files(), [], "and queues nothing")
        os.chmod(q.path("control/me"), 0o644)

        os.chmod(q.path("control/concurrencylocal") if os.path.exists(q.path("control/concurrencylocal"))
                 else q.control("concurrencylocal", "10"), 0)
        q.start()
        t.ok(wait(lambda: q.proc.poll() is not None, 10), "qmail-send does not run with concurrencylocal unreadable",
             q.logtext())
        rc = q.proc.poll()
        t.ok(rc is not None and rc > 0, "it exits with an error status (%r), not a signal" % rc)
        log = q.logtext()
        t.ok("concurrencylocal" in log, "the log names control/concurrencylocal", log)
        q.stop()
        q.kill_daemons()

        os.chmod(q.path("control/concurrencylocal"), 0o644)
        q.control("concurrencylocal", "abc")
        mark = len(q.logtext())
        q.start()
        time.sleep(1)
        log = q.logtext()[mark:]
        running = q.proc.poll() is None
        t.ok("concurrencylocal" in log, "concurrencylocal 'abc': qmail-send names the file (%s)"
             % ("running, warned" if running else "refused to start"), log)
        if not running:
            t.ok(q.proc.poll() > 0, "refusal is an exit with an error status, not a signal", q.proc.poll())
        q.stop()
        q.kill_daemons()

        q.control("concurrencylocal", "5")
        q.start()
        t.ok(q.pids("qmail-send"), "qmail-send runs with a good concurrencylocal", q.logtext())
        mark = len(q.logtext())
        q.control("concurrencylocal", "abc")
        q.send_pid_signal(signal.SIGHUP)
        time.sleep(1)
        t.ok(q.pids("qmail-send") and q.proc.poll() is None, "after SIGHUP with a broken file qmail-send keeps running")
        t.ok("concurrencylocal" in q.logtext()[mark:], "and logs a warning naming concurrencylocal", q.logtext()[mark:])
        r = q.inject("To: x@%s\n\nstill-delivers\n" % NAME)
        t.ok(q.wait(lambda: any("still-delivers" in x for x in q.maildir_texts("alias/Maildir")), 30),
             "and still delivers", q.logtext())
finally:
    u.remove()
t.done()
