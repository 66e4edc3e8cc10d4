#!/usr/bin/env python3
# Garbage through qmail-inject: NUL bytes, a 2 MB header line, 100000
# header lines. Each is either queued and delivered whole, or refused with
# a clear message and a non-zero exit (100 or 111) and nothing queued;
# never a crash, never a half-written message.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()
NAME = "example.test"
with Instance(t, name=NAME) as q:
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.start()
    cases = [
        ("NUL in the body", b"To: x@example.test\nSubject: nul\n\nbefore\0after tok-1\n", b"before\0after tok-1"),
        ("NUL in a header", b"To: x@example.test\nSubject: a\0b\nX-T: tok-2\n\nbody\n", b"tok-2"),
        ("2 MB header line", b"To: x@example.test\nX-Long: " + b"L" * (2 * 1024 * 1024) + b"\nX-T: tok-3\n\nbody\n",
         b"L" * (2 * 1024 * 1024)),
        ("100000 header lines", b"To: x@example.test\n" + b"".join(b"X-H%d: v\n" % i for i in range(100000)) +
         b"X-T: tok-4\n\nbody\n", b"X-H99999: v\nX-T: tok-4"),
        ("2 MB body line without newline", b"To: x@example.test\nX-T: tok-5\n\n" + b"B" * (2 * 1024 * 1024),
         b"B" * (2 * 1024 * 1024)),
        ("header without colon", b"To: x@example.test\nthis is no header tok-6\n\nbody\n", b"tok-6"),
    ]
    accepted = []
    for what, msg, want in cases:
        r = q.inject(msg, ["x@" + NAME])
        if r.returncode == 0:
            accepted.append((what, want))
            t.ok(True, "%s: queued" % what)
        else:
            t.ok(r.returncode in (100, 111) and r.stderr.strip(),
                 "%s: refused with exit %d and a message" % (what, r.returncode), r.stderr[-300:])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") >= len(accepted), 60), "accepted ones delivered", q.logtext())
    texts = [open(f, "rb").read() for f in q.maildir_files("alias/Maildir")]
    t.eq(len(texts), len(accepted), "one Maildir file per accepted message, none for the refused")
    for what, want in accepted:
        t.ok(any(want in x for x in texts), "%s: delivered whole" % what)
    t.ok(q.wait(lambda: q.queue_count() == 0, 30), "queue empty", q.qstat())
    t.eq(q.queue_files(), [], "no file left in the queue")
t.done()
