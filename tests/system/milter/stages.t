#!/usr/bin/env python3
# qmail-smtpd consults the milters of control/milters at every stage and
# does what they say: a scripted milter answers each stage with continue,
# reject, tempfail, discard or its own reply code, and each time the SMTP
# reply, the queue and qmail-smtpd's log line are checked. The milter sees
# the connection, HELO, MAIL, RCPT, then the message (header fields, body
# with CR LF) and the macros it expects; a client with RELAYCLIENT and an
# authenticated client are sent to the milter too ({auth_authen} names
# the login); RSET aborts the milter's transaction.
# smoke
import base64, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from milterlib import MilterServer, prepare, Server, queued, clear, use, send, Txn
from nqtest import Tap, Instance, wait, run

t = Tap()
GOOD = "postmaster@example.test"


def one(q, s, m, script, name, want, rcpts=(GOOD,), queued_n=None):
    """Run one transaction under script; want: stage -> code."""
    m.script = script
    m.clear()
    clear(q)
    got = send(s.port, rcpts=rcpts)
    for k, v in want.items():
        t.eq(got[k], v, "%s: %s reply" % (name, k), got["text"])
    if queued_n is not None:
        t.eq(len(queued(q)), queued_n, "%s: %d message(s) queued" % (name, queued_n))
    return got


with Instance(t, name="example.test") as q, MilterServer() as m:
    prepare(q)
    q.control("rcpthosts", "example.test\n")
    q.write("alias/.qmail-default", "./Maildir/\n")   # every local address exists
    use(q, m)
    with Server(q) as s:
        # every stage continues: the message is queued, the milter saw it all
        got = one(q, s, m, {}, "continue", {"greeting": 220, "helo": 250, "mail": 250, "rcpt": [250], "data": 250}, queued_n=1)
        order = [e["cmd"] for e in m.session() if e["cmd"] != "D"]
        t.eq(order[:6], ["O", "C", "H", "M", "R", "T"], "stages in order: negotiation, connect, HELO, MAIL, RCPT, DATA", order)
        t.ok("N" in order and "B" in order and "E" in order and order.index("N") < order.index("B") < order.index("E"),
             "then the header, end of header, body, end of message", order)
        conn = m.seen("C")
        t.ok(conn and conn[0]["addr"] == "127.0.0.1" and conn[0]["family"] == "4", "CONNECT names the client's address", conn)
        t.ok(m.seen("M") and m.seen("M")[0]["args"][0] == "<s@a.test>", "MAIL sender in angle brackets", m.seen("M"))
        t.ok(m.seen("R") and m.seen("R")[0]["args"][0] == "<%s>" % GOOD, "RCPT recipient", m.seen("R"))
        hdrs = {e["name"]: e["value"] for e in m.seen("L")}
        t.eq(hdrs.get("Subject"), "test", "the milter saw the Subject field, leading blank removed", hdrs)
        t.ok("Received" in hdrs, "the milter saw our Received field", hdrs)
        body = "".join(e["data"] for e in m.seen("B"))
        t.eq(body, "hello\r\n", "body sent with CR LF")
        macros = {}
        for e in m.seen("D"):
            macros.update(e["macros"])
        for k in ("j", "{daemon_name}", "{client_addr}", "_", "{mail_addr}", "{rcpt_addr}", "i"):
            t.ok(k in macros, "macro %s sent" % k, macros)
        t.eq(macros.get("{mail_addr}"), "s@a.test", "{mail_addr} is the sender")
        t.eq(macros.get("j"), "example.test", "j is control/me")
        t.ok(wait(lambda: [e for e in m.session() if e["cmd"] in ("Q", "EOF")], 5), "QUIT at the end of the session")

        # connect
        got = one(q, s, m, {"connect": "reject"}, "connect reject", {"greeting": 554})
        one(q, s, m, {"connect": "tempfail"}, "connect tempfail", {"greeting": 421})

        # HELO: refused, and no mail without a HELO that passes
        m.script = {"helo": "reject"}
        x = Txn(s.port)
        t.eq(x.helo[0], 550, "HELO reject: 550 to EHLO", x.helo)
        t.eq(x.mail()[0], 550, "HELO reject: MAIL refused too")
        x.quit()

        # MAIL
        one(q, s, m, {"mail": "reject"}, "MAIL reject", {"mail": 550})
        one(q, s, m, {"mail": "tempfail"}, "MAIL tempfail", {"mail": 451})
        got = one(q, s, m, {"mail": "reply:553 5.7.1 senders like you are not welcome"}, "MAIL reply code", {"mail": 553})
        t.ok("5.7.1 senders like you are not welcome" in got["text"], "the milter's own text", got["text"])
        got = one(q, s, m, {"mail": "reply:550 5.7.1 first\r\n250 injected"}, "MAIL reply code with CR LF", {"mail": 550})
        t.ok("injected" not in got["text"], "no line injected into the dialogue", got["text"])
        got = one(q, s, m, {"mail": "reply:250 2.0.0 sure"}, "MAIL reply code 250 (not a refusal)", {"mail": 451})

        # RCPT: one refused, the other kept
        got = one(q, s, m, {"rcpt": {"bad@example.test": "reject"}}, "RCPT reject",
                  {"rcpt": [550, 250], "data": 250}, rcpts=("bad@example.test", GOOD), queued_n=1)
        msgs = queued(q)
        t.eq(msgs[0].rcpts if msgs else None, [GOOD], "only the accepted recipient queued")
        t.ok(m.seen("R") and m.seen("R")[0]["args"] == ["<bad@example.test>"], "the milter was asked about it")
        one(q, s, m, {"rcpt": "tempfail"}, "RCPT tempfail", {"rcpt": [451]}, queued_n=0)
        one(q, s, m, {"rcpt": "discard"}, "RCPT discard", {"rcpt": [250], "data": 250}, queued_n=0)

        # end of message
        one(q, s, m, {"eom": "reject"}, "end reject", {"data": 554}, queued_n=0)
        one(q, s, m, {"eom": "tempfail"}, "end tempfail", {"data": 451}, queued_n=0)
        got = one(q, s, m, {"eom": "reply:550 5.7.0 spam detected"}, "end reply code", {"data": 550}, queued_n=0)
        t.ok("550 5.7.0 spam detected" in got["text"], "the milter's text after DATA", got["text"])
        one(q, s, m, {"eom": "discard"}, "end discard", {"data": 250}, queued_n=0)
        one(q, s, m, {"body": "reject"}, "body reject", {"data": 554}, queued_n=0)
        one(q, s, m, {"header": {"subject": "tempfail"}}, "header tempfail", {"data": 451}, queued_n=0)
        one(q, s, m, {"mail": "accept", "eom": "reject"}, "accept at MAIL: not asked again for the message",
            {"data": 250}, queued_n=1)

        # two messages in one session; RSET aborts the milter's transaction
        clear(q)
        m.script = {"eom": {"*": "continue"}}
        m.clear()
        x = Txn(s.port)
        x.mail()
        x.rcpt(GOOD)
        x.r.cmd("RSET")
        x.mail()
        x.rcpt(GOOD)
        t.eq(x.data("Subject: one\n\n1\n")[0], 250, "first message after RSET accepted")
        x.mail()
        x.rcpt(GOOD)
        t.eq(x.data("Subject: two\n\n2\n")[0], 250, "second message in the session accepted")
        x.quit()
        t.eq(len(queued(q)), 2, "both queued")
        t.ok(wait(lambda: "A" in [e["cmd"] for e in m.seen()], 5), "RSET sent ABORT to the milter",
             [e["cmd"] for e in m.seen()])
        log = s.log()
        t.ok("milter inet:127.0.0.1:%d: reject at RCPT" % m.port in log, "qmail-smtpd logs the RCPT verdict", log[-2000:])
        t.ok("discard at end of message" in log, "and the discard", log[-2000:])

    # RELAYCLIENT clients are still sent to the milter
    with Server(q, env={"RELAYCLIENT": ""}) as s:
        one(q, s, m, {}, "RELAYCLIENT", {"mail": 250, "rcpt": [250], "data": 250}, rcpts=("x@elsewhere.test",), queued_n=1)
        t.ok(m.seen("E"), "RELAYCLIENT client: the milter saw the message")
        one(q, s, m, {"eom": "reject"}, "RELAYCLIENT, milter rejects", {"data": 554}, rcpts=("x@elsewhere.test",), queued_n=0)

    # an authenticated client too, and the milter is told its login
    r = run([q.bin("qmail-vuser"), "add", "joe@example.test"], input="joe-secret\n")
    t.eq(r.returncode, 0, "qmail-vuser add", r.stderr)
    with Server(q, env={"AUTHPLAINLOOPBACK": "1"}, args=[q.bin("checkpassword"), "/bin/true"]) as s:
        m.script = {}
        m.clear()
        clear(q)
        x = Txn(s.port)
        code, text = x.r.cmd("AUTH PLAIN " + base64.b64encode(b"\0joe@example.test\0joe-secret").decode())
        t.eq(code, 235, "AUTH accepted", text)
        t.eq(x.mail("joe@example.test")[0], 250, "authenticated MAIL")
        t.eq(x.rcpt("someone@elsewhere.test")[0], 250, "authenticated client relays")
        t.eq(x.data("Subject: auth\n\nhi\n")[0], 250, "message accepted")
        x.quit()
        macros = {}
        for e in m.session("M"):
            if e["cmd"] == "D":
                macros.update(e["macros"])
        t.eq(macros.get("{auth_authen}"), "joe@example.test", "the milter is told the login ({auth_authen})", macros)
        t.ok([e for e in m.session("M") if e["cmd"] == "E"], "the authenticated client's message went to the milter")

t.done()
