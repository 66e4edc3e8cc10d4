#!/usr/bin/env python3
# SRS in a single-user instance (every role is the owner; control/srs is
# 0600, the owner's): a forward through ~alias/.qmail-fw to a remote
# address reaches the sink with the SRS0 sender Python's hmac computes, a
# bounce sent back over SMTP is reversed by srsreverse to the original
# sender, and a forged SRS address is refused at RCPT with 550.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srslib import SINK_IP, srs0, configure
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, wait
from remotelib import Sink, free_tcp_port
from smtpdlib import prepare, Server, Raw

t = Tap()
SECRET = "single-user secret"
D = "single.example.test"


def smtp(port, sender, rcpt, body=None):
    r = Raw(port)
    r.reply()
    r.cmd("EHLO bouncer.test")
    r.cmd("MAIL FROM:<%s>" % sender)
    code = r.cmd("RCPT TO:<%s>" % rcpt)[0]
    final = None
    if code == 250 and body:
        r.cmd("DATA")
        final = r.cmd(body.replace("\n", "\r\n") + ".")[0]
    r.cmd("QUIT")
    r.close()
    return code, final


u = TestUser(unique_user("srsu")) if IS_ROOT else None
sink = Sink(SINK_IP, port=free_tcp_port(SINK_IP))
try:
    sink.start()
    with Instance(t, name=D, mode="single", owner=u.name if u else None) as q:
        prepare(q)
        configure(q, [SECRET], sink.port)
        st = os.stat(q.path("control/srs"))
        t.ok(st.st_mode & 0o777 == 0o600, "control/srs is 0600 in a single-user instance", oct(st.st_mode))
        q.write("alias/.qmail-fw", "&friend@remote.test\n")
        q.start()
        want = srs0(SECRET, "alice@sender.test")
        t.eq(q.queue("Subject: s\n\nsingle-token\n", "alice@sender.test", ["fw@" + D]), 0, "queued")
        wait(lambda: any(b"single-token" in m.data for m in list(sink.messages)), 30)
        got = [m for m in list(sink.messages) if b"single-token" in m.data]
        t.ok(got and got[0].mailfrom == want, "forward has the SRS0 sender", (got and got[0].mailfrom, want, q.logtext()[-1500:]))
        with Server(q) as s:
            t.eq(smtp(s.port, "", want, "Subject: bounce\n\nsingle-bounce\n"), (250, 250), "bounce to the SRS0 address accepted")
            wait(lambda: any(b"single-bounce" in m.data for m in list(sink.messages)), 30)
            got = [m for m in list(sink.messages) if b"single-bounce" in m.data]
            t.ok(got and got[0].rcpts == ["alice@sender.test"] and got[0].mailfrom == "",
                 "reversed to alice@sender.test with the null sender", (got, q.logtext()[-1500:]))
            forged = want[:5] + ("x" if want[5] not in "xX" else "y") + want[6:]
            t.eq(smtp(s.port, "", forged)[0], 550, "forged SRS0 refused at RCPT")
        q.stop()
finally:
    sink.stop()
    if u:
        u.remove()
t.done()
