#!/usr/bin/env python3
# qmail-qread lists the messages qmail-send has preprocessed (info/S/N) in
# qmail's format: "DATE GMT  #N  SIZE  <sender> " (plus " bouncing" while
# bounce/N exists), then "\tlocal\trcpt" / "\tremote\trcpt", prefixed
# "  done" for recipients marked D; bytes outside printable ASCII show as
# '_'; a message still only in todo/ is not listed (as qmail). Root and
# single-user mode; anyone else is told it needs root, exit 111.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-queue"))
from qqlib import qq, envelope, todo_numbers, SPLIT, mess_path
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run

t = Tap()
NAME = "example.test"
WHEN = 1795971600           # 29 Nov 2026 17:00:00 UTC


def put(q, rel, data):
    p = q.path("queue/" + rel)
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (WHEN, WHEN))


def preprocess(q, n, sender, local, remote):
    """What qmail-send leaves for message n: info, local, remote."""
    s = n % SPLIT
    put(q, "info/%d/%d" % (s, n), b"F" + sender + b"\0")
    if local:
        put(q, "local/%d/%d" % (s, n), b"".join(local))
    if remote:
        put(q, "remote/%d/%d" % (s, n), b"".join(remote))
    os.unlink(q.path("queue/todo/%d" % n))
    os.unlink(q.path("queue/intd/%d" % n))


def blocks(text):
    out, cur = [], None
    for line in text.splitlines(True):
        if not line[:1].isspace():
            cur = [line]
            out.append(cur)
        elif cur is not None:
            cur.append(line)
    return sorted("".join(b) for b in out)


def check(q, who, stranger=None):
    for i in range(3):
        rc, err = qq(q, envelope("s@x", ["r@x"]), message=b"Subject: %d\n\n" % i + b"x" * (100 * i))
        t.eq(rc, 0, "%s: message %d queued" % (who, i + 1))
    n1, n2, n3 = todo_numbers(q)
    preprocess(q, n1, b"alice@example.test", [b"Tbob@example.test\0", b"Dcarol@example.test\0"],
               [b"Tdave@far.example\0", b"Teve\x1b[31m@far.example\0"])
    preprocess(q, n2, b"", [], [b"Dfrank@far.example\0"])
    put(q, "bounce/%d" % n2, b"frank@far.example: no such user\n")
    size = lambda n: os.path.getsize(q.path(mess_path(n)))
    want = [
        "29 Nov 2026 17:00:00 GMT  #%d  %d  <alice@example.test> \n"
        "\tlocal\tbob@example.test\n"
        "  done\tlocal\tcarol@example.test\n"
        "\tremote\tdave@far.example\n"
        "\tremote\teve_[31m@far.example\n" % (n1, size(n1)),
        "29 Nov 2026 17:00:00 GMT  #%d  %d  <>  bouncing\n"
        "  done\tremote\tfrank@far.example\n" % (n2, size(n2)),
    ]
    r = run([q.bin("qmail-qread")], user=q.as_owner())
    out = r.stdout.decode(errors="replace")
    t.eq(r.returncode, 0, "%s: exit 0" % who)
    t.eq(blocks(out), sorted(want), "%s: qmail's listing, message by message" % who)
    t.ok("#%d " % n3 not in out, "%s: a message only in todo/ is not listed" % who)
    if stranger:
        r = run([q.bin("qmail-qread")], user=stranger)
        t.eq((r.returncode, r.stdout), (111, b""), "%s: another user: exit 111, no listing" % who)
        err = r.stderr.decode(errors="replace")
        t.ok("root" in err and "qmail-qread: " in err, "%s: and is told why" % who, err)


users = []
try:
    if IS_ROOT:
        u = TestUser(unique_user("qr"))
        users.append(u)
        with Instance(t, name=NAME) as q:
            check(q, "root", u.name)
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qp"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user")
finally:
    for u in users:
        u.remove()
t.done()
