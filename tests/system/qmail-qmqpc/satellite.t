#!/usr/bin/env python3
# qmail-qmqpc, qmail-queue's stand-in on a satellite with no queue of its
# own, against hubs running qmail-qmqpd under tcpserver on loopback.
# First its interface, called as qmail-queue is (message on fd 0,
# envelope on fd 1) with the hub's qmail-send stopped so the hub's queue
# can be read: the first server that answers gets the message (a dead or
# deferring one is passed over), big messages and messages on a file go
# whole, and each failure has qmail-queue's exit code. Then end to end:
# qmail-inject on the satellite (through QMAILQUEUE, then with qmail-qmqpc
# installed as bin/qmail-queue, then from a single-user satellite) puts
# mail in the hub's alias/Maildir.
import os, pwd, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-qmqpd"))
from qmqplib import Server, queued, clear, queue_empty, free_port
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, wait

t = Tap()


def qmqpc(sat, message, sender, rcpts, raw_env=None, stdin_file=False, env=None, timeout=60):
    """Run the satellite's qmail-qmqpc as qmail-queue is run: (exit code, stderr)."""
    envelope = raw_env if raw_env is not None else \
        b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in rcpts) + b"\0"
    if isinstance(message, str):
        message = message.encode()
    rfd, wfd = os.pipe()
    os.write(wfd, envelope)
    os.close(wfd)
    kw = {}
    if stdin_file:
        f = tempfile.TemporaryFile()
        f.write(b"junk before the start\n")
        start = f.tell()
        f.write(message)
        f.seek(start)
        kw["stdin"] = f
    else:
        kw["input"] = message
    try:
        p = subprocess.run([sat.bin("qmail-qmqpc")], stdout=rfd, stderr=subprocess.PIPE,
                           env=env, timeout=timeout, **kw)
    finally:
        os.close(rfd)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def dead_port():
    return free_port()


with Instance(t, name="hub.test") as hub, Instance(t, name="sat.test") as sat:
    qq71 = hub.write("bin/qq-71", "#!/bin/sh\ncat >/dev/null\nexit 71\n", mode=0o755)
    msg = "From: a@sat.test\nSubject: via QMQP\n\nhello hub\n"

    code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test"])
    t.eq(code, 55, "no control/qmqpservers: exit 55 (unable to read configuration)", err)

    with Server(hub, prog="qmail-qmqpd") as s, \
            Server(hub, prog="qmail-qmqpd", env={"DATABYTES": "10"}) as small, \
            Server(hub, prog="qmail-qmqpd", env={"QMAILQUEUE": qq71}) as zed:
        dead = dead_port()
        sat.control("qmqpservers", "127.0.0.1:%d\n127.0.0.1:%d\n" % (dead, s.port))
        code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test", "y@else.test"])
        t.eq(code, 0, "a dead first server: the second takes the message, exit 0", err)
        t.ok(str(dead) in err, "the dead server is named on stderr", err)
        m = queued(hub)
        t.ok(len(m) == 1 and m[0].sender == "a@sat.test" and m[0].rcpts == ["x@hub.test", "y@else.test"],
             "the hub queued it with the whole envelope", [(x.sender, x.rcpts) for x in m])
        t.ok(m and m[0].data.endswith(msg.encode()) and b"with QMQP" in m[0].data, "message bytes intact", m and m[0].data)
        clear(hub)

        # Bigger than qmail-qmqpc keeps in memory: spooled, sent whole.
        big = b"Subject: big\n\n" + bytes(range(256)) * 12000
        code, err = qmqpc(sat, big, "", ["x@hub.test"])
        m = queued(hub)
        t.ok(code == 0 and len(m) == 1 and m[0].data.endswith(big) and m[0].sender == "",
             "a 3 MB message from a pipe, null sender", (code, err))
        clear(hub)
        code, err = qmqpc(sat, big, "b@sat.test", ["x@hub.test"], stdin_file=True)
        m = queued(hub)
        t.ok(code == 0 and len(m) == 1 and m[0].data.endswith(big) and b"junk before" not in m[0].data,
             "a message on a regular file is sent from its current offset", (code, err))
        clear(hub)

        code, err = qmqpc(sat, msg, "", [], raw_env=b"Xnot an envelope\0\0")
        t.eq(code, 91, "a malformed envelope: exit 91", err)
        code, err = qmqpc(sat, msg, "", [], raw_env=b"Fa@b\0Tc@d\0")
        t.eq(code, 54, "an envelope cut short: exit 54", err)
        t.ok(queue_empty(hub), "nothing reached the hub", hub.queue_files())

        # Refused for good by the first server that answers: exit 31, and
        # the next server is not asked.
        sat.control("qmqpservers", "127.0.0.1:%d\n127.0.0.1:%d\n" % (small.port, s.port))
        code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test"])
        t.eq(code, 31, "D from the server: exit 31", err)
        t.ok("databytes" in err, "the server's reason is on stderr", err)
        t.ok(queue_empty(hub), "a D stops at once: nothing queued anywhere", hub.queue_files())

        # Deferred (Z): the next server is tried; with none left, 71.
        sat.control("qmqpservers", "127.0.0.1:%d\n127.0.0.1:%d\n" % (zed.port, s.port))
        code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test"])
        t.ok(code == 0 and len(queued(hub)) == 1, "Z from the first server: the second takes it", (code, err))
        clear(hub)
        sat.control("qmqpservers", "127.0.0.1:%d\n" % zed.port)
        code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test"])
        t.eq(code, 71, "Z from the only server: exit 71", err)

        sat.control("qmqpservers", "127.0.0.1:%d\n# a comment\n\nnot-an-address\n127.0.0.1:%d\n" % (dead_port(), dead_port()))
        code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test"])
        t.eq(code, 73, "every server refuses the connection: exit 73", err)
        t.ok("not-an-address" in err, "a line that is no address is reported", err)

        # A server that accepts the connection and never answers.
        mute = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        sat.control("qmqpservers", "127.0.0.1:%d\n" % mute.getsockname()[1])
        sat.control("timeoutremote", "2")
        start = time.time()
        code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test"])
        t.ok(code == 74 and time.time() - start < 15, "a mute server: exit 74 after timeoutremote", (code, err))
        mute.close()
        os.unlink(sat.path("control/timeoutremote"))
        t.ok(queue_empty(hub), "nothing queued by the failures", hub.queue_files())

    # IPv6, in the bracketed form with a port.
    have6 = True
    try:
        x = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        x.bind(("::1", 0))
        x.close()
    except OSError:
        have6 = False
    if have6:
        with Server(hub, prog="qmail-qmqpd", addr="::1") as s6:
            sat.control("qmqpservers", "[::1]:%d\n" % s6.port)
            code, err = qmqpc(sat, msg, "a@sat.test", ["x@hub.test"])
            m = queued(hub)
            t.ok(code == 0 and len(m) == 1 and any("IPv6:::1" in r for r in m[0].received()),
                 "IPv6: [::1]:port, Received names the IPv6 client", (code, err, m and m[0].received()))
            clear(hub)
    else:
        t.skip("IPv6: [::1]:port", "no ::1 on this machine")

    # End to end, with the hub's qmail-send running.
    hub.start()
    with Server(hub, prog="qmail-qmqpd") as s:
        sat.control("qmqpservers", "127.0.0.1:%d\n127.0.0.1:%d\n" % (dead_port(), s.port))
        os.environ["QMAILQUEUE"] = sat.bin("qmail-qmqpc")
        try:
            r = sat.inject("To: postmaster@hub.test\nSubject: satellite one\n\nfrom the satellite\n")
        finally:
            del os.environ["QMAILQUEUE"]
        t.eq(r.returncode, 0, "qmail-inject with QMAILQUEUE=qmail-qmqpc succeeds", r.stderr)
        t.ok(hub.wait(lambda: hub.maildir_count("alias/Maildir") == 1, 20), "delivered in the hub's alias/Maildir",
             hub.logtext())
        texts = hub.maildir_texts("alias/Maildir")
        t.ok(texts and "Subject: satellite one" in texts[0] and "with QMQP" in texts[0] and "sat.test" in texts[0],
             "the delivered message: the satellite's headers and a QMQP Received line", texts)
        t.ok(queue_empty(sat), "the satellite's own queue stays empty", sat.queue_files())

        # mini-qmail: qmail-qmqpc installed as the satellite's qmail-queue.
        os.unlink(sat.bin("qmail-queue"))
        os.symlink("qmail-qmqpc", sat.bin("qmail-queue"))
        r = sat.inject("To: postmaster@hub.test\nSubject: satellite two\n\nmini-qmail\n")
        t.eq(r.returncode, 0, "qmail-inject with bin/qmail-queue -> qmail-qmqpc", r.stderr)
        t.ok(hub.wait(lambda: hub.maildir_count("alias/Maildir") == 2, 20), "delivered in the hub's Maildir too",
             hub.logtext())
        t.ok(queue_empty(sat), "still nothing in the satellite's queue", sat.queue_files())

        # A single-user satellite (an ordinary user's instance).
        if IS_ROOT:
            with TestUser(unique_user("qc")) as u, Instance(t, name="one.test", mode="single", owner=u.name) as one:
                one.control("qmqpservers", "127.0.0.1:%d\n" % s.port)
                os.environ["QMAILQUEUE"] = one.bin("qmail-qmqpc")
                try:
                    r = one.inject("To: postmaster@hub.test\nSubject: single-user satellite\n\nhi\n")
                finally:
                    del os.environ["QMAILQUEUE"]
                t.eq(r.returncode, 0, "single-user satellite: qmail-inject through qmail-qmqpc", r.stderr)
                t.ok(hub.wait(lambda: hub.maildir_count("alias/Maildir") == 3, 20),
                     "single-user satellite: delivered in the hub's Maildir", hub.logtext())
                t.ok(any("single-user satellite" in x for x in hub.maildir_texts("alias/Maildir")),
                     "single-user satellite: it is that message")
        else:
            t.skip("single-user satellite", "needs root to create a user")
t.done()
