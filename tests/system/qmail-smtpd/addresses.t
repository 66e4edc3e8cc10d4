#!/usr/bin/env python3
# Envelope addresses as qmail-smtpd reads them: with and without angle
# brackets, quoted local parts (stored unquoted, as qmail does), source
# routes dropped, the null sender <>, SMTPUTF8 addresses only when MAIL
# asked for SMTPUTF8, length and character limits, and the policy files
# control/badmailfrom (address or @domain: every RCPT refused) and
# control/badrcptto (the recipient refused).
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queued, clear
from nqtest import Tap, Instance

t = Tap()
with Instance(t, name="example.test") as q:
    prepare(q)
    q.write("alias/.qmail-default", "./Maildir/\n")
    q.control("badmailfrom", "spammer@bad.test\n@worse.test\n")
    q.control("badrcptto", "closed@example.test\n")

    def one(port, sender, rcpt, ehlo="EHLO client.test"):
        """(MAIL code, RCPT code, envelope) for one message."""
        clear(q)
        r = Raw(port)
        r.reply()
        r.cmd(ehlo)
        mc = r.cmd("MAIL FROM:" + sender)[0]
        rc = r.cmd("RCPT TO:" + rcpt)[0]
        env = None
        if mc == 250 and rc == 250:
            r.cmd("DATA")
            r.cmd("Subject: a\r\n\r\nb\r\n.")
            m = queued(q)
            env = (m[0].sender, m[0].rcpts) if m else None
        r.cmd("QUIT")
        r.close()
        return mc, rc, env

    with Server(q) as s:
        p = s.port
        t.eq(one(p, "<a@b.test>", "<x@example.test>"), (250, 250, ("a@b.test", ["x@example.test"])), "brackets")
        t.eq(one(p, "a@b.test", "x@example.test"), (250, 250, ("a@b.test", ["x@example.test"])), "no brackets")
        t.eq(one(p, " <a@b.test>", "  <x@example.test>"), (250, 250, ("a@b.test", ["x@example.test"])),
             "blanks after the colon")
        t.eq(one(p, "<>", "<x@example.test>"), (250, 250, ("", ["x@example.test"])), "null sender <>")
        t.eq(one(p, '<"joe smith"@b.test>', '<"x y"@example.test>'),
             (250, 250, ("joe smith@b.test", ["x y@example.test"])), "quoted local parts are stored unquoted")
        t.eq(one(p, '<"a\\"b"@b.test>', "<x@example.test>"), (250, 250, ('a"b@b.test', ["x@example.test"])),
             "backslash escapes in a quoted local part")
        t.eq(one(p, "<@r1.test,@r2.test:a@b.test>", "<@r.test:x@example.test>"),
             (250, 250, ("a@b.test", ["x@example.test"])), "source routes dropped")
        t.eq(one(p, "<postmaster>", "<postmaster>"), (250, 250, ("postmaster", ["postmaster"])),
             "addresses without a domain")
        t.eq(one(p, "<a@[192.0.2.1]>", "<x@example.test>")[:2], (250, 250), "address literal as sender")
        t.eq(one(p, "<a@b.test", "<x@example.test>")[0], 501, "missing '>': 501")
        t.eq(one(p, "<a@b.test> x", "<x@example.test>")[0], 555, "junk after the path is a bad parameter: 555")
        t.eq(one(p, "<a b@b.test>", "<x@example.test>")[0], 501, "unquoted blank: 501")
        t.eq(one(p, '<"a@b.test>', "<x@example.test>")[0], 501, "unterminated quote: 501")
        t.eq(one(p, "<a@>", "<x@example.test>")[0], 501, "'@' without a domain: 501")
        t.eq(one(p, "<a@b\x01c.test>", "<x@example.test>")[0], 501, "control character: 501")
        t.eq(one(p, "<a@bad_dom!ain.test>", "<x@example.test>")[0], 501, "'!' in a domain: 501")
        t.eq(one(p, "<" + "a" * 995 + "@b.test>", "<x@example.test>")[0], 501, "a 1003-byte address: 501")
        t.eq(one(p, "<" + "a" * 900 + "@b.test>", "<x@example.test>")[0], 250, "a 907-byte address: 250")
        t.eq(one(p, "<a@b.test>", "<>")[1], 501, "RCPT TO:<>: 501")

        # SMTPUTF8
        u = "<j\u00f6rg@b.test>"
        t.eq(one(p, u, "<x@example.test>")[0], 553, "UTF-8 sender without SMTPUTF8: 553")
        t.eq(one(p, u + " SMTPUTF8", "<\u00fc@example.test>"), (250, 250, ("j\u00f6rg@b.test", ["\u00fc@example.test"])),
             "UTF-8 sender and recipient with SMTPUTF8")
        t.eq(one(p, "<a@b.test>", "<\u00fc@example.test>")[1], 553, "UTF-8 recipient without SMTPUTF8: 553")
        t.eq(one(p, "<a@b.test> SMTPUTF8", "<x@ex\u00e4mple.test>")[1], 553,
             "UTF-8 domain not in rcpthosts: 553")

        # badmailfrom and badrcptto
        t.eq(one(p, "<spammer@bad.test>", "<x@example.test>")[:2], (250, 553), "badmailfrom address: RCPT 553")
        t.eq(one(p, "<SPAMMER@BAD.TEST>", "<x@example.test>")[:2], (250, 553), "badmailfrom ignores case")
        t.eq(one(p, "<anyone@worse.test>", "<x@example.test>")[:2], (250, 553), "badmailfrom @domain")
        t.eq(one(p, "<anyone@notworse.test>", "<x@example.test>")[:2], (250, 250), "@domain is the whole domain")
        t.eq(one(p, "<a@b.test>", "<closed@example.test>")[:2], (250, 553), "badrcptto: 553")
        t.eq(one(p, "<a@b.test>", "<open@example.test>")[:2], (250, 250), "other recipients pass")
t.done()
