#!/usr/bin/env python3
# A milter that is down, hangs, or sends garbage never crashes qmail-smtpd
# and never lets mail through unchecked unless the admin said so: with the
# default (onfail=tempfail) the mail is refused with 451 and nothing is
# queued; with onfail=accept the milter is left out and the mail goes on.
# A malformed control/milters stops qmail-smtpd with 421. Also in a
# single-user instance.
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from milterlib import MilterServer, prepare, Server, queued, clear, use, send, Txn
from nqtest import Tap, Instance, TestUser, unique_user, IS_ROOT
from smtpdlib import free_port

t = Tap()
GOOD = "postmaster@example.test"


def check(q, s, name, want_mail, want_data, n):
    clear(q)
    got = send(s.port)
    t.eq(got["greeting"], 220, "%s: greeting" % name, got["text"])
    t.eq(got["mail"], want_mail, "%s: MAIL" % name, got["text"])
    if want_data is not None:
        t.eq(got["data"], want_data, "%s: DATA" % name, got["text"])
    t.eq(len(queued(q)), n, "%s: %d queued" % (name, n))
    return got


with Instance(t, name="example.test") as q, MilterServer() as m:
    prepare(q)
    q.control("rcpthosts", "example.test\n")
    q.write("alias/.qmail-default", "./Maildir/\n")   # every local address exists
    dead = free_port()
    use(q, dead)
    with Server(q) as s:
        check(q, s, "milter down, default", 451, None, 0)
        t.ok("connection failed at negotiation; mail refused for now (onfail=tempfail)" in s.log(), "logged", s.log()[-800:])
    use(q, "inet:127.0.0.1:%d onfail=accept" % dead)
    with Server(q) as s:
        check(q, s, "milter down, onfail=accept", 250, 250, 1)
    use(q, "unix:%s/nosuch.sock" % q.base)
    with Server(q) as s:
        check(q, s, "unix socket missing", 451, None, 0)

    use(q, m)
    with Server(q) as s:
        for bad in ("garbage", "huge", "close", "unknown"):
            m.script = {"mail": bad}
            check(q, s, "MAIL answered with %s" % bad, 451, None, 0)
        for bad in ("garbage", "huge", "close"):
            m.script = {"eom": bad}
            check(q, s, "end of message answered with %s" % bad, 250, 451, 0)
        m.script = {"optneg": "garbage"}
        check(q, s, "negotiation answered with garbage", 451, None, 0)
        m.script = {"connect": "garbage"}
        check(q, s, "CONNECT answered with garbage", 451, None, 0)
        m.script = {"version": 1}
        check(q, s, "protocol version 1", 451, None, 0)
        m.script = {"rcpt": "progress"}
        got = check(q, s, "progress packets then continue", 250, 250, 1)

    use(q, "inet:127.0.0.1:%d timeout=2" % m.port)
    with Server(q) as s:
        m.script = {"rcpt": "hang"}
        t0 = time.time()
        clear(q)
        got = send(s.port)
        t.eq(got["rcpt"], [451], "a milter that hangs: 451 after its timeout", got["text"])
        t.ok(time.time() - t0 < 15, "within the timeout (2 s), not the milter's minute")
    use(q, "inet:127.0.0.1:%d timeout=2 onfail=accept" % m.port)
    with Server(q) as s:
        m.script = {"eom": "hang"}
        check(q, s, "a milter that hangs, onfail=accept", 250, 250, 1)
        m.script = {"eom": "garbage"}
        check(q, s, "garbage, onfail=accept", 250, 250, 1)

    # a milter on a unix socket, reachable by qmaild
    sock = os.path.join(q.base, "milter.sock")
    with MilterServer({"eom_actions": [["addheader", "X-Unix", "yes"]]}, unix=sock) as mu:
        use(q, "unix:" + sock)
        with Server(q) as s:
            clear(q)
            got = send(s.port)
            t.eq(got["data"], 250, "unix socket milter: accepted", got["text"])
            msgs = queued(q)
            t.ok(msgs and "X-Unix: yes" in msgs[0].head, "unix socket milter: its field is there")

    use(q, "inet:127.0.0.1:%d onfail=sometimes" % m.port)
    with Server(q) as s:
        x = Txn(s.port, helo=None)
        t.eq(x.greeting[0], 421, "malformed control/milters: 421", x.greeting)
        x.r.close()
        t.ok("control/milters" in s.log(), "the log names control/milters", s.log()[-500:])

# single-user mode: the milter works the same for an instance of one user
if IS_ROOT:
    with TestUser(unique_user("mlt")) as u, MilterServer() as m:
        with Instance(t, name="example.test", mode="single", owner=u.name) as q:
            prepare(q)
            q.control("rcpthosts", "example.test\n")
            q.write("alias/.qmail-default", "./Maildir/\n")   # every local address exists
            use(q, m)
            with Server(q) as s:
                m.script = {"eom_actions": [["addheader", "X-Single", "yes"]]}
                clear(q)
                got = send(s.port)
                t.eq(got["data"], 250, "single-user: accepted", got["text"])
                msgs = queued(q)
                t.ok(msgs and "X-Single: yes" in msgs[0].head, "single-user: the milter's field is there")
                m.script = {"rcpt": "reject"}
                got = send(s.port)
                t.eq(got["rcpt"], [550], "single-user: RCPT refused by the milter")
else:
    t.skip("single-user instance", "needs root to make a test user")

t.done()
