#!/usr/bin/env python3
# qmail-send at start recognises what a crash can leave in the queue
# (doc/architecture.md §3) and finishes or clears it:
#  - todo/N with a (partial) info/S/N and local/S/N: preprocessing redone;
#  - info/S/N + local/S/N with some recipients marked D: only the others;
#  - info/S/N and bounce/N, every recipient done: the bounce is queued;
#  - mess/S/N without todo/info: removed when qmail-queue is done with it
#    (one link) or after 36 hours; one that qmail-queue may be writing stays;
#  - local/S/N or bounce/N without info/S/N: removed.
import os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()


def owned_like_dir(path, data):
    d = os.path.dirname(path)
    st = os.stat(d)
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, 0o600)


def qpath(q, d, n):
    n = int(n)
    if d in ("mess", "info", "local", "remote"):
        return q.path("queue/%s/%d/%d" % (d, n % 23, n))
    return q.path("queue/%s/%d" % (d, n))


def queued(q, text, sender, rcpts):
    before = set(os.listdir(q.path("queue/todo")))
    t.eq(q.queue(text, sender, rcpts), 0, "qmail-queue accepted: " + text.split("\n")[0])
    new = set(os.listdir(q.path("queue/todo"))) - before
    return int(new.pop()) if new else 0


def preprocessed(q, n, sender, local, bounce=None):
    """The state after preprocessing: todo and intd gone, info and local written."""
    for d in ("todo", "intd"):
        os.unlink(qpath(q, d, n))
    owned_like_dir(qpath(q, "info", n), b"F" + sender.encode() + b"\0")
    if local is not None:
        owned_like_dir(qpath(q, "local", n), local)
    if bounce is not None:
        owned_like_dir(qpath(q, "bounce", n), bounce)


with Instance(t, name="example.test") as q:
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    q.write("alias/.qmail-a", "./Maildir/\n")

    # 1. todo/N whose info and local exist (crash while preprocessing)
    n1 = queued(q, "Subject: redo\n\nredo\n", "joe@example.test", ["a@example.test"])
    owned_like_dir(qpath(q, "info", n1), b"Fgarbage")
    owned_like_dir(qpath(q, "local", n1), b"Twrong@example.test\0Tgarb")
    owned_like_dir(qpath(q, "remote", n1), b"Tstale@far.test\0")

    # 2. partly delivered: first recipient marked D
    n2 = queued(q, "Subject: partial\n\npartial\n", "joe@example.test", ["x@example.test", "a@example.test"])
    preprocessed(q, n2, "joe@example.test", b"Dpostmaster@example.test\0Ta@example.test\0")

    # 3. every recipient done, bounce/N waiting
    n3 = queued(q, "Subject: bounced\n\nbounced\n", "joe@example.test", ["gone@example.test"])
    preprocessed(q, n3, "joe@example.test", None, b"<gone@example.test>:\nIt went away. (#5.1.1)\n\n")

    # 4. messages without todo and info: one finished but not yet removed
    # (one link), one that qmail-queue may still be writing (a second link
    # in pid/), one of those abandoned 40 hours ago
    n4 = queued(q, "Subject: finished\n\nx\n", "joe@example.test", ["a@example.test"])
    n5 = queued(q, "Subject: young\n\nyoung\n", "joe@example.test", ["a@example.test"])
    n6 = queued(q, "Subject: old\n\nold\n", "joe@example.test", ["a@example.test"])
    for n, age, pid in ((n4, 60, False), (n5, 3600, True), (n6, 40 * 3600, True)):
        for d in ("todo", "intd"):
            os.unlink(qpath(q, d, n))
        if pid:
            os.link(qpath(q, "mess", n), q.path("queue/pid/1.%d.1" % n))
        old = time.time() - age
        os.utime(qpath(q, "mess", n), (old, old))

    # 5. orphans: channel file and bounce/N of a message long gone
    owned_like_dir(qpath(q, "local", 999999), b"Tghost@example.test\0")
    owned_like_dir(qpath(q, "bounce", 999999), b"<ghost@example.test>:\nx\n\n")

    q.start()
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 2, 15), "redone and partial messages delivered", q.logtext())
    texts = q.maildir_texts("alias/Maildir")
    t.eq(sorted(x.split("Subject: ")[1].split("\n")[0] for x in texts), ["partial", "redo"], "the right two messages")
    log = q.logtext()
    t.ok(re.search(r"^new msg %d$" % n1, log, re.M), "todo/N preprocessed again")
    t.ok("wrong@example.test" not in log and "stale@far.test" not in log, "partial preprocessing files replaced")
    t.ok(re.search(r"^starting delivery \d+: msg %d to local a@example.test$" % n2, log, re.M)
         and not re.search(r"msg %d to local postmaster" % n2, log), "only the recipient still marked T")
    t.ok(q.wait(lambda: q.maildir_count("alias/joebox") == 1), "waiting bounce queued and delivered")
    bt = (q.maildir_texts("alias/joebox") or [""])[0]
    t.ok("<gone@example.test>:\nIt went away. (#5.1.1)\n" in bt and "Subject: bounced" in bt, "with its text and the message")
    t.ok(q.wait(lambda: re.search(r"^end msg %d$" % n3, q.logtext(), re.M)), "then the message ends")
    t.ok(q.wait(lambda: not os.path.exists(qpath(q, "mess", n4)), 10), "finished message (one link) removed")
    t.ok(q.wait(lambda: not os.path.exists(qpath(q, "mess", n6)), 10), "abandoned 40-hour-old message removed")
    t.ok(os.path.exists(qpath(q, "mess", n5)), "young message being queued left alone")
    os.unlink(q.path("queue/pid/1.%d.1" % n5))
    t.ok(not os.path.exists(qpath(q, "local", 999999)), "orphan local/S/N removed")
    t.ok(not os.path.exists(qpath(q, "bounce", 999999)), "orphan bounce/N removed")
    for n in (n1, n2, n3):
        t.ok(q.wait(lambda: not any(os.path.exists(qpath(q, d, n)) for d in
                                    ("mess", "info", "local", "remote", "todo", "intd", "bounce")), 10),
             "message %d gone from the queue" % n)
    t.ok(not re.search(r"^alert:", q.logtext(), re.M), "no alerts", q.logtext())
t.done()
