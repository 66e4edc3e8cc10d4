#!/usr/bin/env python3
# The bounce path keeps memory bounded: qmail-send copies the original
# into the bounce by streaming, so bouncing a 10 MB message does not raise
# its peak RSS (VmHWM) above what bouncing a 1 MB message needed; and the
# bounce still carries the whole message.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()


def hwm(q):
    pids = q.pids("qmail-send")
    if len(pids) != 1:
        return None
    for line in open("/proc/%d/status" % pids[0]):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def body(mb, tag):
    line = ("%s " % tag) * 12 + "\n"
    n = (mb * 1024 * 1024) // len(line) + 1
    return "Subject: big %s\n\n" % tag + line * n + "END OF %s\n" % tag


with Instance(t, name="example.test") as q:
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    q.start()
    small = body(1, "small")
    q.queue(small, "joe@example.test", ["nobody@example.test"])
    t.ok(q.wait(lambda: q.maildir_count("alias/joebox") == 1, 30), "1 MB message bounced")
    h1 = hwm(q)
    big = body(10, "big")
    q.queue(big, "joe@example.test", ["nobody@example.test"])
    t.ok(q.wait(lambda: q.maildir_count("alias/joebox") == 2, 50), "10 MB message bounced")
    h2 = hwm(q)
    t.diag("qmail-send VmHWM: %s kB after the 1 MB bounce, %s kB after the 10 MB bounce" % (h1, h2))
    t.ok(h1 is not None and h2 is not None and h2 <= h1 + 512, "peak RSS did not grow with the message", (h1, h2))
    files = q.maildir_files("alias/joebox")
    sizes = [os.path.getsize(f) for f in files]
    t.ok(max(sizes) > len(big), "the bounce holds the whole 10 MB message", sizes)
    with open(max(files, key=os.path.getsize), "rb") as f:
        data = f.read()
    t.ok(b"\nEND OF big\n\n--nqmail-" in data[-200:], "copied to its last line, then the closing boundary")
t.done()
