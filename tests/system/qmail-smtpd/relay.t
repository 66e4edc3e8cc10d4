#!/usr/bin/env python3
# Relay control: control/rcpthosts (with ".domain" wildcards) and
# morercpthosts.cdb (qmail-newmrh) say which domains anyone may send to;
# RELAYCLIENT (tcprules) lets a client relay and is appended to each
# recipient. Every classic relay trick is refused (553) or delivered
# locally, never sent on: qmail-send runs, control/smtproutes sends every
# remote domain to a loopback sink, and neither qmail-send's log nor the
# sink may ever see a trick's recipient. Each refusal has a positive twin
# (the same address from a RELAYCLIENT client) that is routed remote, and
# reaches the sink once qmail-remote exists.
import os, socket, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, Sink
from nqtest import Tap, Instance, run

# (recipient as sent, what must happen without RELAYCLIENT: "refuse" or "local")
TRICKS = [
    ("<user@other.test>", "refuse"),
    ("user@other.test", "refuse"),
    ("<user@OTHER.test>", "refuse"),
    ("<user%other.test@example.test>", "local"),
    ('<"user@other.test"@example.test>', "local"),
    ("<user@other.test@example.test>", "local"),
    ("<user\\@other.test@example.test>", "local"),
    ("<@example.test:user@other.test>", "refuse"),
    ("<@example.test,@example.test:user@other.test>", "refuse"),
    ("<@other.test:user@example.test>", "local"),
    ("<other.test!user@example.test>", "local"),
    ("<user@example.test@other.test>", "refuse"),
    ('<"user@other.test">', "refuse"),
    ("<user@[127.0.0.1]>", "local"),
    ("<user@[192.0.2.1]>", "refuse"),
    ("<user@other.test.>", "refuse"),
    ("<user@example.test.>", "refuse"),
    ("<USER@EXAMPLE.TEST>", "local"),
    ("<user@example.test.other.test>", "refuse"),
    ("<user@xexample.test>", "refuse"),
]

t = Tap()
sink = Sink()
with Instance(t, name="example.test") as q:
    prepare(q)
    q.control("rcpthosts", "example.test\n.wild.test\n")
    q.control("morercpthosts", "more.test\n")
    q.control("smtproutes", ":[127.0.0.1]:%d\n" % sink.port)
    r = run([q.bin("qmail-newmrh")])
    t.eq(r.returncode, 0, "qmail-newmrh compiles morercpthosts", r.stderr)
    t.ok(os.path.exists(q.path("control/morercpthosts.cdb")), "control/morercpthosts.cdb exists")
    q.write("alias/.qmail-default", "./Maildir/\n")
    q.start()
    have_remote = os.path.exists(q.bin("qmail-remote"))

    def rcpt_codes(port, addrs, data=True):
        r = Raw(port)
        r.reply()
        r.cmd("EHLO client.test")
        r.cmd("MAIL FROM:<s@a.test>")
        codes = [r.cmd("RCPT TO:" + a)[0] for a in addrs]
        if data and 250 in codes:
            r.cmd("DATA")
            r.cmd("Subject: relay test\r\n\r\nhi\r\n.")
        r.cmd("QUIT")
        return codes

    with Server(q) as s:
        codes = rcpt_codes(s.port, [a for a, _ in TRICKS])
        for (a, want), code in zip(TRICKS, codes):
            if want == "refuse":
                t.eq(code, 553, "no RELAYCLIENT: %s refused" % a)
            else:
                t.eq(code, 250, "no RELAYCLIENT: %s accepted for local delivery" % a)
        nlocal = sum(1 for _, w in TRICKS if w == "local")
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == nlocal and "end msg" in q.logtext(), 20),
             "every accepted trick reached alias/Maildir", q.logtext())
        log = q.logtext()
        t.eq(log.count(" to local "), nlocal, "qmail-send delivered %d recipients locally" % nlocal, log)
        t.ok(" to remote " not in log, "no recipient was routed remote", log)

        # rcpthosts wildcards and morercpthosts.cdb (RCPT only: these are
        # legitimately remote, as for a backup MX).
        codes = rcpt_codes(s.port, ["<a@x.wild.test>", "<a@wild.test>", "<a@more.test>", "<a@MORE.TEST>",
                                    "<a@x.more.test>", "<postmaster>"], data=False)
        t.eq(codes, [250, 553, 250, 250, 553, 250],
             "'.wild.test' covers subdomains only; morercpthosts.cdb; an address without @ is allowed")

        # percenthack: user%other@here would be rewritten to a remote
        # address by qmail-send, so it is a relay and is refused.
        q.control("percenthack", "example.test\n")
        codes = rcpt_codes(s.port, ["<user%other.test@example.test>", "<user%example.test@example.test>"], data=False)
        t.eq(codes, [553, 250], "with percenthack: user%other@local refused, user%local@local accepted")
        os.unlink(q.path("control/percenthack"))

    # Positive twins: the same addresses from a RELAYCLIENT client.
    with Server(q, env={"RELAYCLIENT": ""}) as s:
        refused = [a for a, w in TRICKS if w == "refuse" and "[192.0.2.1]" not in a and a[-2:] != ".>"]
        codes = rcpt_codes(s.port, refused)
        t.eq(codes, [250] * len(refused), "RELAYCLIENT: every refused trick is accepted", list(zip(refused, codes)))
        t.ok(q.wait(lambda: q.logtext().count(" to remote ") >= len(refused), 20),
             "RELAYCLIENT: qmail-send routes them remote", q.logtext())
        if have_remote:
            t.ok(q.wait(lambda: len(sink.got) >= 1, 30), "RELAYCLIENT: the relayed message reached the sink",
                 q.logtext())
        else:
            t.skip("RELAYCLIENT: the relayed message reached the sink", "qmail-remote not built yet")

    # RELAYCLIENT is appended to each recipient (qmail-smtpd(8)).
    with Server(q, env={"RELAYCLIENT": ".test"}) as s:
        before = q.maildir_count("alias/Maildir")
        codes = rcpt_codes(s.port, ["<joe@example>"])
        t.eq(codes, [250], "RELAYCLIENT='.test': joe@example accepted")
        t.ok(q.wait(lambda: "to local joe@example.test" in q.logtext()), "delivered as joe@example.test",
             q.logtext())
    if have_remote:
        q.wait(lambda: sum(len(rc) for _, rc, _ in sink.got) >= len(refused), 20)
    seen = [r for _, rc, _ in sink.got for r in rc]
    t.ok(not any(r.rsplit("@", 1)[-1].lower() == "example.test" for r in seen),
         "the sink never saw an address of the local domain", seen)
    if have_remote:
        t.eq(len(seen), len(refused), "the sink saw exactly the twins' recipients", seen)
sink.close()
t.done()
