#!/usr/bin/env python3
# SRS through a real forward and real bounces (srs(5) in src/mail/srs.h,
# srsreverse(8)): a .qmail file forwards to a remote address (an SMTP
# sink on 127.0.0.61, named in control/smtproutes) and the sink sees the
# SRS0 sender that Python's hmac computes independently; a bounce sent
# back to that address over SMTP into qmail-smtpd, and one that
# qmail-send makes itself when the sink refuses the forward, both reach
# the original sender with the null sender, through
# ~alias/.qmail-srs-default and srsreverse. Someone else's SRS0 becomes
# our SRS1 and a bounce to that goes back to the first hop. The null
# sender, senders at our own domains and forwards to our own domains are
# not rewritten; | forward and fastforward get the SRS sender through
# $NEWSENDER. A new
# secret put first in control/srs signs, the old one still verifies.
# Root instance.
# smoke
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srslib
from srslib import SRSDOMAIN, SINK_IP, srs0, srs1, configure
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, wait, run
from remotelib import Sink, free_tcp_port
from smtpdlib import prepare, Server, Raw

t = Tap()
if not IS_ROOT:
    t.skip("SRS forwarding", "needs root to create test users")
    t.done()

SECRET = "first secret, long enough"
D = "example.test"


def smtp(port, sender, rcpt, body):
    """One message over SMTP: the RCPT reply code, and the final one."""
    r = Raw(port)
    r.reply()
    r.cmd("EHLO bouncer.test")
    r.cmd("MAIL FROM:<%s>" % sender)
    code = r.cmd("RCPT TO:<%s>" % rcpt)[0]
    final = None
    if code == 250:
        r.cmd("DATA")
        final = r.cmd(body.replace("\n", "\r\n") + ".")[0]
    r.cmd("QUIT")
    r.close()
    return code, final


def arrived(sink, pred, timeout=30):
    ok = wait(lambda: any(pred(m) for m in list(sink.messages)), timeout)
    return [m for m in list(sink.messages) if pred(m)] if ok else []


u = TestUser(unique_user("srs"))
sink = Sink(SINK_IP, port=free_tcp_port(SINK_IP),
            rcpt=lambda a: "550 5.1.1 no such user" if a.startswith("gone@") else "250 ok")
try:
    sink.start()
    with Instance(t, name=D) as q:
        prepare(q)
        configure(q, [SECRET], sink.port)
        u.maildirmake("Maildir")
        u.write(".qmail-fw", "&friend@remote.test\n")
        u.write(".qmail-mix", "&friend@remote.test\n&%s-box@%s\n" % (u.name, D))
        u.write(".qmail-box", "./Maildir/\n")
        u.write(".qmail-gone", "&gone@remote.test\n")
        u.write(".qmail-prog", "|%s friend@remote.test\n" % q.bin("forward"))
        q.start()

        # 1. a forward to another domain: SRS0 at the sink
        want = srs0(SECRET, "alice@sender.test")
        t.eq(q.queue("Subject: one\n\ntoken-one\n", "alice@sender.test", ["%s-fw@%s" % (u.name, D)]), 0, "queued")
        got = arrived(sink, lambda m: b"token-one" in m.data)
        t.ok(got and got[0].mailfrom == want, "forward to remote.test has the SRS0 sender (python hmac)",
             (got and got[0].mailfrom, want, q.logtext()[-2000:]))
        t.ok(got and got[0].rcpts == ["friend@remote.test"], "to the forward's address", got and got[0].rcpts)
        t.ok(got and b"Delivered-To: %s-fw@%s" % (u.name.encode(), D.encode()) in got[0].data,
             "with the forward's Delivered-To line", got and got[0].data[:300])

        with Server(q) as s:
            # 2. a bounce to it over SMTP reaches alice, as a bounce
            code, final = smtp(s.port, "", want, "Subject: failure notice\n\nbounce-token-two\n")
            t.eq((code, final), (250, 250), "qmail-smtpd accepts the bounce to the SRS0 address")
            got = arrived(sink, lambda m: b"bounce-token-two" in m.data)
            t.ok(got and got[0].rcpts == ["alice@sender.test"] and got[0].mailfrom == "",
                 "srsreverse passes the bounce to alice@sender.test with the null sender",
                 (got, q.logtext()[-2000:]))
            t.ok(got and b"Delivered-To: srs-" in got[0].data, "with the SRS address's Delivered-To line",
                 got and got[0].data[:300])

            # 3. SRS1: someone else's SRS0 forwarded by us, and back
            theirs = "SRS0=AbCd=XY=o.example=u@hop1.test"
            want1 = srs1(SECRET, theirs)
            t.eq(q.queue("Subject: s1\n\ntoken-srs1\n", theirs, ["%s-fw@%s" % (u.name, D)]), 0, "queued (SRS0 sender)")
            got = arrived(sink, lambda m: b"token-srs1" in m.data)
            t.ok(got and got[0].mailfrom == want1, "someone else's SRS0 becomes our SRS1 (python hmac)",
                 (got and got[0].mailfrom, want1))
            code, final = smtp(s.port, "", want1, "Subject: failure\n\nbounce-srs1\n")
            t.eq((code, final), (250, 250), "qmail-smtpd accepts the bounce to the SRS1 address")
            got = arrived(sink, lambda m: b"bounce-srs1" in m.data)
            t.ok(got and got[0].rcpts == [theirs] and got[0].mailfrom == "",
                 "the SRS1 bounce goes back to the first hop's SRS0 address", (got, q.logtext()[-1500:]))

        # 4. a bounce made here: the sink refuses the forward permanently,
        # qmail-send bounces to the SRS0 sender, srsreverse hands it to alice
        t.eq(q.queue("Subject: g\n\ntoken-gone\n", "alice@sender.test", ["%s-gone@%s" % (u.name, D)]), 0, "queued (to gone)")
        got = arrived(sink, lambda m: m.rcpts == ["alice@sender.test"] and b"token-gone" in m.data, 60)
        t.ok(got and got[0].mailfrom == "", "qmail-send's own bounce of the forward reaches alice@sender.test",
             (sink.messages[-3:], q.logtext()[-2500:]))
        t.ok(got and b"gone@remote.test" in got[0].data, "the bounce names the refused address",
             got and got[0].data[:800])

        # 5. not rewritten: the null sender, our own sender
        t.eq(q.queue("Subject: n\n\ntoken-null\n", "", ["%s-fw@%s" % (u.name, D)]), 0, "queued (null sender)")
        got = arrived(sink, lambda m: b"token-null" in m.data)
        t.ok(got and got[0].mailfrom == "", "a forwarded bounce keeps the null sender", got and got[0].mailfrom)
        t.eq(q.queue("Subject: o\n\ntoken-ours\n", "bob@" + D, ["%s-fw@%s" % (u.name, D)]), 0, "queued (our sender)")
        got = arrived(sink, lambda m: b"token-ours" in m.data)
        t.ok(got and got[0].mailfrom == "bob@" + D, "a sender at our own domain is kept", got and got[0].mailfrom)

        # 6. a .qmail forwarding to remote and local at once: only the
        # copy that leaves gets the SRS sender
        t.eq(q.queue("Subject: m\n\ntoken-mix\n", "carol@sender.test", ["%s-mix@%s" % (u.name, D)]), 0, "queued (mix)")
        got = arrived(sink, lambda m: b"token-mix" in m.data)
        t.ok(got and got[0].mailfrom == srs0(SECRET, "carol@sender.test"), "remote copy: SRS0", got and got[0].mailfrom)
        wait(lambda: any("token-mix" in x for x in q.maildir_texts(u.home + "/Maildir")), 20)
        local = [x for x in q.maildir_texts(u.home + "/Maildir") if "token-mix" in x]
        t.ok(local and local[0].startswith("Return-Path: <carol@sender.test>\n"),
             "local copy keeps the original sender", local and local[0][:200])

        # 7. | forward uses $NEWSENDER, which carries the SRS sender
        t.eq(q.queue("Subject: p\n\ntoken-prog\n", "dave@sender.test", ["%s-prog@%s" % (u.name, D)]), 0, "queued (prog)")
        got = arrived(sink, lambda m: b"token-prog" in m.data)
        t.ok(got and got[0].mailfrom == srs0(SECRET, "dave@sender.test"), "| forward sends with the SRS0 sender",
             (got and got[0].mailfrom, q.logtext()[-1500:]))

        # 7b. fastforward (/etc/aliases) forwards with $NEWSENDER too
        aliases = os.path.join(q.base, "aliases")
        with open(aliases, "w") as f:
            f.write("listfwd: friend@remote.test\n")
        os.chmod(q.base, 0o755)
        os.chmod(aliases, 0o644)
        q.control("aliases", aliases)
        q.write("alias/.qmail-default", "| %s -d %s.cdb\n" % (q.bin("fastforward"), aliases))
        r = run([q.bin("newaliases")])
        t.eq(r.returncode, 0, "newaliases", r.stderr)
        t.eq(q.queue("Subject: ff\n\ntoken-ff\n", "gina@sender.test", ["listfwd@" + D]), 0, "queued (fastforward)")
        got = arrived(sink, lambda m: b"token-ff" in m.data)
        t.ok(got and got[0].mailfrom == srs0(SECRET, "gina@sender.test"), "fastforward sends with the SRS0 sender",
             (got and got[0].mailfrom, q.logtext()[-1500:]))

        # 8. rotation: a new secret put first signs; the old one still
        # verifies a bounce to an address made before
        NEW = "second secret"
        srslib.set_secrets(q, [NEW, SECRET])
        t.eq(q.queue("Subject: r\n\ntoken-rot\n", "erin@sender.test", ["%s-fw@%s" % (u.name, D)]), 0, "queued (rotation)")
        got = arrived(sink, lambda m: b"token-rot" in m.data)
        t.ok(got and got[0].mailfrom == srs0(NEW, "erin@sender.test"), "the first secret signs",
             (got and got[0].mailfrom, srs0(NEW, "erin@sender.test")))
        with Server(q) as s:
            code, final = smtp(s.port, "", srs0(SECRET, "frank@sender.test"), "Subject: b\n\nbounce-rot\n")
            t.eq((code, final), (250, 250), "a bounce to an address of the old secret is accepted")
            got = arrived(sink, lambda m: b"bounce-rot" in m.data)
            t.ok(got and got[0].rcpts == ["frank@sender.test"], "and reversed", got)
        q.stop()
finally:
    sink.stop()
    u.remove()
t.done()
