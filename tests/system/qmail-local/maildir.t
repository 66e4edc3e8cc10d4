#!/usr/bin/env python3
# qmail-local: Maildir delivery, byte for byte.
# smoke
import os, re, socket, stat, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient, MESSAGE
from nqtest import Tap, IS_ROOT

t = Tap()
r = Recipient("md")
try:
    r.maildirmake("Maildir")

    # 1. defaultdelivery ./Maildir/ with no .qmail at all
    rc, out, err = r.deliver(MESSAGE)
    t.eq(rc, 0, "exit 0")
    t.eq(out, "did 1+0+0\n", "report counts one file delivery")
    msgs = r.maildir()
    t.eq(len(msgs), 1, "one message in new/")
    want = ("Return-Path: <sender@example.org>\nDelivered-To: %s@example.test\n" % r.name) + MESSAGE
    t.eq(msgs[0].decode(), want, "Return-Path, Delivered-To, then the message unchanged")
    t.eq(os.listdir(r.path("Maildir/tmp")), [], "tmp/ left empty")
    name = os.listdir(r.path("Maildir/new"))[0]
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    t.ok(re.match(r"^\d+\.M\d+P\d+Q\d+\.", name) and name.endswith("." + host),
         "unique name time.MusecPpidQn.host", name)
    st = os.stat(r.path("Maildir/new/" + name))
    t.eq(st.st_uid, r.uid, "file owned by the recipient")
    t.eq(stat.S_IMODE(st.st_mode), 0o600, "file mode 0600")

    # 2. .qmail with an absolute Maildir path and a relative one: two copies
    r.maildirmake("Other")
    r.write(".qmail", "%s/Maildir/\n./Other/\n" % r.home)
    rc, out, err = r.deliver(MESSAGE, sender="")
    t.eq((rc, out), (0, "did 2+0+0\n"), "two Maildir lines delivered")
    t.eq(len(r.maildir()), 2, "absolute path delivered")
    other = r.maildir("Other")
    t.eq(len(other), 1, "relative path delivered")
    t.ok(other[0].startswith(b"Return-Path: <>\n"), "empty sender gives Return-Path: <>")

    # 3. the same Maildir twice in one .qmail: two distinct files
    r.clear_maildir()
    r.write(".qmail", "./Maildir/\n./Maildir/\n")
    rc, out, err = r.deliver(MESSAGE)
    t.eq((rc, len(r.maildir())), (0, 2), "same Maildir twice: two files, none overwritten")

    # 4. extension address: Delivered-To carries the full local part
    r.clear_maildir()
    r.write(".qmail-list", "./Maildir/\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="list", sender='we ird"@x.org')
    m = r.maildir()[0].decode()
    t.ok(m.startswith('Return-Path: <"we ird\\""@x.org>\nDelivered-To: %s-list@example.test\n' % r.name),
         "quoted Return-Path and extension Delivered-To", m[:200])

    # 5. newline in the recipient cannot split the header
    r.clear_maildir()
    rc, out, err = r.deliver(MESSAGE, local="evil\nX-Injected: yes", sender="a\nB: c@d")
    m = r.maildir()[0].decode()
    t.ok(m.startswith("Return-Path: <\"a\\_B: c\"@d>\nDelivered-To: evil_X-Injected: yes@example.test\n"),
         "newlines in envelope become _", m[:200])

    # 6. a missing Maildir is a temporary failure naming it
    r.write(".qmail", "./Nowhere/\n")
    rc, out, err = r.deliver(MESSAGE)
    t.eq(rc, 111, "missing Maildir: exit 111")
    t.ok("maildir" in out.lower() and "Nowhere" in out, "reason names the maildir", out)

    # 7. a message without a final newline is stored as it is
    r.clear_maildir()
    r.unlink(".qmail")
    rc, out, err = r.deliver("Subject: x\n\nno newline")
    t.ok(r.maildir()[0].endswith(b"\n\nno newline"), "no newline added in a Maildir")

    # 8. a large message (binary-safe, NUL bytes included)
    r.clear_maildir()
    body = b"Subject: big\n\n" + (b"\0\x01\xff" + b"x" * 997 + b"\n") * 3000
    rc, out, err = r.deliver(body)
    got = r.maildir()[0]
    t.ok(got == b"Return-Path: <sender@example.org>\nDelivered-To: " + r.name.encode() +
         b"@example.test\n" + body, "3 MB with NUL bytes stored exactly", "got %d bytes" % len(got))
finally:
    r.remove()
t.done()
