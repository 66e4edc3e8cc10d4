#!/usr/bin/env python3
# qmail-qmtpd under tcpserver (qmail-send not running: what it queues
# stays in queue/todo to be read back). Several packages in one
# connection, each answered with one netstring per recipient in order;
# relay rules as qmail-smtpd's (rcpthosts, morercpthosts.cdb, percenthack,
# RELAYCLIENT appended); the LF format byte; databytes and maxrcpt; 8-bit
# bytes untouched; a malformed or cut package closes the connection and
# queues nothing, while packages answered before it stay queued. Last,
# with qmail-send running, a QMTP message reaches the hub's Maildir.
# smoke
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-qmqpd"))
from qmqplib import Server, Conn, qmtp_package, ns, queued, clear, queue_empty
from nqtest import Tap, Instance, run, wait

RELAY = "sorry, that domain isn't in my list of allowed rcpthosts"

t = Tap()
with Instance(t, name="hub.test") as q:
    q.control("rcpthosts", "hub.test\n.wild.test\n")
    q.control("morercpthosts", "more.test\n")
    r = run([q.bin("qmail-newmrh")])
    t.eq(r.returncode, 0, "qmail-newmrh", r.stderr)

    with Server(q, prog="qmail-qmtpd") as s:
        # Three packages in one connection, sent at once (QMTP pipelines).
        b1 = b"Subject: one \xe2\x9c\x93\n\nbin \x00\x01\xfe\xff\n"
        c = Conn(s.port)
        c.send(qmtp_package(b1, "a@client.test", ["x@hub.test", "y@else.test", "z@a.wild.test"]) +
               qmtp_package("Subject: two\n\n2\n", "", ["w@more.test"]) +
               qmtp_package("Subject: three\n\n3\n", "b@client.test", ["n@else.test"]))
        rep = c.replies(5)
        t.eq(len(rep), 5, "five answers for five recipients in three packages", (rep, s.log()))
        if len(rep) == 5:
            t.ok(rep[0].startswith("K") and rep[2].startswith("K"), "package 1: rcpthosts and .wild.test accepted", rep)
            t.ok(rep[1].startswith("D") and RELAY in rep[1], "package 1: other domain refused (D, rcpthosts)", rep)
            t.ok(rep[0] == rep[2], "package 1: accepted recipients share the message's answer", rep)
            t.ok(rep[3].startswith("K"), "package 2: morercpthosts.cdb domain accepted, null sender", rep)
            t.ok(rep[4].startswith("D") and RELAY in rep[4], "package 3: only a relay recipient: refused", rep)
        # The connection is still usable after a refused package.
        c.send(qmtp_package("Subject: four\n\n4\n", "c@client.test", ["v@hub.test"]))
        rep = c.replies(1)
        t.ok(rep and rep[0].startswith("K"), "a fourth package on the same connection", rep)
        c.close()
        # queue order is inode order: sort by the envelope sender.
        m = sorted(queued(q), key=lambda x: {"a@client.test": 0, "": 1}.get(x.sender, 2))
        t.eq(len(m), 3, "three messages queued (the all-refused package is not)")
        if len(m) == 3:
            t.eq((m[0].sender, m[0].rcpts), ("a@client.test", ["x@hub.test", "z@a.wild.test"]),
                 "message 1: envelope holds the accepted recipients only")
            t.ok(m[0].data.endswith(b1), "message 1: 8-bit and NUL bytes untouched", m[0].data)
            t.ok(any("with QMTP" in x and "by hub.test" in x for x in m[0].received()),
                 "message 1: Received line names QMTP", m[0].received())
            t.eq((m[1].sender, m[1].rcpts), ("", ["w@more.test"]), "message 2: null sender")
            t.eq(m[2].rcpts, ["v@hub.test"], "message 4")
        clear(q)

        # percenthack: user%else@hub.test would be routed away: a relay.
        q.control("percenthack", "hub.test\n")
        c = Conn(s.port)
        c.send(qmtp_package("x\n", "a@b", ["u%else.test@hub.test", "u%hub.test@hub.test"]))
        rep = c.replies(2)
        c.close()
        t.ok(len(rep) == 2 and rep[0].startswith("D") and rep[1].startswith("K"),
             "percenthack: user%other@hub refused, user%hub@hub accepted", rep)
        os.unlink(q.path("control/percenthack"))
        clear(q)

        # Only LF line ends exist: another format byte is refused per
        # recipient, and the session goes on.
        c = Conn(s.port)
        c.send(qmtp_package("x\r\n", "a@b", ["x@hub.test", "y@hub.test"], fmt=b"\r") +
               qmtp_package("ok\n", "a@b", ["x@hub.test"]))
        rep = c.replies(3)
        c.close()
        t.ok(len(rep) == 3 and rep[0].startswith("D") and rep[1].startswith("D") and "format" in rep[0],
             "CR format byte: D for each recipient", rep)
        t.ok(len(rep) == 3 and rep[2].startswith("K"), "the next package is accepted", rep)
        t.eq(len(queued(q)), 1, "only the LF package is queued")
        clear(q)

        # Malformed framing: the connection is closed and the package
        # dropped; what was answered before stays queued.
        def dropped(data, name, before=True):
            c = Conn(s.port)
            try:
                pre = qmtp_package("kept\n", "a@b", ["k@hub.test"]) if before else b""
                c.send(pre + data)
                if before:
                    rep = c.replies(1)
                    t.ok(rep and rep[0].startswith("K"), name + ": the package before it is accepted", rep)
                c.shut()
                t.ok(c.closed(10), name + ": connection closed without an answer", c.buf)
            finally:
                c.close()
            time.sleep(0.2)
            m = queued(q)
            t.ok(len(m) == (1 if before else 0) and (not before or m[0].rcpts == ["k@hub.test"]),
                 name + ": nothing of it queued", [x.rcpts for x in m])
            clear(q)
            t.ok(wait(lambda: queue_empty(q), 5), name + ": the queue holds no half message", q.queue_files())

        good = qmtp_package("Subject: g\n\ng\n", "a@b", ["c@hub.test", "d@hub.test"])
        dropped(b"GET / HTTP/1.0\r\n\r\n", "not a netstring")
        dropped(b"0" + good, "a length with a leading zero")
        dropped(b"0:," + ns("a@b") + ns(ns("c@hub.test")), "an empty message netstring (no format byte)")
        dropped(good[:-1] + b"!", "no comma after the recipient list")
        dropped(ns(b"\nx\n") + ns("a@b") + ns(b"99:c@hub.test,"), "a recipient longer than its list")
        dropped(good[:len(good) // 2], "cut inside the message")
        dropped(good[:-3], "cut inside the recipient list")
        dropped(good[:-1], "missing only its last byte", before=False)

    # databytes and maxrcpt.
    q.control("databytes", "100")
    q.control("maxrcpt", "2")
    with Server(q, prog="qmail-qmtpd") as s:
        c = Conn(s.port)
        c.send(qmtp_package(b"x" * 101, "a@b", ["x@hub.test", "y@hub.test"]) +
               qmtp_package(b"x" * 100, "a@b", ["x@hub.test", "y@else.test", "z@hub.test", "w@hub.test"]))
        rep = c.replies(6)
        c.close()
        t.ok(len(rep) == 6 and rep[0].startswith("D") and rep[1].startswith("D") and "databytes" in rep[0],
             "over databytes: D for each recipient", rep)
        t.ok(len(rep) == 6 and rep[2].startswith("K") and rep[3].startswith("D"),
             "exactly databytes: accepted, relay still refused", rep)
        t.ok(len(rep) == 6 and rep[4].startswith("Z") and rep[5].startswith("Z") and "too many" in rep[4],
             "recipients past maxrcpt: Z (try later), in order", rep)
        m = queued(q)
        t.ok(len(m) == 1 and m[0].rcpts == ["x@hub.test"], "only the fitting message, to its accepted recipient",
             [x.rcpts for x in m])
        clear(q)
    os.unlink(q.path("control/databytes"))
    os.unlink(q.path("control/maxrcpt"))

    # RELAYCLIENT: any domain, its value appended to each recipient.
    with Server(q, prog="qmail-qmtpd", env={"RELAYCLIENT": ".test"}) as s:
        c = Conn(s.port)
        c.send(qmtp_package("x\n", "a@b", ["joe@else", "ann@hub"]))
        rep = c.replies(2)
        c.close()
        m = queued(q)
        t.ok(len(rep) == 2 and all(x.startswith("K") for x in rep), "RELAYCLIENT: every recipient accepted", rep)
        t.ok(len(m) == 1 and m[0].rcpts == ["joe@else.test", "ann@hub.test"], "RELAYCLIENT appended",
             [x.rcpts for x in m])
        clear(q)

    # End to end: with qmail-send running, a QMTP message is delivered.
    q.start()
    with Server(q, prog="qmail-qmtpd") as s:
        c = Conn(s.port)
        c.send(qmtp_package("Subject: delivered over QMTP\n\nhello\n", "a@client.test", ["postmaster@hub.test"]))
        rep = c.replies(1)
        c.close()
        t.ok(rep and rep[0].startswith("K"), "accepted for postmaster", rep)
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1, 20), "delivered to alias/Maildir", q.logtext())
        texts = q.maildir_texts("alias/Maildir")
        t.ok(texts and "Subject: delivered over QMTP" in texts[0] and "with QMTP" in texts[0],
             "the delivered message has its subject and the QMTP Received line", texts)
t.done()
