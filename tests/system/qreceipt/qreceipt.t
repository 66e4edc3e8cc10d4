#!/usr/bin/env python3
# qreceipt: a message that names youraddress in a
# Notice-Requested-Upon-Delivery-To field gets a "success notice" back to
# its envelope sender, sent with an empty envelope sender; no request, a
# bounce (empty sender) or a double bounce (#@[]) gets none.
import os, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run

t = Tap()
tmp = tempfile.mkdtemp(prefix="nqt-qr-")
os.chmod(tmp, 0o755)
fake = os.path.join(tmp, "qq")
with open(fake, "w") as f:
    f.write("#!/bin/sh\ncat > %s/mess\ncat 0<&1 > %s/env\nexit 0\n" % (tmp, tmp))
os.chmod(fake, 0o755)
ME = "joe@" + NAME


def qr(header, sender="s@example.org", target=ME):
    for n in ("mess", "env"):
        if os.path.exists(os.path.join(tmp, n)):
            os.unlink(os.path.join(tmp, n))
    env = qlenv("joe", "joe", sender=sender, extra={"QMAILQUEUE": fake})
    r = run([bin_("qreceipt"), target], input=header + b"\nbody\n", env=env)
    sent = os.path.exists(os.path.join(tmp, "env"))
    return r, sent


r, sent = qr(b"Subject: x\nNotice-Requested-Upon-Delivery-To: " + ME.encode() + b"\nMessage-ID: <id1@x>\n")
t.ok(r.returncode == 0 and sent, "requested: a notice is queued", r.stderr)
if sent:
    t.eq(open(os.path.join(tmp, "env"), "rb").read(), b"F\0Ts@example.org\0\0",
         "envelope: empty sender, to the original sender")
    m = open(os.path.join(tmp, "mess"), "rb").read().decode()
    t.ok("\nTo: <s@example.org>\n" in m and "Subject: success notice\n" in m and ME in m
         and "Your Message-ID: <id1@x>\n" in m and "Auto-Submitted: auto-replied\n" in m,
         "notice: To, Subject, the address, the Message-ID", m)
for hdr, name in ((b"Notice-Requested-Upon-Delivery-To: Friends: a@b.c, Joe <" + ME.encode() + b">;\n", "in a group"),
                  (b"notice-requested-upon-delivery-to: x@y.z,\n  \"joe\"@" + NAME.encode() + b" (me)\n",
                   "folded, quoted local part, comment, any case")):
    r, sent = qr(b"Subject: x\n" + hdr)
    t.ok(r.returncode == 0 and sent, "requested %s: notice" % name, r.stderr)
for hdr, sender, name in ((b"Subject: no request\n", "s@example.org", "no request"),
                          (b"Notice-Requested-Upon-Delivery-To: other@" + NAME.encode() + b"\n", "s@example.org",
                           "another address requested"),
                          (b"Notice-Requested-Upon-Delivery-To: " + ME.encode() + b"\n", "", "sender empty (a bounce)"),
                          (b"Notice-Requested-Upon-Delivery-To: " + ME.encode() + b"\n", "#@[]", "double bounce"),
                          (b"Notice-Requested-Upon-Delivery-To: <<<" + ME.encode() + b"\n", "s@example.org",
                           "field does not parse")):
    r, sent = qr(hdr, sender=sender)
    t.ok(r.returncode == 0 and not sent, "%s: no notice, exit 0" % name, r.stderr)
r = run([bin_("qreceipt")], input=b"\n", env=qlenv("joe", "joe"))
t.eq(r.returncode, 100, "no address: usage, 100")

if not IS_ROOT:
    t.skip("qreceipt through qmail-local", "needs root to create test users")
    t.done()
with Box(t, "qr") as b:
    me = b.addr("rcpt")
    b.dotqmail("rcpt", "./Maildir/\n| qreceipt %s\n" % me)
    b.start()
    pm = "postmaster@" + NAME
    t.ok(b.deliver("Subject: qr-one\nMessage-ID: <qr1@example.org>\nNotice-Requested-Upon-Delivery-To: %s\n\nhi\n" % me,
                   [me], sender=pm), "message asking for a notice delivered", b.q.logtext())
    t.ok(b.deliver("Subject: qr-two\n\nhi\n", [me], sender=pm), "message not asking delivered")
    t.eq(len(b.maildir()), 2, "both stored in the Maildir")
    notices = [x for x in b.alias_maildir() if b"success notice" in x]
    t.eq(len(notices), 1, "exactly one notice reached the sender", b.q.logtext())
    if notices:
        n = notices[0].decode()
        t.ok(n.startswith("Return-Path: <>\n") and "<qr1@example.org>" in n and me in n,
             "notice: empty Return-Path, names the message and the address", n)
t.done()
