#!/usr/bin/env python3
# qmail-inject's memory is bounded: a header line of 1 MB and one of 10 MB
# are refused alike (exit 100, a clear message, nothing queued) with the
# same peak RSS; a header too large in all is refused; a body of any size
# (20 MB, lines of 10 MB) is streamed into the queue byte for byte with a
# peak RSS that does not grow with it.
import os, random, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuepeek import Peek, base_env, peak_rss
from nqtest import Tap, Instance

t = Tap()
MB = 1024 * 1024


def measure(q, path, args=()):
    """Run qmail-inject on the file at path; (exit code, stderr, peak RSS in KB)."""
    return peak_rss([q.bin("qmail-inject")] + list(args), path, base_env(USER="joe"))


def bounded(small, large):
    return large <= small * 1.5 + 2048


with Instance(t, name="example.test") as q:
    p = Peek(q)
    f1, f10 = q.path("../in1"), q.path("../in10")

    # --- one huge header line --------------------------------------------
    for path, size in ((f1, MB), (f10, 10 * MB)):
        with open(path, "wb") as f:
            f.write(b"To: a@b.c\nSubject: " + b"x" * size + b"\n\nbody\n")
    p.clear()
    rc1, err1, rss1 = measure(q, f1)
    rc10, err10, rss10 = measure(q, f10)
    t.ok(rc1 == 100 and "header field too long" in err1 and "262144" in err1,
         "1 MB header line: exit 100, 'header field too long' with the limit", (rc1, err1))
    t.ok(rc10 == 100 and "header field too long" in err10, "10 MB header line: the same", (rc10, err10))
    t.eq(p.messages(), [], "nothing queued")
    t.ok(bounded(rss1, rss10), "peak RSS bounded: %d KB vs %d KB" % (rss1, rss10))
    t.ok(rss10 < 64 * 1024, "peak RSS small (%d KB)" % rss10)

    # a huge folded field (many continuation lines) is one field
    with open(f1, "wb") as f:
        f.write(b"To: a@b.c\nX-Long: start\n" + b"  more text here\n" * 40000 + b"\nbody\n")
    rc, err, rss = measure(q, f1)
    t.ok(rc == 100 and "header field too long" in err, "a folded field beyond the limit is refused", err)

    # many fields, each small, over the header limit
    with open(f1, "wb") as f:
        f.write(b"To: a@b.c\n" + b"X-Filler: " + b"y" * 90 + b"\n" * 1 + (b"X-Filler: " + b"y" * 90 + b"\n") * 12000
                + b"\nbody\n")
    rc, err, rss = measure(q, f1)
    t.ok(rc == 100 and "header too long" in err and "1048576" in err, "header over 1 MB in all: exit 100", err)
    t.eq(p.messages(), [], "nothing queued")

    # a field just under the limit is fine
    with open(f1, "wb") as f:
        f.write(b"To: a@b.c\nX-Big: " + b"z" * 200000 + b"\n\nbody\n")
    p.clear()
    rc, err, rss = measure(q, f1)
    m = p.messages()
    t.ok(rc == 0 and len(m) == 1 and m[0].header("X-Big") == ["z" * 200000], "a 200 KB field is kept", err)

    # --- the body is streamed -----------------------------------------------
    for path, size in ((f1, MB), (f10, 10 * MB)):
        with open(path, "wb") as f:
            f.write(b"To: a@b.c\n\n" + b"w" * size + b"\n")
    p.clear()
    rc1, err1, rss1 = measure(q, f1)
    m1 = p.messages()
    p.clear()
    rc10, err10, rss10 = measure(q, f10)
    m10 = p.messages()
    p.clear()
    t.ok(rc1 == 0 and rc10 == 0 and len(m1) == 1 and len(m10) == 1, "1 MB and 10 MB body lines queued", (err1, err10))
    t.ok(m10 and m10[0].body == b"w" * 10 * MB + b"\n", "10 MB body line byte-exact")
    t.ok(bounded(rss1, rss10), "peak RSS bounded for body lines: %d KB vs %d KB" % (rss1, rss10))

    # a message without header whose first line is 10 MB: it is all body
    with open(f10, "wb") as f:
        f.write(b"v" * 10 * MB + b"\nsecond\n")
    rc, err, rss = measure(q, f10, ["x@y.z"])
    m = p.messages()
    p.clear()
    t.ok(rc == 0 and len(m) == 1 and m[0].body == b"v" * 10 * MB + b"\nsecond\n",
         "a 10 MB first line that is no field is body, byte-exact", err)
    t.ok(bounded(rss1, rss), "peak RSS bounded for it: %d KB" % rss)

    # 20 MB body, many lines, byte-exact
    rnd = random.Random(7)
    lines = []
    size = 0
    while size < 20 * MB:
        n = rnd.randrange(0, 200)
        line = bytes(rnd.randrange(32, 127) for _ in range(16)) * (n // 16) + b"\n"
        lines.append(line)
        size += len(line)
    body = b"".join(lines)
    with open(f10, "wb") as f:
        f.write(b"To: a@b.c\nSubject: big\n\n" + body)
    rc, err, rss = measure(q, f10)
    m = p.messages()
    p.clear()
    t.ok(rc == 0 and len(m) == 1, "20 MB message queued", err)
    t.ok(m and m[0].body == body, "20 MB body byte-exact in queue/mess")
    t.ok(bounded(rss1, rss), "peak RSS for 20 MB: %d KB (1 MB: %d KB)" % (rss, rss1))
    os.unlink(f1)
    os.unlink(f10)
t.done()
