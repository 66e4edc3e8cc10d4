#!/usr/bin/env python3
# qmail-remote's SMTP conversation and its reports (qmail-remote(8)),
# against scripted sinks on 127.0.0.20-29 found through dnsmasq:
# the report format (r/h/s per recipient, then K/Z/D, NUL-terminated),
# qmail's texts, the remote's whole multi-line reply, one transaction for
# several recipients, EHLO with HELO fallback, PIPELINING (MAIL, RCPT and
# DATA in one write), SIZE (a message too big is refused without sending
# it), BODY=8BITMIME, SMTPUTF8 (non-ASCII addresses and a peer without it
# bounce), the next MX after a 4xx or broken greeting, deferral when all
# fail, failures on MAIL, DATA and after the dot, a connection dropped in
# DATA ("Possible duplicate!"), a silent server (timeoutremote), local
# parts quoted, a line break in an address refused, input from a pipe,
# usage errors.
# smoke
import os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, IS_ROOT
from remotelib import Sink, Dns, remote, parse_reports, MXROUTE

t = Tap()
MSG = "From: joe@example.test\nTo: a@far.test\nSubject: test\n\nhello\n"

DNS = ["mx-host=far.test,mx.far.test,10", "host-record=mx.far.test,127.0.0.20",
       "mx-host=two.test,mx1.two.test,10", "mx-host=two.test,mx2.two.test,20",
       "host-record=mx1.two.test,127.0.0.21", "host-record=mx2.two.test,127.0.0.22",
       "mx-host=helo.test,mx.helo.test,10", "host-record=mx.helo.test,127.0.0.23",
       "mx-host=dead.test,mx1.dead.test,10", "mx-host=dead.test,mx2.dead.test,20",
       "host-record=mx1.dead.test,127.0.0.24", "host-record=mx2.dead.test,127.0.0.25",
       "mx-host=slow.test,mx.slow.test,10", "host-record=mx.slow.test,127.0.0.26"]


def letters(reps):
    return "".join(l for l, _ in reps)


with Instance(t, name="example.test") as q, Dns(DNS) as d:
    q.control("dnsservers", d.server_line())
    q.control("smtproutes", MXROUTE)

    # ---- a plain delivery to two recipients, one refused ------------------
    with Sink("127.0.0.20", rcpt=lambda a: "550-5.1.1 no such user\r\n550 5.1.1 here" if a.startswith("bad") else "250 ok",
              final="250 2.0.0 ok: queued as ABC") as s:
        reps, p = remote(q, "far.test", "joe@example.test", ["a@far.test", "bad@far.test", "c@far.test"], MSG)
        t.eq(p.returncode, 0, "qmail-remote exits 0")
        t.eq(letters(reps), "rhrK", "one report per recipient, then the message report", reps)
        t.eq(reps[1][1], "127.0.0.20 does not like recipient.\nRemote host said: 550-5.1.1 no such user\n550 5.1.1 here\n",
             "permanent refusal: qmail's text with the whole multi-line reply")
        t.eq(reps[3][1], "127.0.0.20 accepted message.\nRemote host said: 250 2.0.0 ok: queued as ABC\n", "success text")
        t.eq(len(s.sessions), 1, "one connection")
        t.eq(len(s.messages), 1, "one transaction")
        m = s.messages[0] if s.messages else None
        t.ok(m and m.rcpts == ["a@far.test", "c@far.test"] and m.mailfrom == "joe@example.test", "envelope", s.messages)
        t.ok(m and m.data == MSG.replace("\n", "\r\n").encode(), "message bytes with CRLF", m and m.data)
        cmds = s.sessions[0].cmds
        t.eq(cmds[0], "EHLO example.test", "EHLO with control/me")
        t.ok(cmds[1].startswith("MAIL FROM:<joe@example.test> SIZE="), "SIZE= on MAIL", cmds)
        t.eq(cmds[-1], "QUIT", "QUIT at the end")

    # ---- PIPELINING: RCPT is sent before MAIL's reply; without it, not ----
    with Sink("127.0.0.20", delay_mail=0.3) as s:
        remote(q, "far.test", "joe@example.test", ["a@far.test", "b@far.test"], MSG)
        t.ok(s.sessions and s.sessions[0].pipelined, "PIPELINING: RCPT follows MAIL without waiting")
    with Sink("127.0.0.20", delay_mail=0.3, ext=("8BITMIME",)) as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test", "b@far.test"], MSG)
        t.ok(s.sessions and not s.sessions[0].pipelined and letters(reps) == "rrK", "no PIPELINING: one command at a time", reps)
        t.ok(s.sessions and "SIZE=" not in s.sessions[0].cmds[1], "no SIZE= when not offered", s.sessions and s.sessions[0].cmds)

    # ---- SIZE: too big is refused before MAIL -------------------------------
    with Sink("127.0.0.20", ext=("PIPELINING", "SIZE 100")) as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG + "x" * 200 + "\n")
        t.eq(letters(reps), "D", "a message larger than SIZE fails permanently", reps)
        t.ok(reps and "#5.3.4" in reps[-1][1] and "100" in reps[-1][1], "its text names the limit", reps)
        t.ok(s.sessions and not any(c.startswith("MAIL") for c in s.sessions[0].cmds), "nothing sent", s.sessions and s.sessions[0].cmds)

    # ---- 8BITMIME and SMTPUTF8 ---------------------------------------------
    with Sink("127.0.0.20", ext=("PIPELINING", "8BITMIME", "SMTPUTF8")) as s:
        remote(q, "far.test", "joe@example.test", ["a@far.test"], "Subject: caf\xe9\n\nna\xefve\n")
        mail = s.sessions[0].cmds[1] if s.sessions else ""
        t.ok("BODY=8BITMIME" in mail and "SMTPUTF8" in mail, "8-bit body and header: BODY=8BITMIME SMTPUTF8", mail)
        s.sessions.clear()
        remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        mail = s.sessions[0].cmds[1] if s.sessions else ""
        t.ok("BODY=" not in mail and "SMTPUTF8" not in mail, "plain ASCII: neither", mail)
        s.sessions.clear()
        reps, _ = remote(q, "far.test", "jo\xe9@example.test", ["\xfc@far.test"], MSG)
        t.eq(letters(reps), "rK", "non-ASCII addresses to a SMTPUTF8 peer", reps)
    with Sink("127.0.0.20", ext=("PIPELINING", "8BITMIME")) as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["\xfc@far.test"], MSG)
        t.ok(letters(reps) == "D" and "#5.6.7" in reps[-1][1], "non-ASCII address, peer without SMTPUTF8: permanent (RFC 6531)", reps)
        t.eq(len(s.messages), 0, "and nothing delivered")

    # ---- EHLO refused: HELO ---------------------------------------------------
    with Sink("127.0.0.23", ehlo=lambda a: "502 no ESMTP here") as s:
        reps, _ = remote(q, "helo.test", "joe@example.test", ["a@helo.test"], MSG)
        t.eq(letters(reps), "rK", "delivered after HELO", reps)
        t.ok(s.sessions and s.sessions[0].cmds[:2] == ["EHLO example.test", "HELO example.test"], "EHLO then HELO",
             s.sessions and s.sessions[0].cmds)
    with Sink("127.0.0.23", ehlo=lambda a: "502 no", helo=lambda a: "501 who are you") as s:
        reps, _ = remote(q, "helo.test", "joe@example.test", ["a@helo.test"], MSG)
        t.ok(letters(reps) == "Z" and "but my name was rejected" in reps[0][1] and "501 who are you" in reps[0][1],
             "name rejected: temporary, with the reply", reps)

    # ---- greeting 4xx or garbage: next MX ----------------------------------
    for greet, what in (("421 4.3.2 busy", "4xx greeting"), ("hello there", "broken greeting")):
        with Sink("127.0.0.21", greeting=greet) as s1, Sink("127.0.0.22") as s2:
            reps, _ = remote(q, "two.test", "joe@example.test", ["a@two.test"], MSG)
            t.eq(letters(reps), "rK", what + ": delivered by the next MX", reps)
            t.ok(len(s1.sessions) == 1 and len(s2.messages) == 1, what + ": first tried, second delivered")
    with Sink("127.0.0.21", greeting="554 go away") as s1, Sink("127.0.0.22", greeting="421 later") as s2:
        reps, _ = remote(q, "two.test", "joe@example.test", ["a@two.test"], MSG)
        t.ok(letters(reps) == "Z" and reps[0][1].startswith("Connected to 127.0.0.22 but greeting failed.\nRemote host said: 421 later"),
             "every MX refuses: temporary, the last reason", reps)
    # nothing listens on 127.0.0.24; 127.0.0.25 answers
    with Sink("127.0.0.25") as s:
        reps, _ = remote(q, "dead.test", "joe@example.test", ["a@dead.test"], MSG)
        t.eq(letters(reps), "rK", "connection refused: next MX", reps)
    reps, _ = remote(q, "dead.test", "joe@example.test", ["a@dead.test"], MSG)
    t.eq(reps, [("Z", "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n")], "no MX answers: qmail's #4.4.1")

    # ---- failures on MAIL, RCPT (all), DATA, after the dot ----------------
    with Sink("127.0.0.20", mail=lambda a: "553 5.7.1 sender refused") as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.eq(reps, [("D", "Connected to 127.0.0.20 but sender was rejected.\nRemote host said: 553 5.7.1 sender refused\n")],
             "5xx to MAIL: permanent")
    with Sink("127.0.0.20", mail=lambda a: "451 4.3.0 try later", ext=("8BITMIME",)) as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.ok(letters(reps) == "Z" and "sender was rejected" in reps[0][1], "4xx to MAIL: temporary", reps)
    with Sink("127.0.0.20", rcpt=lambda a: "450 4.2.0 mailbox busy" if a.startswith("b") else "550 5.1.1 unknown") as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test", "b@far.test"], MSG)
        t.eq(letters(reps), "hsD", "every recipient refused: h, s, then D", reps)
        t.eq(reps[-1][1], "Giving up on 127.0.0.20.\n", "qmail's 'Giving up' text")
        t.eq(len(s.messages), 0, "no message")
    with Sink("127.0.0.20", data="554 5.6.0 no data today") as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.eq(reps, [("r", ""), ("D", "127.0.0.20 failed on DATA command.\nRemote host said: 554 5.6.0 no data today\n")],
             "5xx to DATA")
    for code, letter in (("552 5.3.4 too big", "D"), ("451 4.3.0 disk full", "Z")):
        with Sink("127.0.0.20", final=code) as s:
            reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
            t.eq(reps, [("r", ""), (letter, "127.0.0.20 failed after I sent the message.\nRemote host said: %s\n" % code)],
                 "%s after the dot: %s" % (code[:3], letter))

    # ---- a connection dropped in DATA, a silent server ---------------------
    with Sink("127.0.0.20", drop_in_data=True) as s:
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG + "x" * 100000 + "\n")
        t.ok(letters(reps) == "rZ" and "but connection died" in reps[-1][1] and "#4.4.2" in reps[-1][1],
             "dropped in DATA: temporary", reps)
    q.control("timeoutremote", "2")
    with Sink("127.0.0.26", silent=5) as s:
        reps, p = remote(q, "slow.test", "joe@example.test", ["a@slow.test"], MSG)
        took = p.elapsed
        t.ok(letters(reps) == "Z" and "greeting failed" in reps[0][1], "silent server: temporary after timeoutremote", reps)
        t.ok(took < 4.5, "within control/timeoutremote (2 s)", took)
    os.unlink(q.path("control/timeoutremote"))

    # ---- addresses on the wire ----------------------------------------------
    with Sink("127.0.0.20") as s:
        reps, _ = remote(q, "far.test", "", ["john doe@far.test", "a.b@far.test", "x\r\nRSET@far.test", "y@far.test> NOTIFY=NEVER"], MSG)
        cmds = s.sessions[0].cmds if s.sessions else []
        t.ok("MAIL FROM:<>" in " ".join(cmds), "empty sender as <>", cmds)
        t.ok('RCPT TO:<"john doe"@far.test>' in cmds and "RCPT TO:<a.b@far.test>" in cmds, "local part quoted when needed", cmds)
        t.ok(not any("RSET" in c or "NOTIFY" in c for c in cmds), "an address with a line break or '> ' is never sent", cmds)
        t.eq(letters(reps), "rrhhK", "and is refused on its own", reps)

    # ---- the message from a pipe; usage -----------------------------------
    with Sink("127.0.0.20") as s:
        env = dict(os.environ, NQMAIL_HOME=q.dir)
        p = subprocess.run(["sh", "-c", "printf 'Subject: piped\\n\\nbody\\n' | %s far.test joe@example.test a@far.test" % q.bin("qmail-remote")],
                           capture_output=True, env=env, timeout=60)
        reps = parse_reports(p.stdout)
        t.ok(letters(reps) == "rK" and s.messages and s.messages[0].data == b"Subject: piped\r\n\r\nbody\r\n",
             "message read from a pipe", (reps, s.messages))
    p = subprocess.run([q.bin("qmail-remote"), "far.test"], capture_output=True, env=dict(os.environ, NQMAIL_HOME=q.dir))
    t.ok(p.returncode == 0 and parse_reports(p.stdout) == [("D", "I (qmail-remote) was invoked improperly. (#5.3.5)\n")],
         "usage: a D report, exit 0", p.stdout)
t.done()
