#!/usr/bin/env python3
# qmail-qmqpd under tcpserver on a hub (qmail-send not running, so what
# it queues stays in queue/todo to be read back): a well-formed request
# is queued with a QMQP Received line and answered K; what is refused is
# answered D (databytes, no recipients, an address too long) or Z (the
# queue failed), and a request that is not a netstring, or ends early,
# gets no answer. In every refusal nothing at all is queued.
# smoke
import os, socket, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmqplib import Server, Conn, qmqp, qmqp_request, ns, queued, clear, queue_empty
from nqtest import Tap, Instance, wait

t = Tap()
with Instance(t, name="hub.test") as q:
    with Server(q, prog="qmail-qmqpd") as s:
        body = b"Subject: caf\xc3\xa9\nX-Bin: \x01\x7f\xff\n\nline one\nline two\n\n"
        r = qmqp(s.port, qmqp_request(body, "alice@sat.test", ["bob@hub.test", "carol@else.test"]))
        t.ok(r is not None and r.startswith("K"), "a well-formed request is answered K", (r, s.log()))
        m = queued(q)
        t.eq(len(m), 1, "one message queued")
        if m:
            m = m[0]
            t.eq(m.sender, "alice@sat.test", "envelope sender")
            t.eq(m.rcpts, ["bob@hub.test", "carol@else.test"], "envelope recipients, any destination (no relay check)")
            rl = m.received()
            t.ok(any("with QMQP" in x and "[127.0.0.1]" in x and "by hub.test" in x for x in rl),
                 "a Received line names QMQP, the client's address and the hub", rl)
            t.ok(m.data.endswith(body), "the message bytes arrive untouched (8-bit, LF)", m.data)
        clear(q)

        # The null sender (a bounce) and many recipients.
        rcpts = ["user%d@hub.test" % i for i in range(300)]
        r = qmqp(s.port, qmqp_request("Subject: x\n\nx\n", "", rcpts))
        m = queued(q)
        t.ok(r and r[0] == "K" and len(m) == 1 and m[0].sender == "" and m[0].rcpts == rcpts,
             "null sender and 300 recipients", r)
        clear(q)

        # Refusals that are answered: D, nothing queued.
        def refused(data, name, want="D", text=None):
            r = qmqp(s.port, data)
            good = r is not None and r[:1] == want and (text is None or text in r)
            t.ok(good, name + ": answered " + want, (r, s.log()))
            t.ok(wait(lambda: queue_empty(q), 20), name + ": nothing queued", q.queue_files())
            clear(q)

        refused(qmqp_request("x\n", "a@b", []), "no recipients")
        refused(qmqp_request("x\n", "a@b", ["r" * 1100 + "@hub.test"]), "a recipient over 1002 bytes",
                text="too long")
        refused(qmqp_request("x\n", "s" * 1100, ["a@hub.test"]), "a sender over 1002 bytes", text="too long")
        refused(qmqp_request("x\n", "a@b", ["a\0b@hub.test"]), "a NUL in a recipient")

        # Answered with no answer: the request is not a netstring, or
        # what is inside does not fit it, or it ends early.
        def dropped(data, name, shut=True):
            c = Conn(s.port)
            try:
                c.send(data)
                if shut:
                    c.shut()
                t.ok(c.closed(10), name + ": connection closed without an answer", c.buf)
            finally:
                c.close()
            t.ok(wait(lambda: queue_empty(q), 20), name + ": nothing queued", q.queue_files())
            clear(q)

        good = qmqp_request("Subject: y\n\ny\n", "a@b", ["c@hub.test"])
        dropped(b"hello there\n", "not a netstring")
        dropped(b"0" + good, "a length with a leading zero")
        dropped(good[:-1] + b";", "no comma at the end")
        dropped(ns(b"99:short," + ns("a@b") + ns("c@hub.test")), "a message netstring longer than the request")
        dropped(ns(ns("x\n") + b"3:a@b;" + ns("c@hub.test")), "a malformed sender netstring")
        dropped(good[:len(good) // 2], "the request cut in the middle of the message")
        dropped(good[:-12], "the request cut in the recipients")
        dropped(good[:-1], "the request missing only its last byte")

        # A client that goes away in the middle of a large message.
        big = b"Subject: big\n\n" + b"0123456789abcdef\n" * 200000
        c = Conn(s.port)
        c.send(qmqp_request(big, "a@b", ["c@hub.test"])[:len(big) // 2])
        c.close()
        time.sleep(0.5)
        t.ok(wait(lambda: queue_empty(q), 10), "a client gone mid-message leaves nothing queued", q.queue_files())
        clear(q)
        r = qmqp(s.port, qmqp_request(big, "a@b", ["c@hub.test"]))
        m = queued(q)
        t.ok(r and r[0] == "K" and len(m) == 1 and m[0].data.endswith(big), "a 3.4 MB message is queued whole", r)
        clear(q)

    # databytes: an oversize message is refused with D, after the request
    # was read to its end; the limit is the message's size.
    q.control("databytes", "1000")
    with Server(q, prog="qmail-qmqpd") as s:
        r = qmqp(s.port, qmqp_request(b"x" * 1001, "a@b", ["c@hub.test"]))
        t.ok(r is not None and r.startswith("D") and "databytes" in r, "over databytes: answered D", r)
        t.ok(queue_empty(q), "over databytes: nothing queued", q.queue_files())
        r = qmqp(s.port, qmqp_request(b"x" * 1000, "a@b", ["c@hub.test"]))
        t.ok(r is not None and r.startswith("K"), "exactly databytes: accepted", r)
        clear(q)
    with Server(q, prog="qmail-qmqpd", env={"DATABYTES": "10"}) as s:
        r = qmqp(s.port, qmqp_request(b"x" * 11, "a@b", ["c@hub.test"]))
        t.ok(r is not None and r.startswith("D"), "DATABYTES overrides control/databytes", r)
    os.unlink(q.path("control/databytes"))

    # The queue's own answer is passed on: a QMAILQUEUE that refuses for
    # good (31) gives D, one that fails for now (71) gives Z.
    for code, want in ((31, "D"), (71, "Z")):
        qqs = q.write("bin/qq-%d" % code, "#!/bin/sh\ncat >/dev/null\nexit %d\n" % code, mode=0o755)
        with Server(q, prog="qmail-qmqpd", env={"QMAILQUEUE": qqs}) as s:
            r = qmqp(s.port, qmqp_request("x\n", "a@b", ["c@hub.test"]))
            t.ok(r is not None and r[:1] == want, "qmail-queue exit %d: answered %s" % (code, want), r)
    t.ok(queue_empty(q), "nothing queued by the failing queues", q.queue_files())
t.done()
