#!/usr/bin/env python3
# Malformed envelopes and unreadable input to qmail-queue: each gets
# qmail-queue's documented exit code (54 cannot read the message or
# envelope, 91 envelope format error, 11 address too long), never a
# crash, and leaves no file behind in the queue.
# smoke
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()
NAME = "example.test"
LONG = "a" * 5000 + "@example.test"


def qq(q, envelope, message=b"Subject: x\n\nbody\n", stdin=None, close_fd1=False):
    """Exit status of qmail-queue (negative: killed by that signal)."""
    if close_fd1:
        p = subprocess.run([q.bin("qmail-queue")], input=message, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=30,
                           preexec_fn=lambda: os.close(1))
        return p.returncode
    rfd, wfd = os.pipe()
    os.write(wfd, envelope)
    os.close(wfd)
    try:
        if stdin is not None:
            fin = os.open(stdin, os.O_RDONLY)
            try:
                p = subprocess.run([q.bin("qmail-queue")], stdin=fin, stdout=rfd, stderr=subprocess.PIPE, timeout=30)
            finally:
                os.close(fin)
        else:
            p = subprocess.run([q.bin("qmail-queue")], input=message, stdout=rfd, stderr=subprocess.PIPE, timeout=30)
    finally:
        os.close(rfd)
    return p.returncode


with Instance(t, name=NAME) as q:
    cases = [
        ("empty envelope", b"", 54),
        ("no final NUL", b"Fs@example.test\0Tx@example.test\0", 54),
        ("sender not terminated", b"Fs@example.test", 54),
        ("first letter is not F", b"Xs@example.test\0Tx@example.test\0\0", 91),
        ("recipient letter is not T", b"Fs@example.test\0Qx@example.test\0\0", 91),
        ("second recipient letter is not T", b"Fs@example.test\0Tx@example.test\0Ux@example.test\0\0", 91),
        ("sender too long", b"F" + LONG.encode() + b"\0Tx@example.test\0\0", 11),
        ("recipient too long", b"Fs@example.test\0T" + LONG.encode() + b"\0\0", 11),
    ]
    for what, env, want in cases:
        rc = qq(q, env)
        t.eq(rc, want, "%s: exit %d" % (what, want))
        left = q.queue_files()
        t.eq(left, [], "%s: nothing left in the queue" % what)
        for f in left:
            os.unlink(q.path("queue/" + f))
    rc = qq(q, b"Fs@example.test\0Tx@example.test\0\0", stdin=q.path("queue"))
    t.eq(rc, 54, "message on fd 0 unreadable (a directory): exit 54")
    t.eq(q.queue_files(), [], "unreadable message: nothing left in the queue")
    rc = qq(q, None, close_fd1=True)
    t.eq(rc, 54, "no envelope descriptor: exit 54")
    t.eq(q.queue_files(), [], "no envelope: nothing left in the queue")
    # NUL bytes and a long line inside the message are the message's business.
    rc = qq(q, b"Fs@example.test\0Tx@example.test\0\0", message=b"Subject: a\0b\n\n" + b"z" * 100000 + b"\0\n")
    t.eq(rc, 0, "a message with NUL bytes and a long line is queued")
    todo = [f for f in q.queue_files() if f.startswith("todo/")]
    t.eq(len(todo), 1, "exactly one todo/ entry for it")
    mess = [f for f in q.queue_files() if f.startswith("mess/")]
    if t.eq(len(mess), 1, "exactly one mess/ file for it"):
        data = open(q.path("queue/" + mess[0]), "rb").read()
        t.ok(data.startswith(b"Received: "), "qmail-queue put its Received line first", data[:200])
        t.ok(data.endswith(b"Subject: a\0b\n\n" + b"z" * 100000 + b"\0\n"), "the message bytes are kept exactly")
    t.ok(not os.listdir(q.path("queue/pid")), "queue/pid is empty after success")
t.done()
