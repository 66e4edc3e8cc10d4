#!/usr/bin/env python3
# preline + maildrop: "| preline -f maildrop mailfilter" in a user's .qmail
# file delivers through Debian's maildrop with a real mailfilter (a Maildir
# folder by Subject, an mbox by Subject, the Maildir as DEFAULT, a refusal
# with EXITCODE 100): the exact bytes in the mailbox maildrop chose
# (preline's Return-Path and Delivered-To, then the queued message),
# maildrop's own From_ line in the mbox, preline's From_ line quoted when
# it is not left out, a refusal bounced with maildrop's words, and no
# message content run by a shell.
import os, re, shutil, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, files_in

t = Tap()
if not IS_ROOT:
    t.skip("preline and maildrop through qmail-local", "needs root to create test users")
    t.done()
if not shutil.which("maildrop"):
    t.ok(False, "maildrop is installed (scripts/deps.sh installs it)")
    t.done()

FILTER = """\
# a user's mail filter, as maildrop(1) reads it
DEFAULT="$HOME/Maildir"
if (/^Subject:.*to-folder/)
{
  to "$HOME/Maildir/.Lists"
}
if (/^Subject:.*to-mbox/)
{
  to "$HOME/mail.mbox"
}
if (/^Subject:.*refuse/)
{
  echo "maildrop refuses this one"
  EXITCODE=100
  exit
}
"""


def only(d):
    fs = files_in(d)
    return open(fs[0], "rb").read() if len(fs) == 1 else None


def queued(data, rp, dt, msg):
    """data is preline's lines, qmail-queue's Received line, then msg."""
    m = re.match(re.escape(rp + dt) + rb"Received: \(qmail \d+ invoked by uid \d+\); [^\n]+\n", data or b"")
    return bool(m) and data[m.end():] == msg


with Box(t, "md") as b:
    u = b.u
    u.write("mailfilter", FILTER, 0o600)
    u.maildirmake("Maildir/.Lists")
    b.dotqmail("md", "| preline -f maildrop mailfilter\n")
    b.dotqmail("mdfrom", "| preline maildrop $HOME/mailfilter\n")
    b.start()
    S = "s@example.org"
    RP = ("Return-Path: <%s>\n" % S).encode()
    DT = lambda ext: ("Delivered-To: %s\n" % b.addr(ext)).encode()
    body = b"From the start of a line\n$(touch %s/pwned) `id`\nend\n" % u.home.encode()

    m1 = b"Subject: please to-folder\nMessage-ID: <m1@x>\n\n" + body
    t.ok(b.deliver(m1, [b.addr("md")], sender=S), "to-folder message delivered", b.q.logtext())
    got = only(os.path.join(u.home, "Maildir/.Lists"))
    t.ok(queued(got, RP, DT("md"), m1), "the Maildir folder the filter chose holds exactly "
         "Return-Path, Delivered-To, Received and the message", got)
    t.eq(files_in(os.path.join(u.home, "Maildir")), [], "nothing in the default Maildir")
    t.eq(os.stat(files_in(os.path.join(u.home, "Maildir/.Lists"))[0]).st_uid if got else None, u.uid,
         "the file belongs to the user (maildrop ran as them)")

    m2 = b"Subject: plain\nMessage-ID: <m2@x>\n\n" + body
    t.ok(b.deliver(m2, [b.addr("md")], sender=S), "plain message delivered", b.q.logtext())
    got = only(os.path.join(u.home, "Maildir"))
    t.ok(queued(got, RP, DT("md"), m2), "no rule matched: DEFAULT, the user's Maildir, exact bytes", got)

    m3 = b"Subject: to-mbox please\nMessage-ID: <m3@x>\n\n" + body
    t.ok(b.deliver(m3, [b.addr("md")], sender=S), "to-mbox message delivered", b.q.logtext())
    p = os.path.join(u.home, "mail.mbox")
    data = open(p, "rb").read() if os.path.exists(p) else b""
    first, _, rest = data.partition(b"\n")
    t.ok(first.startswith(b"From %s " % S.encode()), "maildrop's own From_ line with the envelope sender", data[:300])
    want = m3.replace(b"\nFrom the start", b"\n>From the start")
    t.ok(queued(rest.rstrip(b"\n") + b"\n", RP, DT("md"), want),
         "the mbox holds the message with the body's From_ quoted", data)

    m4 = b"Subject: to-mbox again\n\nsecond\n"
    t.ok(b.deliver(m4, [b.addr("mdfrom")], sender="s2@example.org"), "message for user-mdfrom delivered",
         b.q.logtext())
    data = open(p, "rb").read() if os.path.exists(p) else b""
    t.ok(b"\n>From s2@example.org " in data and b"\nDelivered-To: %s\n" % b.addr("mdfrom").encode() in data,
         "without -f preline's From_ line reaches maildrop, which quotes it", data[-400:])

    t.ok(b.deliver(b"Subject: refuse me\n\nbody\n", [b.addr("md")], sender="postmaster@" + NAME),
         "message to refuse done", b.q.logtext())
    bounces = [x for x in b.alias_maildir() if b"refuse me" in x]
    t.ok(bounces and b"maildrop refuses this one" in bounces[0],
         "EXITCODE=100 in the filter: bounced with maildrop's words",
         bounces[0][:1500] if bounces else b.q.logtext())
    t.eq(len(files_in(os.path.join(u.home, "Maildir"))), 1, "the refused message is in no mailbox")
    t.ok(not os.path.exists(os.path.join(u.home, "pwned")), "nothing in the message was run")
t.done()
