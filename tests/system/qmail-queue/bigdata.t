#!/usr/bin/env python3
# qmail-queue keeps any message byte for byte and in fixed memory: NUL
# bytes, a 5 MB header line, an empty message, no final newline; its peak
# RSS (/usr/bin/time -f %M) for a 10 MB message and a 10 MB header line is
# no more than 256 kB above that for 1 MB, and below a fixed 4 MB.
import os, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qqlib import qq, envelope, clear, todo_numbers, read, mess_path, RECEIVED
from nqtest import Tap, Instance

t = Tap()
NAME = "example.test"
MB = 1 << 20
ENV = envelope("s@example.test", ["r@example.test"])


def queued_bytes(q, what):
    nums = todo_numbers(q)
    if not t.eq(len(nums), 1, "%s: queued once" % what):
        return None
    data = read(q, mess_path(nums[0]))
    m = RECEIVED.match(data)
    if not t.ok(m, "%s: Received line first" % what, data[:200]):
        return None
    return data[m.end():]


def exact(q, msg, what):
    rc, err = qq(q, ENV, msg)
    t.eq(rc, 0, "%s: exit 0" % what)
    if rc:
        t.diag(err)
    got = queued_bytes(q, what)
    t.ok(got == msg, "%s: kept byte for byte" % what,
         None if got is None else "got %d bytes, want %d" % (len(got), len(msg)))
    clear(q)


def make(path, size, kind):
    with open(path, "wb") as f:
        if kind == "header":
            f.write(b"X-Long: ")
            left = size
            while left > 0:
                k = min(left, MB)
                f.write(b"h" * k)
                left -= k
            f.write(b"\nSubject: long\n\nbody\n")
        else:
            f.write(b"Subject: big\n\n")
            line = b"b" * 75 + b"\n"
            block = line * (MB // len(line))
            left = size
            while left > 0:
                f.write(block[:min(left, len(block))])
                left -= len(block)
    return path


with Instance(t, name=NAME) as q:
    exact(q, b"", "empty message")
    exact(q, b"Subject: nul\0here\n\n\0\0body\0\n\0", "NUL bytes")
    exact(q, b"Subject: no newline at the end", "no final newline")
    exact(q, b"X-Long: " + b"h" * (5 * MB) + b"\n\nbody\n", "5 MB single header line")
    exact(q, bytes(range(256)) * 4096, "every byte value, 1 MB")

    tmp = tempfile.mkdtemp(prefix="nqqq-")
    try:
        for kind in ("body", "header"):
            rss = {}
            for size in (MB, 10 * MB):
                path = make(os.path.join(tmp, "%s-%d" % (kind, size)), size, kind)
                rc, err, kb = qq(q, ENV, stdin_path=path, rusage=True)
                t.eq(rc, 0, "%s of %d MB: exit 0" % (kind, size // MB))
                got = queued_bytes(q, "%s of %d MB" % (kind, size // MB))
                t.ok(got is not None and got == open(path, "rb").read(), "%s of %d MB: kept exactly" % (kind, size // MB))
                clear(q)
                rss[size] = kb
                os.unlink(path)
            t.diag("peak RSS %s: 1 MB %d kB, 10 MB %d kB" % (kind, rss[MB], rss[10 * MB]))
            t.ok(rss[10 * MB] <= rss[MB] + 256, "%s: peak RSS does not grow with the input" % kind, rss)
            t.ok(max(rss.values()) < 4 * 1024, "%s: peak RSS below 4 MB" % kind, rss)
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
t.done()
