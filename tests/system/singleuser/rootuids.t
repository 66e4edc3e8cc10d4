#!/usr/bin/env python3
# Root mode: every process runs under its qmail uid. qmail-send as qmails,
# qmail-clean as qmailq, qmail-lspawn as root, the logger qmail-start runs
# as qmaill, a delivery for the alias user as alias; the uids come from
# DIR/users/ids and match the password file.
import os, pwd, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT, proc_uid

t = Tap()
if not IS_ROOT:
    t.skip("root-mode uids", "needs root")
    t.done()
NAME = "example.test"
with Instance(t, name=NAME) as q:
    ids = q.role_ids()
    for role in ("alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails"):
        t.eq(ids.get(role, (None,))[0], pwd.getpwnam(role).pw_uid, "users/ids: %s" % role)
    q.write("alias/.qmail-who", "|id -u > ./who.out\n")
    # The logger is `cat`: it writes what qmail-send logs to qmail-start's stdout.
    q.start(logger=["cat"])
    t.ok(q.wait(lambda: q.pids("qmail-send") and q.pids("qmail-clean") and q.pids("qmail-lspawn"), 10),
         "the daemons run", q.logtext())
    want = {"qmail-send": "qmails", "qmail-clean": "qmailq", "qmail-lspawn": "root", "qmail-rspawn": "qmailr"}
    for prog, user in want.items():
        pids = q.pids(prog)
        if not pids and prog == "qmail-rspawn":
            t.skip("qmail-rspawn runs as qmailr", "no qmail-rspawn yet")
            continue
        t.ok(pids and all(proc_uid(p) == pwd.getpwnam(user).pw_uid for p in pids),
             "%s runs as %s" % (prog, user), [(p, proc_uid(p)) for p in pids])
    logger = [p for p in q.session_procs() if p["exe"] and os.path.basename(p["exe"]) == "cat"]
    t.ok(logger and all(p["uid"] == pwd.getpwnam("qmaill").pw_uid for p in logger),
         "the logger runs as qmaill", q.session_procs())
    r = q.inject("To: who@%s\n\nwho\n" % NAME)
    out = q.path("alias/who.out")
    t.ok(q.wait(lambda: os.path.exists(out) and open(out).read().strip(), 30), "program delivery ran", q.logtext())
    if os.path.exists(out):
        t.eq(open(out).read().strip(), str(pwd.getpwnam("alias").pw_uid), "the alias delivery runs as alias")
    t.ok("status:" in q.logtext() or "new msg" in q.logtext(), "qmail-send's log reaches the logger", q.logtext())
t.done()
