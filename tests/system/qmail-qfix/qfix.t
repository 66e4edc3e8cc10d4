#!/usr/bin/env python3
# smoke
# qmail-qfix checks and repairs the queue: missing directories and lock
# files (hold/, lock/qctl, a split directory), wrong owners and modes, a
# trigger that is not a named pipe, files in the wrong split directory, a
# message not named after its inode (renumbered with all its files),
# files no queue state explains (removed). -n only reports (exit 1 when
# something is wrong); it refuses to touch a queue while qmail-send runs.
# After the repair qmail-send delivers the renumbered message.
import os, shutil, stat, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-qctl"))
from qtools import queue_msgs, preprocess, info, chan, start, stop, SPLIT
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run, wait

t = Tap()
NAME = "example.test"
PM = "postmaster@" + NAME


def qfix(q, *args):
    r = run([q.bin("qmail-qfix")] + list(args), user=q.as_owner())
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def qp(q, rel):
    return q.path("queue/" + rel)


def check(q, who):
    root = q.mode == "root"
    ids = q.role_ids()
    rc, out, err = qfix(q)
    t.eq(rc, 0, "%s: a first run makes what setup did not" % who, out + err)
    rc, out, err = qfix(q, "-n")
    t.eq((rc, out), (0, "queue is fine\n"), "%s: then the queue is fine" % who, err)
    t.ok(stat.S_ISFIFO(os.lstat(qp(q, "lock/qctl")).st_mode) and os.path.isdir(qp(q, "hold")),
         "%s: lock/qctl and hold/ exist" % who)

    a, b = queue_msgs(q, [(PM, [PM]), (PM, ["far@far.example"])])
    t.ok(preprocess(q, [a, b]), "%s: messages taken in" % who, q.logtext())

    # refuses while qmail-send runs
    start(q)
    rc, out2, err = qfix(q)
    t.ok(rc == 111 and "running" in err, "%s: refuses to repair a running queue" % who, out2 + err)
    stop(q)

    # damage
    os.chmod(qp(q, "mess"), 0o700)
    os.unlink(qp(q, "lock/trigger"))
    open(qp(q, "lock/trigger"), "w").close()
    if root:
        os.chown(qp(q, "info/3"), 0, 0)
    # message a renumbered by hand, as if copied to another file system
    new = a + 1
    while os.path.exists(qp(q, "mess/%d/%d" % (new % SPLIT, new))):
        new += 1
    for d in ("mess", "info", "local", "remote"):
        src = qp(q, "%s/%d/%d" % (d, a % SPLIT, a))
        if os.path.exists(src):
            os.rename(src, qp(q, "%s/%d/%d" % (d, new % SPLIT, new)))
    gone = next(i for i in range(SPLIT) if i not in (a % SPLIT, new % SPLIT, b % SPLIT))
    shutil.rmtree(qp(q, "local/%d" % gone))
    # message b's info in the wrong split directory
    wrong = (b + 1) % SPLIT
    os.rename(info(q, b), qp(q, "info/%d/%d" % (wrong, b)))
    # orphans
    for rel in ("remote/%d/99999999" % (99999999 % SPLIT), "bounce/99999998", "hold/99999997",
                "todo/99999996", "intd/99999996"):
        with open(qp(q, rel), "wb") as f:
            f.write(b"x")

    def messfile(text):
        """A mess/S/N named after its inode, as qmail-queue makes them."""
        tmp = qp(q, "mess/tmp")
        with open(tmp, "wb") as f:
            f.write(text)
        n = os.stat(tmp).st_ino
        rel = "mess/%d/%d" % (n % SPLIT, n)
        os.rename(tmp, qp(q, rel))
        return rel
    lost = messfile(b"Subject: lost\n\n")       # neither todo nor info, one link
    young = messfile(b"Subject: young\n\n")     # being written: two links, young
    os.link(qp(q, young), qp(q, "pid/young"))
    with open(qp(q, "pid/old"), "wb") as f:
        f.write(b"")
    old = time.time() - 40 * 3600
    os.utime(qp(q, "pid/old"), (old, old))
    with open(qp(q, "todo/junk.txt"), "wb") as f:
        f.write(b"?")

    if q.as_owner():        # single-user: what the test made belongs to the owner
        import pwd
        pw = pwd.getpwnam(q.owner)
        for rel in q.queue_files() + ["todo/junk.txt", "lock/trigger", "hold/99999997"]:
            if os.path.exists(qp(q, rel)):
                os.lchown(qp(q, rel), pw.pw_uid, pw.pw_gid)
    before = sorted(q.queue_files())
    rc, out, err = qfix(q, "-n")
    t.eq(rc, 1, "%s: -n: exit 1 when something is wrong" % who, out + err)
    t.eq(sorted(q.queue_files()), before, "%s: -n changes nothing" % who)
    for what in ("queue/mess: wrong mode", "queue/local/%d: missing" % gone, "queue/lock/trigger: not a named pipe",
                 "not named after its inode", "queue/info/%d/%d: in the wrong split directory" % (wrong, b),
                 "queue/remote/%d/99999999: no info/" % (99999999 % SPLIT), "queue/bounce/99999998: no info/", "queue/hold/99999997: no info/",
                 "queue/todo/99999996: its message (mess/) is gone", "queue/%s: neither todo/ nor info/" % lost,
                 "queue/pid/old: left by a qmail-queue", "queue/todo/junk.txt: not a message file"):
        t.ok(what in out, "%s: -n reports %s" % (who, what), out)
    t.ok("%s: neither" % young not in out and "pid/young" not in out, "%s: a message being queued is left alone" % who, out)
    t.eq(out.count("not named after its inode"), 1, "%s: only the renumbered message is" % who, out)
    t.ok("queue/mess/%d/%d: neither" % (b % SPLIT, b) not in out and "queue/remote/%d/%d:" % (b % SPLIT, b) not in out,
         "%s: -n sees the moved info file where it would be" % who, out)
    if root:
        t.ok("queue/info/3: wrong owner" in out, "root: -n reports a wrong owner", out)

    rc, out, err = qfix(q)
    t.eq(rc, 0, "%s: repair exits 0" % who, out + err)
    t.ok(stat.S_IMODE(os.stat(qp(q, "mess")).st_mode) == 0o750 and os.path.isdir(qp(q, "local/%d" % gone))
         and stat.S_ISFIFO(os.lstat(qp(q, "lock/trigger")).st_mode), "%s: structure repaired" % who)
    if root:
        st = os.stat(qp(q, "info/3"))
        t.eq((st.st_uid, st.st_gid), (ids["qmails"][0], ids["qmails"][1]), "root: owner repaired")
        st = os.lstat(qp(q, "lock/trigger"))
        t.eq((st.st_uid, stat.S_IMODE(st.st_mode)), (ids["qmails"][0], 0o622), "root: trigger owner and mode")
    t.ok(os.path.exists(qp(q, "mess/%d/%d" % (a % SPLIT, a))) and os.path.exists(info(q, a))
         and os.path.exists(chan(q, "local", a)) and not os.path.exists(qp(q, "mess/%d/%d" % (new % SPLIT, new))),
         "%s: the renumbered message has its inode's number again" % who, q.queue_files())
    t.ok(os.path.exists(info(q, b)), "%s: info moved to its split directory" % who)
    for rel in ("remote/%d/99999999" % (99999999 % SPLIT), "bounce/99999998", "hold/99999997", "todo/99999996",
                "intd/99999996", lost, "pid/old"):
        t.ok(not os.path.exists(qp(q, rel)), "%s: %s removed" % (who, rel))
    t.ok(os.path.exists(qp(q, young)) and os.path.exists(qp(q, "todo/junk.txt")),
         "%s: what it does not understand stays" % who)
    os.unlink(qp(q, "todo/junk.txt"))
    os.unlink(qp(q, "pid/young"))
    os.unlink(qp(q, young))
    rc, out, err = qfix(q, "-n")
    t.eq((rc, out), (0, "queue is fine\n"), "%s: fine after the repair" % who, err)

    q.control("concurrencylocal", "10")
    n = q.maildir_count("alias/Maildir")
    start(q)
    t.ok(wait(lambda: "end msg %d\n" % a in q.logtext(), 20) and q.maildir_count("alias/Maildir") == n + 1,
         "%s: qmail-send delivers the repaired message" % who, q.logtext())
    stop(q)


users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            check(q, "root")
            u = TestUser(unique_user("qf"))
            users.append(u)
            r = run([q.bin("qmail-qfix"), "-n"], user=u.name)
            t.eq(r.returncode, 100, "root: another user is refused", r.stderr)
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qg"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user")
finally:
    for u in users:
        u.remove()
t.done()
