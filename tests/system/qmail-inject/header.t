#!/usr/bin/env python3
# qmail-inject fixes the header as qmail-header(5) says: Date, Message-ID
# (idhost), From from the environment, Bcc/Return-Path/Content-Length
# removed, addresses completed with defaulthost/defaultdomain/plusdomain,
# the Cc line for a message without To/Cc, resent messages, QMAILINJECT
# c/f/i, Mail-Followup-To. Asserted on the bytes qmail-queue stored.
# smoke
import os, re, sys, time, email.utils
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuepeek import Peek, base_env
from nqtest import Tap, Instance

t = Tap()
with Instance(t, name="example.test") as q:
    q.control("defaulthost", "mammoth")
    q.control("defaultdomain", "berkeley.edu")
    q.control("plusdomain", "berkeley.edu")
    q.control("idhost", "id.example.test")
    p = Peek(q)
    env = base_env(USER="joe", NAME="Joe Q. Public", TZ="Europe/Berlin")

    # --- stamps ---------------------------------------------------------
    before = int(time.time())
    r, m = p.inject("To: fred@a.b\nSubject: hi\n\nbody\n", env=env)
    after = int(time.time())
    t.eq((r.returncode, r.stderr), (0, b""), "plain message queued")
    t.eq(len(m), 1, "one message in the queue")
    m = m[0]
    d = m.header("Date")
    t.eq(len(d), 1, "Date added")
    t.ok(re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} "
                      r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                      r"[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}", d[0] if d else ""),
         "Date in RFC 5322 form", d)
    pt = email.utils.parsedate_tz(d[0]) if d else None
    t.ok(pt and before - 1 <= email.utils.mktime_tz(pt) <= after + 1, "Date is now", d)
    t.ok(d and d[0][-5:] in ("+0100", "+0200"), "Date carries the local offset (TZ=Europe/Berlin)", d)
    mid = m.header("Message-ID")
    t.ok(len(mid) == 1 and re.fullmatch(r"<[0-9]{14}\.[0-9]+\.qmail@id\.example\.test>", mid[0]),
         "Message-ID <time.pid.qmail@idhost>", mid)
    t.eq(m.header("From"), ['"Joe Q. Public" <joe@mammoth.berkeley.edu>'],
         "From from USER and NAME, host from defaulthost+defaultdomain")
    t.eq(m.names()[:4], ["Received", "Date", "Message-ID", "From"], "new fields in qmail's order, first")
    t.eq(m.body, b"body\n", "body unchanged")

    r, m = p.inject("To: fred@a.b\n\nx\n", env=base_env(USER="joe", QMAILIDHOST="other.id"))
    t.ok(m and m[0].header("Message-ID")[0].endswith(".qmail@other.id>"), "QMAILIDHOST overrides idhost")

    # --- From from the variables, in their order of precedence ----------
    def from_of(**kw):
        r, m = p.inject("To: x@y.z\n\n.\n", env=base_env(**kw))
        return m[0].header("From") if m else (r.returncode, r.stderr)

    t.eq(from_of(LOGNAME="l"), ["l@mammoth.berkeley.edu"], "LOGNAME")
    t.eq(from_of(LOGNAME="l", USER="u"), ["u@mammoth.berkeley.edu"], "USER over LOGNAME")
    t.eq(from_of(LOGNAME="l", USER="u", MAILUSER="m"), ["m@mammoth.berkeley.edu"], "MAILUSER over USER")
    t.eq(from_of(USER="u", MAILUSER="m", QMAILUSER="q"), ["q@mammoth.berkeley.edu"], "QMAILUSER over MAILUSER")
    t.eq(from_of(), ["anonymous@mammoth.berkeley.edu"], "no user variable: anonymous")
    t.eq(from_of(USER="u", MAILHOST="mh.example.org"), ["u@mh.example.org"], "MAILHOST")
    t.eq(from_of(USER="u", MAILHOST="mh.example.org", QMAILHOST="qh.example.org"), ["u@qh.example.org"],
         "QMAILHOST over MAILHOST")
    t.eq(from_of(USER="u", QMAILHOST="box"), ["u@box.berkeley.edu"], "QMAILHOST completed with defaultdomain")
    t.eq(from_of(USER="u", NAME="N", MAILNAME="M", QMAILNAME="Q"), ['"Q" <u@mammoth.berkeley.edu>'],
         "QMAILNAME over MAILNAME over NAME")
    t.eq(from_of(USER="u", MAILNAME="M"), ['"M" <u@mammoth.berkeley.edu>'], "MAILNAME")
    t.eq(from_of(USER="u", NAME="Joe", QMAILINJECT="c"), ["u@mammoth.berkeley.edu (Joe)"],
         "QMAILINJECT=c: address-comment style")
    t.eq(from_of(USER="joe smith", NAME='A "q" B'), ['"A \\"q\\" B" <"joe smith"@mammoth.berkeley.edu>'],
         "name and user quoted when they need it")
    t.eq(from_of(USER="u", NAME="Evil\nBcc: victim@x.y"), ['"Evil Bcc: victim@x.y" <u@mammoth.berkeley.edu>'],
         "a line break in NAME cannot forge a field")
    r, m = p.inject("To: x@y.z\n\n.\n", env=base_env(USER="u\nBcc: v@x.y"))
    t.eq((r.returncode, m), (100, []), "a line break in USER is refused")

    # --- an existing From, Date, Message-ID are kept; f and i drop them --
    msg = ("From: Someone <some@where.org>\nDate: 1 Jan 2000 00:00:00 -0000\n"
           "Message-ID: <given@id>\nTo: x@y.z\n\nb\n")
    r, m = p.inject(msg, env=base_env(USER="u"))
    m = m[0]
    t.eq((m.header("From"), m.header("Date"), m.header("Message-ID")),
         (["Someone <some@where.org>"], ["1 Jan 2000 00:00:00 -0000"], ["<given@id>"]),
         "given From, Date and Message-ID kept")
    r, m = p.inject(msg, env=base_env(USER="u", QMAILINJECT="fi"))
    m = m[0]
    t.eq(m.header("From"), ["u@mammoth.berkeley.edu"], "QMAILINJECT=f: given From replaced")
    t.ok(m.header("Message-ID") and m.header("Message-ID")[0] != "<given@id>", "QMAILINJECT=i: new Message-ID")
    t.eq(m.header("Date"), ["1 Jan 2000 00:00:00 -0000"], "Date still kept")

    # --- removed fields ---------------------------------------------------
    r, m = p.inject("To: a@b.c\nBcc: hidden@b.c\nbcc: also@b.c\nReturn-Path: <rp@b.c>\n"
                    "Content-Length: 99\nSubject: s\n\nbody\n", env=base_env(USER="u"))
    m = m[0]
    t.eq([n for n in m.names() if n.lower() in ("bcc", "return-path", "content-length")], [],
         "Bcc, Return-Path and Content-Length removed")
    t.eq(sorted(m.rcpts), ["a@b.c", "also@b.c", "hidden@b.c"], "Bcc addresses still receive it")
    t.eq(m.sender, "rp@b.c", "Return-Path set the envelope sender")

    # --- address completion ------------------------------------------------
    r, m = p.inject("To: djb, eric@mammoth.cs+, joe@silverton, x@[1.2.3.4], y@a.b.\n"
                    "Cc: \"A Person\" <box@host+>, group: g@h, i@j.k;, (comment) c@d.e (after)\n"
                    "Reply-To: <@route.one,@route.two:r@s.t>\nSender: s\n\nb\n", env=base_env(USER="u"))
    m = m[0]
    t.eq(m.header("To"), ["djb@mammoth.berkeley.edu, eric@mammoth.cs.berkeley.edu, "
                          "joe@silverton.berkeley.edu, x@[1.2.3.4], y@a.b"],
         "To completed: defaulthost, plusdomain, defaultdomain, literal, trailing dot")
    t.eq(m.header("Cc"), ['"A Person" <box@host.berkeley.edu>, group: g@h.berkeley.edu, i@j.k;, '
                          '(comment) c@d.e (after)'],
         "Cc: phrase, group and comments kept, addresses completed")
    t.eq(m.header("Reply-To"), ["<r@s.t>"], "source route removed")
    t.eq(m.header("Sender"), ["s@mammoth.berkeley.edu"], "Sender completed")
    t.eq(sorted(m.rcpts), sorted(["djb@mammoth.berkeley.edu", "eric@mammoth.cs.berkeley.edu",
                                  "joe@silverton.berkeley.edu", "x@[1.2.3.4]", "y@a.b",
                                  "box@host.berkeley.edu", "g@h.berkeley.edu", "i@j.k", "c@d.e"]),
         "envelope recipients completed the same way")
    r, m = p.inject("To: djb fred\n\nb\n", env=base_env(USER="u"))
    t.eq(m[0].header("To"), ["djb@mammoth.berkeley.edu, fred@mammoth.berkeley.edu"],
         "illegal space becomes a comma")

    r, m = p.inject("To: a\n\nb\n", env=base_env(USER="u", QMAILDEFAULTHOST="h+",
                                                   QMAILPLUSDOMAIN="plus.example",
                                                   QMAILDEFAULTDOMAIN="dd.example"))
    t.eq(m[0].rcpts, ["a@h.plus.example"], "QMAIL* variables override the control files; defaulthost+ gets plusdomain")

    q.control("defaulthost", "mailhost.example.test")
    r, m = p.inject("To: a\n\nb\n", env=base_env(USER="u"))
    t.eq(m[0].rcpts, ["a@mailhost.example.test"], "defaulthost with dots used as it is")
    for f in ("defaulthost", "defaultdomain", "plusdomain", "idhost"):
        os.unlink(q.path("control/" + f))
    r, m = p.inject("To: a, b@c, d@e+\n\nb\n", env=base_env(USER="u"))
    t.eq(sorted(m[0].rcpts), ["a@example.test", "b@c.example.test", "d@e.example.test"],
         "without the control files, me is the default for all three")
    t.ok(m[0].header("Message-ID")[0].endswith("qmail@example.test>"), "idhost defaults to me")

    # --- no To or Cc ---------------------------------------------------------
    r, m = p.inject("Bcc: a@b.c\nSubject: s\n\nb\n", env=base_env(USER="u"))
    m = m[0]
    t.eq(m.header("Cc"), ["recipient list not shown: ;"], "Cc: recipient list not shown added")
    t.eq(m.rcpts, ["a@b.c"], "Bcc recipient used")

    # --- resent messages ------------------------------------------------------
    r, m = p.inject("From: orig@a.b\nDate: 1 Jan 2000 00:00:00 -0000\nMessage-ID: <x@y>\nTo: first@a.b\n"
                    "Resent-To: second@a.b\nResent-Bcc: third@a.b\n\nb\n", env=base_env(USER="u"))
    m = m[0]
    t.eq(sorted(m.rcpts), ["second@a.b", "third@a.b"], "resent: recipients from Resent-To/Resent-Bcc only")
    t.ok(m.header("Resent-Date") and m.header("Resent-Message-ID") and
         m.header("Resent-From") == ["u@example.test"], "resent: Resent-Date, Resent-Message-ID, Resent-From added")
    t.eq((m.header("Date"), m.header("From"), m.header("Resent-Bcc")),
         (["1 Jan 2000 00:00:00 -0000"], ["orig@a.b"], []), "resent: Date/From kept, Resent-Bcc removed")
    r, m = p.inject("To: first@a.b\nResent-Bcc: third@a.b\n\nb\n", env=base_env(USER="u"))
    t.eq(m[0].header("Resent-Cc"), ["recipient list not shown: ;"], "resent: Resent-Cc line added")
    t.eq(m[0].header("Cc"), [], "resent: no Cc line added")

    # --- odd input --------------------------------------------------------------
    r, m = p.inject("From someone Sat Jan  1 00:00:00 2000\nTo: a@b.c\n\nb\n", env=base_env(USER="u"))
    t.eq(m[0].header("MBOX-Line"), ["From someone Sat Jan  1 00:00:00 2000"], "mbox From_ line kept as MBOX-Line")
    r, m = p.inject("Subject: s\nthis is no field\nTo: a@b.c\n", args=["x@y.z"], env=base_env(USER="u"))
    t.ok(m[0].data.endswith(b"Subject: s\n\nthis is no field\nTo: a@b.c\n"),
         "a line that is no field starts the body after an inserted empty line", m[0].data)
    r, m = p.inject(b"To: a@b.c\r\nSubject: crlf\r\n\r\nline 1\r\nline 2\r\nbare\rcr\r\n", env=base_env(USER="u"))
    t.ok(m and m[0].header("Subject") == ["crlf"] and m[0].body == b"line 1\nline 2\nbare\rcr\n",
         "CR LF input stored as LF, a lone CR kept", m and m[0].data)
    r, m = p.inject("To: a@b.c\nSubject: no newline at end", env=base_env(USER="u"))
    t.ok(m and m[0].data.endswith(b"Subject: no newline at end\n"), "header without body or final LF")
    r, m = p.inject("To: a@b.c\n\nlast line", env=base_env(USER="u"))
    t.eq(m and m[0].body, b"last line\n", "last body line gets its LF")
    r, m = p.inject("To: a@b.c\n\n.\nafter dot\n", env=base_env(USER="u"))
    t.eq(m and m[0].body, b".\nafter dot\n", "a lone dot is ordinary text")

    # --- Mail-Followup-To -----------------------------------------------------------
    lists = q.write("lists", "list@x.y\n")
    r, m = p.inject("To: list@x.y\nCc: me@a.b\n\nb\n", env=base_env(USER="u", QMAILMFTFILE=lists))
    t.eq(m[0].header("Mail-Followup-To"), ["list@x.y, me@a.b"], "Mail-Followup-To when writing to a list")
    r, m = p.inject("To: other@x.y\n\nb\n", env=base_env(USER="u", QMAILMFTFILE=lists))
    t.eq(m[0].header("Mail-Followup-To"), [], "no Mail-Followup-To otherwise")

    # --- -n prints instead of queueing -----------------------------------------------
    p.clear()
    r, m = p.inject("To: a\n\nbody\n", args=["-n"], env=base_env(USER="u"))
    out = r.stdout.decode()
    t.ok(r.returncode == 0 and out.startswith("Return-Path: <u@example.test>\nDate: ")
         and "\nTo: a@example.test\n\nbody\n" in out and m == [], "-n prints the message, queues nothing", out)
t.done()
