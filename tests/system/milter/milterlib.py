"""milterlib: helpers for the milter tests of qmail-smtpd.

A test starts the scripted milter (tests/system/lib/miltersrv.py) in its
own process as a thread, names it in control/milters, runs qmail-smtpd
under tcpserver (tests/system/qmail-smtpd/smtpdlib.py) and talks SMTP by
hand, so that each stage's reply code can be checked. The script can be
changed between sessions: the milter reads it at each connection.
"""
import os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-smtpd"))
from miltersrv import MilterServer  # noqa: E402,F401
from smtpdlib import prepare, Server, Raw, queued, clear, queue_empty  # noqa: E402,F401


def use(q, *milters):
    """control/milters: each argument a MilterServer, a port, or a line."""
    lines = []
    for m in milters:
        if isinstance(m, MilterServer):
            lines.append("inet:127.0.0.1:%d" % m.port)
        elif isinstance(m, int):
            lines.append("inet:127.0.0.1:%d" % m)
        else:
            lines.append(m)
    q.control("milters", "\n".join(lines) + "\n")


class Txn:
    """One SMTP session by hand, recording every reply."""

    def __init__(self, port, helo="client.test"):
        self.r = Raw(port)
        self.greeting = self.r.reply()
        self.helo = None
        if helo and self.greeting[0] == 220:
            self.helo = self.r.cmd("EHLO " + helo)

    def mail(self, sender="s@a.test"):
        return self.r.cmd("MAIL FROM:<%s>" % sender)

    def rcpt(self, addr):
        return self.r.cmd("RCPT TO:<%s>" % addr)

    def data(self, body):
        code, text = self.r.cmd("DATA")
        if code != 354:
            return (code, text)
        if isinstance(body, str):
            body = body.encode()
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.r.send(body + b".\r\n")
        return self.r.reply()

    def quit(self):
        try:
            self.r.cmd("QUIT")
        except OSError:
            pass
        self.r.close()


def send(port, rcpts=("postmaster@example.test",), sender="s@a.test",
         body="Subject: test\n\nhello\n", helo="client.test"):
    """A whole transaction; returns the replies as a dict of stage to
    code (None for stages not reached) and the last reply's text."""
    t = Txn(port, helo)
    out = {"greeting": t.greeting[0], "helo": t.helo[0] if t.helo else None,
           "mail": None, "rcpt": [], "data": None, "text": t.greeting[1]}
    try:
        if t.greeting[0] != 220:
            return out
        code, text = t.mail(sender)
        out["mail"], out["text"] = code, text
        if code != 250:
            return out
        for r in rcpts:
            code, text = t.rcpt(r)
            out["rcpt"].append(code)
            out["text"] = text
        if 250 not in out["rcpt"]:
            return out
        code, text = t.data(body)
        out["data"], out["text"] = code, text
        return out
    finally:
        t.quit()
