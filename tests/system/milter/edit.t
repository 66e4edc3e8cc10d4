#!/usr/bin/env python3
# What a milter changes at the end of the message is what qmail-queue
# gets: header fields added (at the end and at the top), changed and
# deleted, recipients added and removed, the sender changed, the body
# replaced, quarantine marked with a field; a value with CR LF in it cannot start a new field;
# with two milters, both changes land in order, and a refusal by the
# second wins over the first one's acceptance.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from milterlib import MilterServer, prepare, Server, queued, clear, use, send
from nqtest import Tap, Instance

t = Tap()
GOOD = "postmaster@example.test"
BODY = "From: a@a.test\nSubject: original\nX-Old: 1\nX-Old: 2\n\nthe body\n"

with Instance(t, name="example.test") as q, MilterServer() as m, MilterServer() as m2:
    prepare(q)
    q.control("rcpthosts", "example.test\n")
    q.write("alias/.qmail-default", "./Maildir/\n")   # every local address exists
    use(q, m)
    with Server(q) as s:
        m.script = {"eom_actions": [
            ["addheader", "X-Spam-Score", "1.5"],
            ["insheader", 0, "X-Top", "first field"],
            ["chgheader", 1, "Subject", "[tagged] original"],
            ["chgheader", 2, "X-Old", ""],
            ["addrcpt", "<copy@example.test>"],
            ["delrcpt", "<%s>" % GOOD],
            ["chgfrom", "<bounces@a.test>"],
        ], "eom": "accept"}
        clear(q)
        got = send(s.port, rcpts=(GOOD, "other@example.test"), body=BODY)
        t.eq(got["data"], 250, "message accepted", got["text"])
        msgs = queued(q)
        t.eq(len(msgs), 1, "queued once")
        if msgs:
            msg = msgs[0]
            head = msg.head
            # qmail-queue's own Received line goes on top of what qmail-smtpd gave it
            mine = head.split("\n", 1)[1] if head.startswith("Received: (qmail") else head
            t.ok(mine.startswith("X-Top: first field\nReceived: from"), "INSHEADER 0: at the top, above our Received", head)
            t.ok("Subject: [tagged] original\n" in head and "Subject: original" not in head, "CHGHEADER replaced Subject", head)
            t.ok("X-Old: 1\n" in head and "X-Old: 2" not in head, "CHGHEADER with an empty value deleted the second X-Old", head)
            t.ok(head.rstrip("\n").endswith("X-Spam-Score: 1.5"), "ADDHEADER: at the end", head)
            t.ok("Received: from" in head, "our Received field kept", head)
            t.eq(msg.body, b"the body\n", "body untouched")
            t.eq(sorted(msg.rcpts), ["copy@example.test", "other@example.test"], "recipient added, one removed")
            t.eq(msg.sender, "bounces@a.test", "sender changed")
        log = s.log()
        t.ok("adds recipient copy@example.test" in log and "changes the sender to bounces@a.test" in log,
             "changes logged", log[-1500:])

        # a field cannot be smuggled through a value
        m.script = {"eom_actions": [["addheader", "X-Note", "a\r\nBcc: evil@example.test\r\n\r\nbody"]]}
        clear(q)
        got = send(s.port, body=BODY)
        msgs = queued(q)
        t.ok(msgs and "X-Note: a\n\tBcc: evil@example.test\n\tbody\n" in msgs[0].head, "continuation lines forced", msgs[0].head if msgs else got)
        t.ok(msgs and "\nBcc:" not in msgs[0].head, "no Bcc field made")

        # quarantine becomes a field
        m.script = {"eom_actions": [["quarantine", "virus found"]]}
        clear(q)
        send(s.port, body=BODY)
        msgs = queued(q)
        t.ok(msgs and "X-Milter-Quarantine: virus found\n" in msgs[0].head, "QUARANTINE: X-Milter-Quarantine field", msgs[0].head if msgs else None)

        # the body replaced (REPLBODY), with a header change; then alone
        m.script = {"actions": 127, "eom_actions": [["replbody", "replaced\r\n.dot line\r\n"], ["replbody", "end\r\n"],
                                                    ["addheader", "X-Body", "new"]]}
        clear(q)
        got = send(s.port, body=BODY)
        msgs = queued(q)
        t.ok(msgs and msgs[0].body == b"replaced\n.dot line\nend\n", "REPLBODY: the new body queued, LF line ends",
             msgs[0].body if msgs else got)
        t.ok(msgs and "X-Body: new" in msgs[0].head and "Subject: original" in msgs[0].head, "REPLBODY: the header kept, with the change")
        m.script = {"actions": 127, "eom_actions": [["replbody", "only the body\r\n"]]}
        clear(q)
        got = send(s.port, body=BODY)
        msgs = queued(q)
        t.ok(msgs and msgs[0].body == b"only the body\n" and "X-Old: 2" in msgs[0].head, "REPLBODY alone: header untouched",
             msgs[0].data if msgs else got)
        m.script = {"actions": 127, "eom_actions": [["replbody", "new body\r\n"]]}
        clear(q)
        got = send(s.port, body="Subject: no body at all\n")
        msgs = queued(q)
        t.ok(msgs and msgs[0].body == b"new body\n" and "Subject: no body at all" in msgs[0].head,
             "REPLBODY for a message without a body: an empty line is put before it", msgs[0].data if msgs else got)

        # every recipient removed: nothing queued, the client still told 250
        m.script = {"eom_actions": [["delrcpt", GOOD]]}
        clear(q)
        got = send(s.port, body=BODY)
        t.eq(got["data"], 250, "all recipients removed: 250")
        t.eq(len(queued(q)), 0, "all recipients removed: nothing queued")

        # a change the milter did not negotiate: the milter broke the protocol
        m.script = {"actions": 1, "eom_actions": [["addrcpt", "x@example.test"]]}
        clear(q)
        got = send(s.port, body=BODY)
        t.eq(got["data"], 451, "change not negotiated: 451 (onfail=tempfail)", got["text"])
        t.eq(len(queued(q)), 0, "nothing queued")

    # two milters, in the order of control/milters
    use(q, m, m2)
    with Server(q) as s:
        m.script = {"eom_actions": [["addheader", "X-First", "1"]]}
        m2.script = {"eom_actions": [["addheader", "X-Second", "2"]]}
        clear(q)
        got = send(s.port, body=BODY)
        msgs = queued(q)
        t.ok(msgs and msgs[0].head.index("X-First") < msgs[0].head.index("X-Second"), "two milters: both fields, in order",
             msgs[0].head if msgs else got)
        m.script = {"eom": "accept"}
        m2.script = {"eom": "reject"}
        clear(q)
        got = send(s.port, body=BODY)
        t.eq(got["data"], 554, "the second milter's reject wins")
        t.eq(len(queued(q)), 0, "nothing queued")
        m.script = {"rcpt": "reject"}
        m2.clear()
        got = send(s.port, body=BODY)
        t.eq(got["rcpt"], [550], "the first milter refuses RCPT")
        t.eq(m2.seen("R"), [], "the second milter is not asked")

t.done()
