#!/usr/bin/env python3
# A mailing list of 1000 subscribers (issue 6), in a root instance, owned
# by the alias user: alias/.qmail-list forwards to 900 local addresses
# (caught by .qmail-sub-default into one Maildir), 99 remote addresses
# routed by control/smtproutes to a Python SMTP sink on loopback that
# accepts them, and 1 remote address the sink refuses with 550. Because
# .qmail-list-owner and .qmail-list-owner-default exist, qmail-local sends
# the list's copies with the VERP sender list-owner-@NAME-@[]. Checked:
# every local copy arrives exactly once, the sink got exactly the 99
# accepted recipients (each under its own VERP sender), the owner gets
# exactly one bounce, at list-owner-bad=DOMAIN@NAME, naming the refused
# subscriber and no one else, and the queue ends empty.
# smoke
import os, re, socket, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-remote"))
from nqtest import Tap, Instance, IS_ROOT
from remotelib import Sink

t = Tap()
NAME = "example.test"
NLOCAL, NREMOTE, RDOMS = 900, 99, 10
if not IS_ROOT:
    t.skip("1000-subscriber list", "needs root for a root instance")
    t.done()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


local = ["sub-%d@%s" % (i, NAME) for i in range(NLOCAL)]
remote = ["r%d@rd%d.test" % (i, i % RDOMS) for i in range(NREMOTE)]
BAD = "bad@rd3.test"
members = local[:450] + remote[:50] + [BAD] + local[450:] + remote[50:]
VERP = "list-owner-@%s-@[]" % NAME


def verp_of(addr):
    box, dom = addr.rsplit("@", 1)
    return "list-owner-%s=%s@%s" % (box, dom, NAME)


port = free_port()
sink = Sink("127.0.0.1", port=port, rcpt=lambda a: "550 5.1.1 no such user here" if a == BAD else "250 ok")
with Instance(t, name=NAME) as q:
    sink.start()
    try:
        # every remote domain goes to the sink: no DNS is involved
        q.control("smtproutes", "".join("rd%d.test:[127.0.0.1]:%d\n" % (i, port) for i in range(RDOMS)))
        q.control("concurrencylocal", "20")
        q.write("alias/.qmail-list", "".join("&%s\n" % a for a in members))
        q.write("alias/.qmail-sub-default", "./Maildir-sub/\n")
        q.write("alias/.qmail-list-owner", "./Maildir-owner/\n")
        q.write("alias/.qmail-list-owner-default", "./Maildir-owner/\n")
        q.maildirmake("alias/Maildir-sub")
        q.maildirmake("alias/Maildir-owner")
        q.start()
        start = time.time()
        t.eq(q.queue("From: poster@%s\nTo: list@%s\nSubject: fan-out\n\nlist-fanout-token\n" % (NAME, NAME),
                     VERP, ["list@" + NAME]), 0, "post queued to list@%s with sender %s" % (NAME, VERP))
        done = lambda: (q.maildir_count("alias/Maildir-sub") >= NLOCAL
                        and q.maildir_count("alias/Maildir-owner") >= 1 and q.queue_count() == 0)
        t.ok(q.wait(done, 50), "all local copies, the bounce, and an empty queue",
             "%d local, %d owner, queue %r\n%s" % (q.maildir_count("alias/Maildir-sub"),
                                                    q.maildir_count("alias/Maildir-owner"),
                                                    q.queue_count(), q.logtext()[-3000:]))
        t.diag("took %.1f s" % (time.time() - start))
        time.sleep(0.5)  # give a stray extra delivery the chance to show up
        sink.settle()

        # the 900 local copies, each exactly once, each with its VERP return path
        texts = [x for x in q.maildir_texts("alias/Maildir-sub") if "list-fanout-token" in x]
        t.eq(len(texts), NLOCAL, "exactly %d local copies" % NLOCAL)
        seen, badpath = [], []
        for x in texts:
            m = re.search(r"^Delivered-To: (\S+)$", x, re.M)
            addr = m.group(1) if m else "?"
            seen.append(addr)
            if not x.startswith("Return-Path: <%s>\n" % verp_of(addr)):
                badpath.append(x[:300])
        t.eq(sorted(seen), sorted(local), "one copy to each local subscriber", sorted(set(seen) ^ set(local))[:10])
        t.eq(badpath[:3], [], "each local copy has its own VERP return path")

        # the sink: exactly the 99 accepted recipients, one each, VERP senders
        got = sorted(r for m in sink.messages for r in m.rcpts)
        t.eq(len(got), NREMOTE, "the sink accepted exactly %d recipients" % NREMOTE)
        t.eq(got, sorted(remote), "the sink got every accepted remote subscriber once", sorted(set(got) ^ set(remote)))
        t.ok(all("list-fanout-token" in m.data.decode("utf-8", "replace") if isinstance(m.data, bytes)
                 else "list-fanout-token" in m.data for m in sink.messages), "each sink message is the post")
        wrong = [(m.mailfrom, m.rcpts) for m in sink.messages if m.rcpts and m.mailfrom != verp_of(m.rcpts[0])]
        t.eq(wrong[:5], [], "each remote copy has its subscriber's VERP sender")
        asked = [c for s in sink.sessions for c in s.cmds if c.upper().startswith("RCPT") and BAD in c]
        t.ok(len(asked) >= 1, "the refused subscriber was offered to the sink", len(asked))

        # the owner: one bounce, at the refused subscriber's VERP address
        owner = q.maildir_texts("alias/Maildir-owner")
        t.eq(len(owner), 1, "the owner received exactly one message", [x[:400] for x in owner])
        b = owner[0] if owner else ""
        m = re.search(r"^Delivered-To: (\S+)$", b, re.M)
        t.eq(m and m.group(1), verp_of(BAD), "it came to %s" % verp_of(BAD), b[:600])
        t.ok(b.startswith("Return-Path: <>\n"), "it is a bounce (from <>)", b[:300])
        t.ok("<%s>" % BAD in b, "it names the refused subscriber", b[:2000])
        t.ok("550" in b and "list-fanout-token" in b, "with the sink's 550 reply and the post", b[:2000])
        others = [a for a in local + remote if "<%s>" % a in b]
        t.eq(others, [], "and names no other subscriber")

        t.eq(q.queue_count(), 0, "the queue ends empty")
        t.eq(q.queue_files(), [], "no files left in the queue")
        log = q.logtext()
        t.eq(len(re.findall(r"^bounce msg \d+ qp \d+$", log, re.M)), 1, "one bounce logged", log[-2000:])
    finally:
        sink.stop()
t.done()
