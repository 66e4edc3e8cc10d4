#!/usr/bin/env python3
# qmailctl under daemontools, root instance: start runs svscan on
# DIR/service (supervise, multilog as qmaill, qmail-send as qmails), then
# stat, flush, doqueue, alrm, pause, cont, hup, queue, restart and stop,
# after which nothing of the instance runs.
import os, shutil, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, IS_ROOT
from ctl import exercise, cleanup

t = Tap()
if not shutil.which("svscan"):
    t.skip("qmailctl with daemontools", "daemontools is not installed")
    t.done()
with Instance(t, name="ctl.example.test") as q:
    try:
        exercise(t, q, daemontools=True)
    finally:
        cleanup(q)
t.done()
