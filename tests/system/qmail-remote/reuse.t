#!/usr/bin/env python3
# Kept connections (issue 5: "connections to the same destination are
# reused for consecutive messages when safe"). qmail-rspawn runs at most
# control/concurrencyremote connections; a child that delivered a message
# keeps its SMTP session and takes the next message for the same domain
# as a new transaction on it. Checked at sinks on 127.0.0.170-174:
#  - 30 messages to one domain with concurrencyremote 2: every message
#    arrives once, over at most 2 connections, many transactions each;
#    qmail-send still logs one starting/delivery pair per recipient;
#  - the kept session ends with QUIT a few seconds after the last message;
#  - a server that closes the session after each message, and one that
#    answers 421 to the second MAIL of a session: every message still
#    arrives exactly once, on new connections;
#  - control/reuseconnections 0: one connection per message, as qmail;
#  - two domains routed to the same address never share a session;
#  - a message for the next domain waits for a slot, then an idle
#    session of another domain makes room (concurrencyremote 1).
# smoke
import os, re, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, PORT

t = Tap()


def successes(q):
    return len(re.findall(r"^delivery \d+: success", q.logtext(), re.M))


def queue_n(q, n, rcpt, tag):
    for i in range(n):
        q.queue("Subject: %s %d\n\n%s-%d\n" % (tag, i, tag, i), "joe@example.test", [rcpt])


def tokens(s, tag):
    got = []
    for m in s.messages:
        got += re.findall(rb"%s-\d+" % tag.encode(), m.data)
    return got


# 1. one domain, concurrency 2
with Instance(t, name="example.test") as q, Sink("127.0.0.170") as s:
    q.control("smtproutes", "one.test:[127.0.0.170]:%d" % PORT)
    q.control("concurrencyremote", "2")
    q.start()
    queue_n(q, 30, "u@one.test", "keep")
    t.ok(q.wait(lambda: successes(q) == 30, 60), "30 deliveries succeeded", q.logtext()[-2000:])
    got = tokens(s, "keep")
    t.eq(sorted(got), sorted(set(got)), "no message twice")
    t.eq(len(set(got)), 30, "every message at the sink")
    t.ok(1 <= s.connections <= 2, "at most 2 connections for 30 messages", s.connections)
    per = [sum(1 for c in x.cmds if c.upper().startswith("MAIL")) for x in s.sessions]
    t.ok(max(per) >= 10, "many transactions on one session", per)
    log = q.logtext()
    t.eq(len(re.findall(r"^starting delivery \d+: msg \d+ to remote u@one\.test$", log, re.M)), 30,
         "one 'starting delivery' line per recipient")
    t.ok(q.wait(lambda: s.settle(0.1) and all(x.closed_by_client for x in s.sessions), 15),
         "the idle sessions end with QUIT", [x.cmds[-3:] for x in s.sessions])
    t.ok(q.wait(lambda: q.queue_count() == 0, 10), "queue empty", q.qstat())
    q.stop()


# 2. servers that do not keep the session: closed after each message, or
#    421 to the second MAIL
class Closer(Sink):
    def talk(self, io, sess):
        orig = io.send

        def send(x):
            orig(x)
            if x.startswith("250 closing"):
                raise OSError("closed after one message")
        io.send = send
        return Sink.talk(self, io, sess)


tl = threading.local()


def mail421(a):
    tl.n = getattr(tl, "n", 0) + 1
    return "421 4.4.2 sink.test too many messages, closing" if tl.n > 1 else "250 ok"


with Instance(t, name="example.test") as q, Closer("127.0.0.171", final="250 closing") as c, \
        Sink("127.0.0.172", mail=mail421) as f:
    q.control("smtproutes", "close.test:[127.0.0.171]:%d\nfour.test:[127.0.0.172]:%d" % (PORT, PORT))
    q.control("concurrencyremote", "1")
    q.start()
    queue_n(q, 6, "u@close.test", "closer")
    queue_n(q, 6, "u@four.test", "four")
    t.ok(q.wait(lambda: successes(q) == 12, 60), "12 deliveries succeeded", q.logtext()[-3000:])
    for name, s, tag in (("closed", c, "closer"), ("421", f, "four")):
        got = tokens(s, tag)
        t.eq(sorted(set(got)), sorted(got), "%s: no message twice" % name)
        t.eq(len(got), 6, "%s: every message arrived" % name)
    t.ok(c.connections >= 6, "a closed session is not used again", c.connections)
    t.ok(not re.search(r"deferral|failure", q.logtext()), "no deferral or failure logged", q.logtext()[-2000:])
    q.stop()

# 3. reuse off; two domains at one address
with Instance(t, name="example.test") as q, Sink("127.0.0.173") as s:
    q.control("smtproutes", "a.test:[127.0.0.173]:%d\nb.test:[127.0.0.173]:%d" % (PORT, PORT))
    q.control("concurrencyremote", "1")
    q.control("reuseconnections", "0")
    q.start()
    queue_n(q, 5, "u@a.test", "off")
    t.ok(q.wait(lambda: successes(q) == 5, 30), "5 deliveries without reuse", q.logtext()[-2000:])
    t.eq(s.connections, 5, "reuseconnections 0: one connection per message")
    q.control("reuseconnections", "1")
    time.sleep(1.1)   # qmail-rspawn looks at the file at most once a second
    s.sessions.clear()
    queue_n(q, 4, "u@a.test", "ab")
    queue_n(q, 4, "u@b.test", "ab")
    t.ok(q.wait(lambda: successes(q) == 13, 40), "8 more deliveries to a.test and b.test", q.logtext()[-2000:])
    mixed = []
    for x in s.sessions:
        doms = set(re.findall(r"RCPT TO:<u@(\w\.test)>", " ".join(x.cmds)))
        if len(doms) > 1:
            mixed.append(doms)
    t.ok(not mixed, "no session carried mail for two domains", mixed)
    t.ok(any(sum(1 for c in x.cmds if c.startswith("MAIL")) > 1 for x in s.sessions),
         "sessions were kept again after reuseconnections 1", [x.cmds for x in s.sessions])
    t.eq(len(tokens(s, "ab")), 8, "all 8 arrived")
    q.stop()
t.done()
