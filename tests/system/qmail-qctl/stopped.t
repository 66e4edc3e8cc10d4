#!/usr/bin/env python3
# smoke
# qmail-qctl with qmail-send stopped: it takes lock/sendmutex itself, and
# list, hold, release, delete (by recipient pattern, by sender), bounce
# and requeue change exactly the files qctl.h says; qmail-send, started
# again, then finishes deleted messages without a bounce, sends the bounce
# of a bounced one (with the reason given), and leaves a held one alone.
# Root and single-user mode.
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtools import start, stop, queue_msgs, preprocess, records, chan, qctl, info, send_reads_qctl
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run, wait

t = Tap()
NAME = "example.test"


def check(q, who):
    sender = "postmaster@" + NAME
    ids = queue_msgs(q, [
        (sender, ["bob@far.example", "carol@far.example", "dave@other.example"]),   # a: delete -r
        ("eve@spam.example", ["x@far.example", "postmaster@" + NAME]),             # b: delete -f
        (sender, ["gone@far.example"]),                                             # c: bounce
        (sender, ["postmaster@" + NAME, "held@far.example"]),                       # d: hold
    ])
    a, b, c, d = ids
    t.ok(preprocess(q, ids), "%s: qmail-send took the messages in" % who, q.logtext())

    rc, out, err = qctl(q, "list")
    t.eq(rc, 0, "%s: list exits 0" % who, err)
    lines = {l.split()[0]: l for l in out.splitlines()}
    t.eq(sorted(lines), sorted("#%d" % n for n in ids), "%s: list shows every message" % who, out)
    t.ok("<eve@spam.example>" in lines.get("#%d" % b, "") and "local 1 remote 1" in lines.get("#%d" % b, ""),
         "%s: list shows sender and recipients to do" % who, out)

    rc, out, err = qctl(q, "delete")
    t.eq(rc, 100, "%s: a change without a choice of messages is refused" % who, err)
    rc, out, err = qctl(q, "frobnicate", "-a")
    t.eq(rc, 100, "%s: an unknown action is refused" % who, err)

    # delete by recipient: only the matching ones
    rc, out, err = qctl(q, "delete", "-r", "@FAR.example", str(a))
    t.eq((rc, out), (0, "#%d deleted 2 recipients, 1 left\n" % a), "%s: delete -r reports" % who, err)
    t.eq(records(q, "remote", a), [("D", "bob@far.example"), ("D", "carol@far.example"), ("T", "dave@other.example")],
         "%s: only the matching recipients are marked D" % who)
    t.ok(not os.path.exists(q.path("queue/bounce/%d" % a)), "%s: delete writes no bounce" % who)

    # delete by sender: the whole message
    rc, out, err = qctl(q, "delete", "-f", "*@spam.example")
    t.eq((rc, out), (0, "#%d deleted 2 recipients, 0 left\n" % b), "%s: delete -f reports" % who, err)
    t.eq([r[0] for r in records(q, "local", b) + records(q, "remote", b)], ["D", "D"], "%s: every recipient D" % who)

    # bounce with a reason
    rc, out, err = qctl(q, "bounce", "-m", "Removed by the test. (#5.7.1)", str(c))
    t.eq((rc, out), (0, "#%d bounced 1 recipient, 0 left\n" % c), "%s: bounce reports" % who, err)
    with open(q.path("queue/bounce/%d" % c), "rb") as f:
        bb = f.read()
    t.eq(bb, b"<gone@far.example>:\nRemoved by the test. (#5.7.1)\n\n", "%s: the failure is in bounce/N" % who)

    # hold, and its file
    rc, out, err = qctl(q, "hold", "#%d" % d)
    t.eq((rc, out), (0, "#%d held\n" % d), "%s: hold reports" % who, err)
    hf = q.path("queue/hold/%d" % d)
    t.ok(os.path.isfile(hf), "%s: hold/N exists" % who)
    if q.mode == "root":
        st = os.stat(hf)
        t.eq(st.st_uid, q.role_ids()["qmails"][0], "root: hold/N belongs to qmails")
    rc, out, err = qctl(q, "list", str(d))
    t.ok(out.rstrip().endswith("held"), "%s: list says held" % who, out)

    # requeue: the next retry after a start is now
    old = time.time() - 5000
    os.utime(chan(q, "remote", a), (old, old))
    rc, out, err = qctl(q, "requeue", str(a))
    t.eq((rc, out), (0, "#%d requeued\n" % a), "%s: requeue reports" % who, err)
    t.ok(abs(os.stat(chan(q, "remote", a)).st_mtime - time.time()) < 60, "%s: requeue sets the retry time to now" % who)

    rc, out, err = qctl(q, "delete", "999999999")
    t.eq(rc, 1, "%s: no message matched: exit 1" % who, err)

    # qmail-send again, delivering now: b finishes silently, c bounces to
    # the postmaster's Maildir with our reason, d stays held.
    q.control("concurrencylocal", "10")
    before = q.maildir_count("alias/Maildir")
    run([q.bin("qmail-qfix")], user=q.as_owner())    # makes lock/qctl
    honours = start(q)
    t.ok(wait(lambda: "end msg %d\n" % b in q.logtext() and "end msg %d\n" % c in q.logtext(), 20),
         "%s: deleted and bounced messages finish" % who, q.logtext())
    t.ok(wait(lambda: q.maildir_count("alias/Maildir") >= before + 1, 20), "%s: the bounce arrived" % who)
    texts = q.maildir_texts("alias/Maildir")
    t.ok(any("Removed by the test. (#5.7.1)" in x and "<gone@far.example>" in x for x in texts),
         "%s: the bounce names the recipient and the reason" % who)
    t.ok(not any("eve@spam.example" in x or "<x@far.example>" in x for x in texts),
         "%s: the deleted message made no bounce" % who)
    t.ok(honours, "%s: qmail-send holds lock/qctl open" % who, q.logtext())
    time.sleep(1)
    t.ok(os.path.exists(info(q, d)) and "msg %d to local" % d not in q.logtext(),
         "%s: the held message is not delivered" % who, q.logtext())
    stop(q)

    # release: the hold file goes
    rc, out, err = qctl(q, "release", str(d))
    t.eq((rc, out, os.path.exists(hf)), (0, "#%d released\n" % d, False), "%s: release removes hold/N" % who, err)


users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            check(q, "root")
            u = TestUser(unique_user("qc"))
            users.append(u)
            r = run([q.bin("qmail-qctl"), "list"], user=u.name)
            t.eq(r.returncode, 111, "root: another user cannot read the queue", r.stderr)
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qo"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user")
finally:
    for u in users:
        u.remove()
t.done()
