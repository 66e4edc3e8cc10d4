#!/usr/bin/env python3
# No SMTP smuggling: only CR LF . CR LF ends a message. A bare LF or a bare
# CR anywhere in DATA makes qmail-smtpd refuse the message with a 5xx once
# the real end arrives; nothing is queued, and the commands hidden after a
# fake end (\n.\n, \n.\r\n, \r\n.\n, \r.\r, ...) get no reply of their
# own, in plain text and after STARTTLS alike.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queue_empty, make_cert, clear
from nqtest import Tap, Instance

VARIANTS = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r.\r\n", b"\r\n.\r", b"\n..\n"]
SMUGGLED = (b"MAIL FROM:<evil@a.test>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")

t = Tap()


def attempt(r, fake, tls):
    r.cmd("EHLO client.test")
    r.cmd("MAIL FROM:<s@a.test>")
    r.cmd("RCPT TO:<postmaster@example.test>")
    code, _ = r.cmd("DATA")
    r.send(b"Subject: real\r\n\r\nreal body" + fake + SMUGGLED + b"QUIT\r\n")
    rest = r.rest(5)
    return code, rest


with Instance(t, name="example.test") as q:
    prepare(q)
    make_cert(q.path("control/servercert.pem"))
    if q.mode == "root":
        os.chown(q.path("control/servercert.pem"), 0, q.role_ids()["qmaild"][1])
    with Server(q) as s:
        for tls in (False, True):
            for v in VARIANTS:
                name = ("after STARTTLS " if tls else "") + repr(v)[1:]
                r = Raw(s.port)
                r.reply()
                if tls:
                    r.cmd("EHLO client.test")
                    c, _ = r.cmd("STARTTLS")
                    if c != 220:
                        t.ok(False, "STARTTLS for " + name)
                        continue
                    r.starttls()
                code, rest = attempt(r, v, tls)
                codes = [l[:3] for l in rest.splitlines()]
                t.ok(code == 354 and codes == ["554", "221"], name + ": one 554 for the message, then QUIT's 221",
                     rest)
                t.ok(queue_empty(q), name + ": nothing queued", q.queue_files())
                r.close()
                clear(q)
        # The honest message after a refused one in the same session works.
        r = Raw(s.port)
        r.reply()
        r.cmd("EHLO client.test")
        r.cmd("MAIL FROM:<s@a.test>")
        r.cmd("RCPT TO:<postmaster@example.test>")
        r.cmd("DATA")
        code, text = r.cmd("bad\nline\r\n.")
        t.eq(code, 554, "bare LF: 554 5.6.0", text)
        t.ok("5.6.0" in text, "enhanced code 5.6.0", text)
        r.cmd("MAIL FROM:<s@a.test>")
        r.cmd("RCPT TO:<postmaster@example.test>")
        r.cmd("DATA")
        code, text = r.cmd("good line\r\n.")
        t.eq(code, 250, "the next, clean message is accepted", text)
        t.ok(not queue_empty(q), "and queued")
        r.close()
        t.ok("bare LF or CR" in s.log(), "the refusal is logged with the client's address", s.log())
t.done()
