#!/usr/bin/env python3
# qmail-smtpd speaks RFC 5321: the greeting (control/smtpgreeting), EHLO's
# extensions, every command's reply, sequencing (503), syntax (501),
# unknown commands (502), the line-length limit, the error limit that ends
# a session (421), the recipient limit (control/maxrcpt, 452), SIZE
# against control/databytes (552), and PIPELINING: a batch of commands sent
# at once gets its replies in order.
# smoke
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queued, clear
from nqtest import Tap, Instance

t = Tap()
with Instance(t, name="example.test") as q:
    prepare(q)
    # setup makes a self-signed certificate; this test starts without one.
    os.unlink(q.path("control/servercert.pem"))
    q.control("smtpgreeting", "mx.example.test Welcome")
    q.control("databytes", "100000")
    q.control("maxrcpt", "3")
    with Server(q) as s:
        r = Raw(s.port)
        t.eq(r.reply(), (220, "220 mx.example.test Welcome ESMTP\r\n"), "greeting from control/smtpgreeting")
        code, text = r.cmd("MAIL FROM:<a@b.test>")
        t.eq(code, 503, "MAIL before HELO/EHLO: 503", text)
        code, text = r.cmd("EHLO")
        t.eq(code, 501, "EHLO without a name: 501", text)
        code, text = r.cmd("EHLO client.test")
        t.eq(code, 250, "EHLO: 250", text)
        lines = [l[4:] for l in text.splitlines()]
        t.eq(lines[0], "example.test", "EHLO names control/me first")
        for ext in ("PIPELINING", "8BITMIME", "SIZE 100000", "ENHANCEDSTATUSCODES", "SMTPUTF8"):
            t.ok(ext in lines, "EHLO advertises " + ext, text)
        t.ok("STARTTLS" not in lines, "no STARTTLS without control/servercert.pem", text)
        t.ok(not any(l.startswith("AUTH") for l in lines), "no AUTH without a checkpassword program", text)
        t.eq(r.cmd("RCPT TO:<postmaster@example.test>")[0], 503, "RCPT before MAIL: 503")
        t.eq(r.cmd("DATA")[0], 503, "DATA before MAIL: 503")
        t.eq(r.cmd("MAIL <a@b.test>")[0], 501, "MAIL without FROM: 501")
        t.eq(r.cmd("MAIL FROM:<a@b.test> SIZE=200000")[0], 552, "SIZE above databytes: 552")
        t.eq(r.cmd("MAIL FROM:<a@b.test> FOO=BAR")[0], 555, "unknown MAIL parameter: 555")
        t.eq(r.cmd("MAIL FROM:<a@b.test> SIZE=500 BODY=8BITMIME")[0], 250, "MAIL with SIZE and BODY: 250")
        t.eq(r.cmd("MAIL FROM:<c@d.test>")[0], 503, "nested MAIL: 503")
        t.eq(r.cmd("DATA")[0], 503, "DATA before RCPT: 503")
        t.eq(r.cmd("RCPT TO:<postmaster@example.test> NOTIFY=NEVER")[0], 555, "RCPT parameters (no DSN): 555")
        for i in range(3):
            t.eq(r.cmd("RCPT TO:<postmaster@example.test>")[0], 250, "RCPT %d: 250" % (i + 1))
        code, text = r.cmd("RCPT TO:<postmaster@example.test>")
        t.eq(code, 452, "fourth RCPT over control/maxrcpt 3: 452", text)
        t.ok("4.5.3" in text, "with enhanced code 4.5.3", text)
        code, text = r.cmd("DATA x")
        t.eq(code, 501, "DATA with an argument: 501", text)
        t.eq(r.cmd("RSET")[0], 250, "RSET: 250")
        t.eq(r.cmd("RCPT TO:<postmaster@example.test>")[0], 503, "RSET forgot MAIL: RCPT gets 503")
        t.eq(r.cmd("NOOP")[0], 250, "NOOP: 250")
        t.eq(r.cmd("VRFY postmaster")[0], 252, "VRFY: 252")
        t.eq(r.cmd("HELP")[0], 214, "HELP: 214")
        t.eq(r.cmd("EXPN list")[0], 502, "EXPN: 502")
        t.eq(r.cmd("FOO bar")[0], 502, "unknown command: 502")
        t.eq(r.cmd("STARTTLS")[0], 502, "STARTTLS without a certificate: 502")
        t.eq(r.cmd("AUTH PLAIN")[0], 502, "AUTH without checkpassword: 502")
        code, text = r.cmd("NOOP " + "x" * 5000)
        t.eq(code, 500, "a 5000-byte command line: 500", text)
        t.eq(r.cmd("NOOP")[0], 250, "the session goes on after the long line")
        t.eq(r.cmd("helo  client.test")[0], 250, "verbs are case-insensitive (helo): 250")
        code, text = r.cmd("QUIT")
        t.eq(code, 221, "QUIT: 221", text)
        t.ok(r.closed(), "connection closed after QUIT")

        # PIPELINING: everything in one write, replies in order.
        clear(q)
        r = Raw(s.port)
        r.reply()
        r.send("EHLO c.test\r\nMAIL FROM:<p@q.test>\r\nRCPT TO:<postmaster@example.test>\r\n"
               "RCPT TO:<nosuch@elsewhere.test>\r\nDATA\r\n")
        codes = [r.reply()[0] for _ in range(5)]
        t.eq(codes, [250, 250, 250, 553, 354], "pipelined batch: replies in order")
        r.send("Subject: pipelined\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        t.eq(r.reply()[0], 250, "pipelined message accepted")
        t.eq(r.reply()[0], 221, "pipelined QUIT")
        m = queued(q)
        t.eq(len(m), 1, "one message queued")
        t.eq(m[0].rcpts if m else None, ["postmaster@example.test"], "only the accepted recipient")
        clear(q)

        # Too many errors: the session ends with 421.
        r = Raw(s.port)
        r.reply()
        codes = [r.cmd("BOGUS")[0] for _ in range(19)]
        t.eq(set(codes), {502}, "19 unknown commands: 502 each")
        code, text = r.cmd("BOGUS")
        t.ok(code == 502 and "421" in text + r.rest(), "the 20th error: 421 and hang up", text)
        t.ok(r.closed(), "connection closed after too many errors")

        # HELO: plain SMTP, no parameters allowed.
        r = Raw(s.port)
        r.reply()
        t.eq(r.cmd("HELO client.test"), (250, "250 example.test\r\n"), "HELO: one line naming me")
        t.eq(r.cmd("MAIL FROM:<a@b.test> SIZE=10")[0], 555, "ESMTP parameters after HELO: 555")
        r.close()
t.done()
