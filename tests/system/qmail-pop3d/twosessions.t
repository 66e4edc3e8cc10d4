#!/usr/bin/env python3
# Two POP3 sessions on one Maildir, step by step, in the orders that
# concurrent.t does not take: both delete the same message and the
# second to QUIT is not told of an error; the session that QUITs first
# is the one that logged in last; a message DELEted by one session is
# still read whole by the other until that QUIT (deletions only at
# QUIT), and is then -ERR; a message delivered after a session listed is
# neither shown to it nor touched by its QUIT; a session dropped without
# QUIT changes nothing while the other goes on. After each step every
# message left is in the Maildir exactly once.
# smoke
import os, poplib, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3lib import Pop3Server, prepare, put_message, set_password
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user

t = Tap()
if not IS_ROOT:
    t.skip("two POP3 sessions", "needs root (system users, qmail-popup as root)")
    t.done()

PASSWORD = "two at once"


def name(i):
    return "10000000%02d.T%d.host" % (i, i)


def body(i):
    return b"Subject: m%d\n\nbody of message %d\n" % (i, i)


def session(port, user):
    p = poplib.POP3("127.0.0.1", port, timeout=30)
    p.user(user)
    p.pass_(PASSWORD)
    return p


def err(f, *a):
    """The -ERR text of f(*a), or None when it answered +OK."""
    try:
        f(*a)
        return None
    except poplib.error_proto as e:
        return str(e)


def bases(md):
    """Base names of every file in new/ and cur/, with repeats."""
    return sorted(n.split(":")[0] for s in ("new", "cur") for n in os.listdir(os.path.join(md, s)))


def uids(p):
    return [ln.split()[1].decode() for ln in p.uidl()[1]]


u = TestUser(unique_user("p2"))
try:
    set_password(u.name, PASSWORD)
    md = u.maildirmake()
    own = (u.uid, u.gid)
    for i in range(1, 7):
        put_message(md, name(i), body(i), owner=own)
    with Instance(t, name="example.test") as q:
        prepare(q)
        with Pop3Server(q, env={"POP3PLAINLOOPBACK": "1"}) as s:
            # 1. Both delete message 1; B logged in last and QUITs first.
            a = session(s.port, u.name)
            b = session(s.port, u.name)
            t.eq(uids(a), [name(i) for i in range(1, 7)], "A lists six")
            t.eq(uids(b), [name(i) for i in range(1, 7)], "B lists the same six")
            a.dele(1)
            b.dele(1)
            b.dele(2)
            t.ok(b.quit().startswith(b"+OK"), "B (last in) QUITs first: +OK")
            t.eq(bases(md), [name(i) for i in range(3, 7)], "B's QUIT removed 1 and 2, kept 3-6 once each")
            t.eq(sorted(os.listdir(md + "/new")), [], "and moved 3-6 to cur/")
            t.ok(err(a.retr, 2) and "no longer" in err(a.retr, 2), "A: RETR 2 (deleted by B): -ERR", err(a.retr, 2))
            t.eq(a.retr(3)[1][2], b"body of message 3", "A: RETR 3 (moved by B) reads it whole from cur/")
            t.eq(uids(a), [name(i) for i in range(2, 7)], "A's listing is unchanged by B's QUIT (same ids)")
            t.ok(a.quit().startswith(b"+OK"), "A QUITs after B: +OK, though message 1 is gone already")
            t.eq(bases(md), [name(i) for i in range(3, 7)], "nothing lost, nothing twice")

            # 2. A DELE does not hide the message from B until A's QUIT.
            a = session(s.port, u.name)
            b = session(s.port, u.name)
            a.dele(1)                                   # message 3
            t.eq(b.retr(1)[1][2], b"body of message 3", "B reads the message A has DELEted but not QUIT")
            t.ok(a.quit().startswith(b"+OK"), "A QUITs")
            t.ok(err(b.retr, 1) is not None, "after A's QUIT, B's RETR of it is -ERR", err(b.retr, 1))
            t.eq(b.retr(2)[1][2], b"body of message 4", "and B goes on with the others")
            t.ok(b.quit().startswith(b"+OK"), "B QUITs: +OK")
            t.eq(bases(md), [name(i) for i in range(4, 7)], "3 removed once; 4-6 there once")

            # 3. A message delivered after A listed is not A's.
            a = session(s.port, u.name)
            t.eq(a.stat()[0], 3, "A sees three")
            put_message(md, name(7), body(7), owner=own)
            b = session(s.port, u.name)
            t.eq(uids(b), [name(i) for i in range(4, 8)], "B, logged in later, sees the new one too")
            t.ok(b.quit().startswith(b"+OK"), "B QUITs (moving the new one to cur/)")
            t.eq(uids(a), [name(i) for i in range(4, 7)], "A still lists only its three")
            for i in (1, 2, 3):
                a.dele(i)
            t.ok(a.quit().startswith(b"+OK"), "A deletes its three and QUITs")
            t.eq(bases(md), [name(7)], "only the message A never saw is left, once")

            # 4. A session dropped without QUIT changes nothing.
            a = session(s.port, u.name)
            b = session(s.port, u.name)
            a.dele(1)
            a.sock.close()
            time.sleep(0.5)
            t.eq(b.stat()[0], 1, "B, meanwhile, sees the message")
            t.ok(b.quit().startswith(b"+OK"), "B QUITs")
            t.eq(bases(md), [name(7)], "A's DELE without QUIT removed nothing")
finally:
    u.remove()
t.done()
