#!/usr/bin/env python3
# qmail-inject run by an ordinary user in a root instance (qmail-queue
# set-uid qmailq writes the queue for it) and in a single-user instance
# owned by that user.
import os, pwd, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuepeek import Peek, base_env
from nqtest import Tap, Instance, TestUser, IS_ROOT

t = Tap()
if not IS_ROOT:
    with Instance(t, name="single.test") as q:
        p = Peek(q)
        r, m = p.inject("To: a\n\nb\n", env=base_env(USER="me"))
        t.ok(r.returncode == 0 and m and m[0].rcpts == ["a@single.test"] and m[0].uid == os.getuid(),
             "single-user instance (run as its owner)", r.stderr)
    t.done()

user = TestUser("nqinjuser")
try:
    with Instance(t, name="example.test") as q:
        p = Peek(q)
        r, m = p.inject("To: friend\nSubject: from a user\n\nhello\n", user=user.name,
                        env=base_env(USER=user.name, HOME=user.home))
        t.eq(r.returncode, 0, "root instance: an ordinary user injects", r.stderr)
        m = m[0] if m else None
        t.ok(m and m.uid == user.uid, "envelope records the user's uid", m and m.envelope)
        t.ok(m and m.sender == user.name + "@example.test" and m.rcpts == ["friend@example.test"],
             "sender and recipient completed", m and m.envelope)
        t.ok(m and m.header("From") == [user.name + "@example.test"], "From from USER", m and m.head)
        t.ok(m and ("invoked by uid %d" % user.uid) in m.head, "qmail-queue's Received line names the uid")
        t.ok(m and m.mess_uid == pwd.getpwnam("qmailq").pw_uid, "the queue file belongs to qmailq")

    with Instance(t, name="single.test", mode="single", owner=user.name) as q:
        p = Peek(q)
        r, m = p.inject("To: a, b@c+\n\nhi\n", env=base_env(USER=user.name))
        t.eq(r.returncode, 0, "single-user instance: its owner injects", r.stderr)
        m = m[0] if m else None
        t.ok(m and sorted(m.rcpts) == ["a@single.test", "b@c.single.test"] and m.uid == user.uid,
             "recipients completed with the instance's me", m and m.envelope)
        t.ok(m and m.mess_uid == user.uid, "the queue file belongs to the owner")
finally:
    user.remove()
t.done()
