#!/usr/bin/env python3
# qmail-clean, as qmail-send drives it (src/mail/spawn.h): "t<N>\0"
# removes intd/N and todo/N, "m<N>\0" also mess/S/N; each is answered
# '+' (a file already gone counts as done) or '!' (bad request, or a
# removal that failed); a reply comes without waiting for more input;
# end of input ends it with exit 0. At start it removes pid/ files older
# than 36 hours and keeps younger ones. Runs as qmailq in a root
# instance, as the owner in a single-user one.
import os, select, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-queue"))
from qqlib import qq, envelope, todo_numbers, as_user, SPLIT, leftovers
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user

t = Tap()
NAME = "example.test"


def exists(q, rel):
    return os.path.lexists(q.path("queue/" + rel))


def clean(q, data, user):
    p = subprocess.run([q.bin("qmail-clean")], input=data, capture_output=True, timeout=20,
                       preexec_fn=as_user(user), cwd="/")
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def check(q, who, user):
    for i in range(3):
        rc, err = qq(q, envelope("s@x", ["r@x"]))
        t.eq(rc, 0, "%s: message %d queued" % (who, i + 1))
    n1, n2, n3 = todo_numbers(q)
    hours = 3600
    old = q.path("queue/pid/1.1.1")
    young = q.path("queue/pid/2.2.1")
    for path, age in ((old, 37 * hours), (young, 35 * hours)):
        with open(path, "w"):
            pass
        if user:
            ids = q.role_ids()["qmailq"] if q.mode == "root" else None
            if ids:
                os.chown(path, ids[0], ids[1])
        os.utime(path, (time.time() - age, time.time() - age))
    # intd/N3 made unremovable for a while: a non-empty directory.
    os.unlink(q.path("queue/intd/%d" % n3))
    os.mkdir(q.path("queue/intd/%d" % n3))
    open(q.path("queue/intd/%d/x" % n3), "w").close()

    reqs = (b"t%d\0" % n1 + b"m%d\0" % n2 + b"m%d\0" % n1 + b"t99999999\0" + b"m%d\0" % n3 +
            b"x12\0" + b"t12a\0" + b"t\0" + b"t" + b"1" * 100 + b"\0" + b"m%d" % n2)
    rc, out, err = clean(q, reqs, user)
    t.eq(rc, 0, "%s: exit 0 at end of input" % who)
    t.eq(out, b"++++!!!!!", "%s: one reply per request, '+' done, '!' refused or failed" % who)
    t.ok(not exists(q, "todo/%d" % n1) and not exists(q, "intd/%d" % n1), "%s: t: todo/N and intd/N removed" % who)
    t.ok(not exists(q, "mess/%d/%d" % (n1 % SPLIT, n1)), "%s: later m: mess/S/N removed" % who)
    t.ok(not any(exists(q, r) for r in ("todo/%d" % n2, "intd/%d" % n2, "mess/%d/%d" % (n2 % SPLIT, n2))),
         "%s: m: todo, intd and mess all removed" % who)
    t.ok(exists(q, "todo/%d" % n3) and exists(q, "mess/%d/%d" % (n3 % SPLIT, n3)),
         "%s: failed m: todo/N and mess/S/N kept (the envelope goes first)" % who)
    t.ok("intd/%d" % n3 in err, "%s: the failure is reported on stderr" % who, err)
    t.ok(not os.path.exists(old), "%s: pid/ file older than 36 h removed at start" % who)
    t.ok(os.path.exists(young), "%s: pid/ file younger than 36 h kept" % who)
    os.unlink(young)

    # Repaired: the retry works.
    os.unlink(q.path("queue/intd/%d/x" % n3))
    os.rmdir(q.path("queue/intd/%d" % n3))
    rc, out, err = clean(q, b"m%d\0" % n3, user)
    t.eq((rc, out), (0, b"+"), "%s: retried m after the repair: '+'" % who)
    t.eq(leftovers(q), [], "%s: the queue is empty" % who)

    # Conversation: each reply comes while qmail-clean waits for more.
    rc, err = qq(q, envelope("s@x", ["r@x"]))
    n = todo_numbers(q)[0]
    p = subprocess.Popen([q.bin("qmail-clean")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=as_user(user))
    try:
        got = []
        for req in (b"t%d\0" % n, b"m%d\0" % n):
            p.stdin.write(req)
            p.stdin.flush()
            r, _, _ = select.select([p.stdout], [], [], 10)
            got.append(os.read(p.stdout.fileno(), 10) if r else b"(no reply)")
        t.eq(got, [b"+", b"+"], "%s: each reply arrives before the next request" % who)
        p.stdin.close()
        t.eq(p.wait(10), 0, "%s: exit 0 when qmail-send closes the pipe" % who)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    t.eq(leftovers(q), [], "%s: the queue is empty again" % who)


users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            check(q, "root (as qmailq)", "qmailq")
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qc"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user", q.as_owner())
finally:
    for u in users:
        u.remove()
t.done()
