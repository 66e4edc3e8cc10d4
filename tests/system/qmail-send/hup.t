#!/usr/bin/env python3
# qmail-send and SIGHUP: control/locals, control/virtualdomains and the
# concurrency limits are read again; until then the old values hold.
# An unreadable new file leaves the old values in force.
import os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()


def hup(q):
    q.send_pid_signal(signal.SIGHUP)
    time.sleep(0.3)


with Instance(t, name="example.test") as q:
    # remote recipients must stay here: no qmail-rspawn (and no DNS)
    if os.path.exists(q.bin("qmail-rspawn")):
        os.unlink(q.bin("qmail-rspawn"))
    q.write("alias/.qmail-y", "./Maildir/\n")
    q.write("alias/.qmail-vu-default", "./Maildir/\n")
    q.start()

    q.queue("Subject: 1\n\n1\n", "joe@far.test", ["y@new.test"])
    t.ok(q.wait(lambda: re.search(r"^starting delivery \d+: msg \d+ to remote y@new\.test$", q.logtext(), re.M)),
         "new.test is not local yet: remote")
    q.control("locals", "example.test\nnew.test")
    q.control("virtualdomains", "virt.test:vu")
    q.control("concurrencylocal", "3")
    q.queue("Subject: 2\n\n2\n", "joe@far.test", ["y@new.test", "z@virt.test"])
    time.sleep(1)
    t.ok(re.search(r"to remote z@virt\.test$", q.logtext(), re.M), "before SIGHUP: the old virtualdomains")
    hup(q)
    q.queue("Subject: 3\n\n3\n", "joe@far.test", ["y@new.test", "z@virt.test"])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 2), "after SIGHUP: delivered locally", q.logtext())
    log = q.logtext()
    t.ok(re.search(r"^starting delivery \d+: msg \d+ to local y@new\.test$", log, re.M), "locals reread")
    t.ok(re.search(r"^starting delivery \d+: msg \d+ to local vu-z@virt\.test$", log, re.M), "virtualdomains reread")
    t.ok(re.search(r"^status: local \d+/3 remote \d+/20$", log, re.M), "concurrencylocal reread")

    # an unreadable control file at SIGHUP: alert, old values kept
    if q.mode == "root":
        # run as root, qmail-send is qmails: a mode 000 file is unreadable to it
        p = q.control("virtualdomains", "virt.test:other")
        os.chmod(p, 0)
        hup(q)
        t.ok(q.wait(lambda: "alert: unable to reread controls: control/virtualdomains" in q.logtext(), 5),
             "unreadable file: alert", q.logtext())
        q.queue("Subject: 4\n\n4\n", "joe@far.test", ["z@virt.test"])
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 3), "old virtualdomains still in force")
        os.chmod(p, 0o644)
    else:
        t.skip("unreadable file: alert", "needs root")
        t.skip("old virtualdomains still in force", "needs root")
t.done()
