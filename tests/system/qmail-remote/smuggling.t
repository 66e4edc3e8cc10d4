#!/usr/bin/env python3
# No outbound smuggling (issue 5): whatever bytes the queue holds, what
# qmail-remote sends after DATA is CRLF lines, a line starting with '.'
# is dot-stuffed after the line-end conversion, and the only CRLF.CRLF is
# the one that ends the message. Each hostile message below reaches the
# sink (127.0.0.50) as exactly one message, and a second transaction
# hidden in it never happens. Also checked: the exact bytes for the
# conversions (LF, CR LF, bare CR, a missing final line end).
# smoke
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, remote, MXROUTE

t = Tap()
HIDE = b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@far.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"
CASES = [
    ("\\r.\\r", b"Subject: a\n\nbody\r.\r" + HIDE + b".\r\n"),
    ("\\n.\\n", b"Subject: a\n\nbody\n.\n" + HIDE + b".\n"),
    ("\\r\\n.\\n", b"Subject: a\n\nbody\r\n.\n" + HIDE + b"\r\n.\n"),
    ("\\n.\\r\\n", b"Subject: a\n\nbody\n.\r\n" + HIDE + b"\n.\r\n"),
    ("\\r\\n.\\r\\n", b"Subject: a\r\n\r\nbody\r\n.\r\n" + HIDE + b"\r\n.\r\n"),
    ("\\r\\n.\\r", b"Subject: a\n\nbody\r\n.\r" + HIDE + b"\r\n.\r"),
    ("bare CR and LF everywhere", b"Subject: a\r\rb\n\n.\r.\n.\r\n..\r\r\n.x\r" + HIDE),
    ("a lone dot first", b".\r\n" + HIDE),
]

with Instance(t, name="example.test") as q, Dns(["mx-host=far.test,mx.far.test,10", "host-record=mx.far.test,127.0.0.50"]) as d:
    q.control("dnsservers", d.server_line())
    q.control("smtproutes", MXROUTE)
    with Sink("127.0.0.50") as s:
        for name, msg in CASES:
            s.messages.clear()
            s.sessions.clear()
            reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], msg)
            t.eq([l for l, _ in reps], ["r", "K"], name + ": delivered", reps)
            t.eq(len(s.messages), 1, name + ": exactly one message at the peer", s.messages)
            data = s.messages[0].data if s.messages else b""
            lines = data.split(b"\r\n")
            t.ok(data.endswith(b"\r\n") and all(b"\r" not in l and b"\n" not in l for l in lines),
                 name + ": only CRLF line ends", data)
            t.ok(all(not l.startswith(b".") or l.startswith(b"..") for l in lines), name + ": every leading dot stuffed", data)
            cmds = [c for x in s.sessions for c in x.cmds]
            t.ok(not any("evil" in c or "victim" in c for c in cmds), name + ": no second transaction", cmds)

        # the exact conversion
        s.messages.clear()
        remote(q, "far.test", "joe@example.test", ["a@far.test"], b"A: 1\n\nx\r\ny\rz\n.q\nlast")
        t.eq(s.messages[0].data if s.messages else None, b"A: 1\r\n\r\nx\r\ny\r\nz\r\n..q\r\nlast\r\n",
             "on the wire: LF, CRLF and bare CR each one CRLF, .q stuffed, a final line end added")
t.done()
