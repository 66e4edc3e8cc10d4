#!/usr/bin/env python3
# qmail-qstat prints exactly qmail's two lines: "messages in queue: N"
# (files under mess/S/) and "messages in queue but not yet preprocessed:
# M" (files in todo/), as root and in a single-user instance as its
# owner; anyone else is told it needs root or group qmail, exit 111.
# smoke
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-queue"))
from qqlib import qq, envelope, todo_numbers
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run

t = Tap()
NAME = "example.test"


def qstat(q, user=None):
    r = run([q.bin("qmail-qstat")], user=user if user is not None else q.as_owner())
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def lines(n, m):
    return "messages in queue: %d\nmessages in queue but not yet preprocessed: %d\n" % (n, m)


def check(q, who, stranger=None):
    t.eq(qstat(q)[:2], (0, lines(0, 0)), "%s: empty queue" % who)
    for i in range(3):
        qq(q, envelope("s@x", ["r@x"]))
    t.eq(qstat(q)[:2], (0, lines(3, 3)), "%s: three messages queued, none preprocessed" % who)
    # qmail-send preprocessed one: qmail-clean removed its todo/ and intd/.
    n = todo_numbers(q)[0]
    r = run([q.bin("qmail-clean")], input=b"t%d\0" % n, user="qmailq" if q.mode == "root" and IS_ROOT else q.as_owner())
    t.eq(r.stdout, b"+", "%s: qmail-clean took todo/%d" % (who, n))
    t.eq(qstat(q)[:2], (0, lines(3, 2)), "%s: one preprocessed" % who)
    if stranger:
        rc, out, err = qstat(q, stranger)
        t.eq((rc, out), (111, ""), "%s: another user: exit 111, no counts" % who)
        t.ok("root" in err and "qmail-qstat: " in err, "%s: and is told why" % who, err)


users = []
try:
    if IS_ROOT:
        u = TestUser(unique_user("qq"))
        users.append(u)
        with Instance(t, name=NAME) as q:
            check(q, "root", u.name)
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qo"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user")
finally:
    for u in users:
        u.remove()
t.done()
