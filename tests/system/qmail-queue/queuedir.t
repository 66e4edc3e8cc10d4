#!/usr/bin/env python3
# A damaged instance: qmail-queue exits with qmail's code for each missing
# piece and says which on stderr, leaving nothing half-written: 61 the
# instance directory, 62 queue/, 55 users/ids (it needs the role uids
# for its Received line), 63 queue/pid, 64 queue/mess/S, 65 queue/intd,
# 66 queue/todo. After each, pid/ mess/ intd/ todo/ hold nothing.
import os, shutil, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qqlib import qq, envelope, leftovers, clear
from nqtest import Tap, Instance, IS_ROOT

t = Tap()
NAME = "example.test"
ENV = envelope("s@example.test", ["r@example.test"])

with Instance(t, name=NAME) as q:
    def gone(rel, code, words):
        p = q.path(rel)
        os.rename(p, p + ".gone")
        try:
            if rel == "queue/mess":
                os.mkdir(p)            # mess/ there, every mess/S missing
            rc, err = qq(q, ENV)
        finally:
            if rel == "queue/mess":
                os.rmdir(p)
            os.rename(p + ".gone", p)
        t.eq(rc, code, "%s missing: exit %d" % (rel, code))
        t.ok(words in err and err.startswith("qmail-queue: "), "%s missing: the message says so" % rel, err)
        t.eq(leftovers(q), [], "%s missing: nothing left behind" % rel)
        clear(q)

    gone("queue", 62, "queue")
    gone("users/ids", 55, "users/ids")
    gone("queue/pid", 63, "pid/")
    gone("queue/mess", 64, "mess/")
    gone("queue/intd", 65, "intd/")
    gone("queue/todo", 66, "todo/")

    # 61: a copy of qmail-queue that is not set-id honours NQMAIL_HOME, and
    # that one names a directory that does not exist.
    copy = os.path.join(q.base, "qq-copy")
    shutil.copy(q.bin("qmail-queue"), copy)
    os.chmod(copy, 0o755)
    env = dict(os.environ, NQMAIL_HOME=os.path.join(q.base, "no-such-instance"))
    rc, err = qq(q, ENV, prog=copy, env_vars=env, user=q.as_owner())
    t.eq(rc, 61, "instance directory missing: exit 61")
    t.ok("no-such-instance" in err, "and the message names it", err)

    # With everything back in place it works again.
    rc, err = qq(q, ENV)
    t.eq(rc, 0, "repaired instance: exit 0", )
    clear(q)
t.done()
