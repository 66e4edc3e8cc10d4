#!/usr/bin/env python3
# qmailctl without daemontools (NQ_NO_DAEMONTOOLS=1): start runs
# qmail-start directly in a session of its own, logging to
# DIR/log/qmail-send/current; every verb works by signals; stop leaves
# nothing running.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from ctl import exercise, cleanup, ctl

t = Tap()
env = {"NQ_NO_DAEMONTOOLS": "1"}
with Instance(t, name="direct.example.test") as q:
    try:
        # An instance without a name is refused before anything starts.
        for f in ("me", "locals"):
            os.rename(q.path("control/" + f), q.path("control/" + f + ".away"))
        r = ctl(q, "start", env)
        t.eq(r.returncode, 111, "start without control/me exits 111")
        t.ok(b"config-fast" in r.stderr, "and says to run config-fast", r.stderr)
        t.ok(not q.send_pids(), "nothing started")
        for f in ("me", "locals"):
            os.rename(q.path("control/" + f + ".away"), q.path("control/" + f))
        exercise(t, q, daemontools=False, env_extra=env)
    finally:
        cleanup(q, env)
t.done()
