#!/usr/bin/env python3
# qmail-inject runs the program named by QMAILQUEUE instead of
# DIR/bin/qmail-queue (a recording script proves the substitution and the
# exact bytes of message and envelope), and turns qmail-queue's exit codes
# into clear messages and exit 100 (permanent) or 111 (temporary).
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuepeek import Peek, base_env
from nqtest import Tap, Instance

t = Tap()
with Instance(t, name="example.test") as q:
    p = Peek(q)
    rec = q.path("rec")
    os.makedirs(rec)
    os.chmod(rec, 0o777)
    script = q.write("fakeqq", "#!/bin/sh\n"
                     "cat > %s/msg || exit 54\n"
                     "cat 0<&1 > %s/env || exit 54\n"
                     "[ -n \"$QQREASON\" ] && printf '%%s' \"$QQREASON\" >&6\n"
                     "[ -n \"$QQKILL\" ] && kill -9 $$\n"
                     "exit ${QQEXIT:-0}\n" % (rec, rec), mode=0o755)

    def fake(text, args=(), **kw):
        for f in ("msg", "env"):
            if os.path.exists(os.path.join(rec, f)):
                os.unlink(os.path.join(rec, f))
        r, m = p.inject(text, args=args, env=base_env(USER="joe", QMAILQUEUE=script, **kw))
        got = {}
        for f in ("msg", "env"):
            try:
                with open(os.path.join(rec, f), "rb") as fh:
                    got[f] = fh.read()
            except FileNotFoundError:
                got[f] = None
        return r, m, got

    r, m, got = fake("To: a@b.c, d\n\nhello\n", args=["-f", "s@x.y"])
    t.eq(r.returncode, 0, "QMAILQUEUE program accepted the message")
    t.eq(m, [], "DIR/bin/qmail-queue was not used: the queue stays empty")
    t.eq(got["env"], b"Fs@x.y\0Ta@b.c\0Td@example.test\0\0", "envelope bytes on fd 1: F, T..., final NUL")
    t.ok(got["msg"] is not None and got["msg"].startswith(b"Date: ")
         and got["msg"].endswith(b"To: a@b.c, d@example.test\n\nhello\n"),
         "message on fd 0 without a Received line of its own", got["msg"])

    def code(n, **kw):
        r, m, got = fake("To: a@b.c\n\nx\n", QQEXIT=str(n), **kw)
        return r.returncode, r.stderr.decode()

    for n, want, text in ((11, 100, "envelope address too long"), (31, 100, "permanently rejected"),
                          (51, 111, "out of memory"), (53, 111, "disk full"), (54, 111, "read error"),
                          (61, 111, "home directory"), (71, 111, "temporarily rejected"),
                          (81, 111, "internal bug"), (91, 111, "envelope format error"),
                          (25, 100, "permanent problem"), (99, 111, "temporary problem")):
        rc, err = code(n)
        t.ok(rc == want and text in err and err.startswith("qmail-inject: "),
             "qmail-queue exit %d: exit %d, says '%s'" % (n, want, text), (rc, err))
    rc, err = code(82, QQREASON="Dno mail for you today")
    t.ok(rc == 100 and "no mail for you today" in err, "exit 82 with a D reason on fd 6: exit 100 and the reason", err)
    rc, err = code(82, QQREASON="Ztry again later")
    t.ok(rc == 111 and "try again later" in err, "exit 82 with a Z reason: exit 111", err)
    rc, err = code(0, QQKILL="1")
    t.ok(rc == 111 and "crashed" in err, "qmail-queue killed by a signal: exit 111, 'crashed'", err)

    r, m = p.inject("To: a@b.c\n\nx\n", env=base_env(USER="joe", QMAILQUEUE=q.path("no-such-program")))
    t.ok(r.returncode == 111 and b"unable to run" in r.stderr, "missing QMAILQUEUE program: exit 111", r.stderr)

    # A program that exits 0 without reading the message has not queued it.
    quitter = q.write("quitter", "#!/bin/sh\nexit 0\n", mode=0o755)
    big = "To: a@b.c\n\n" + ("x" * 1000 + "\n") * 2000
    r, m = p.inject(big, env=base_env(USER="joe", QMAILQUEUE=quitter))
    t.ok(r.returncode == 111 and b"write error" in r.stderr,
         "qmail-queue that stops reading and exits 0: not taken as queued (111)", r.stderr)
t.done()
