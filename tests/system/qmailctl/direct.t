#!/usr/bin/env python3
# qmailctl without daemontools (NQ_NO_DAEMONTOOLS=1): start runs
# qmail-start directly in a session of its own, logging to
# DIR/log/qmail-send/current; every verb works by signals; stop leaves
# nothing running.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from ctl import exercise, cleanup

t = Tap()
env = {"NQ_NO_DAEMONTOOLS": "1"}
with Instance(t, name="direct.example.test") as q:
    try:
        exercise(t, q, daemontools=False, env_extra=env)
    finally:
        cleanup(q, env)
t.done()
