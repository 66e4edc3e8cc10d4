#!/usr/bin/env python3
# make setup by an ordinary user: a single-user instance. Everything
# belongs to that user, nothing is set-uid (qmail-queue is 0755), every
# role in users/ids is the user, multilog runs without setuidgid, the
# certificate is 0600 and state/smtpd 0700; running
# setup again (as the user) keeps the configuration and the queue.
import os, pwd, stat, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT, TOP, BUILD, run, unique_user

t = Tap()
u = TestUser(unique_user("set")) if IS_ROOT else None
try:
    if u:
        q = Instance(t, name="single.example.test", mode="single", owner=u.name)
        uid, gid = u.uid, u.gid
    else:
        q = Instance(t, name="single.example.test")
        uid, gid = os.getuid(), os.getgid()
    with q:
        t.ok(q.mode == "single", "a single-user instance")
        foreign, setid = [], []
        for root, dirs, files in os.walk(q.dir):
            for n in dirs + files:
                p = os.path.join(root, n)
                st = os.lstat(p)
                if st.st_uid != uid:
                    foreign.append(os.path.relpath(p, q.dir))
                if stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                    setid.append(os.path.relpath(p, q.dir))
        t.eq(foreign, [], "every file and directory belongs to the user")
        t.eq(setid, [], "no program is set-id")
        t.eq(stat.S_IMODE(os.stat(q.bin("qmail-queue")).st_mode), 0o755, "qmail-queue is 0755")
        t.eq(stat.S_IMODE(os.stat(q.dir).st_mode), 0o755, "DIR is 0755")
        ids = q.role_ids()
        t.ok(len(ids) == 7 and all(v == (uid, gid) for v in ids.values()), "every role in users/ids is the user", ids)
        idtext = open(q.path("users/ids")).read()
        t.ok("qmail::%d\n" % gid in idtext and "nofiles::%d\n" % gid in idtext, "both groups are the user's group")
        logrun = open(q.path("service/qmail-send/log/run")).read()
        t.ok("setuidgid" not in logrun and "multilog t" in logrun, "log/run runs multilog as the user", logrun)
        t.ok(os.path.isdir(q.path("alias/Maildir/new")), "alias/Maildir exists")
        for rel, mode in (("control/servercert.pem", 0o600), ("state/smtpd", 0o700)):
            t.eq(stat.S_IMODE(os.stat(q.path(rel)).st_mode), mode, "%s is %o" % (rel, mode))
        for sub in ("bin", "control", "queue/mess/22", "queue/lock", "users", "boot", "man/man8"):
            t.ok(os.path.isdir(q.path(sub)), sub + "/ exists")

        q.control("me", "kept.example.test")
        q.write("queue/mess/3/777", "Subject: x\n\nkept\n")
        qq = q.queue("Subject: real\n\nqueued\n", "a@b.example", ["x@single.example.test"])
        before = q.queue_files()
        r = run(["sh", os.path.join(TOP, "scripts/setup.sh"), q.dir, BUILD], user=u.name if u else None)
        t.eq(r.returncode, 0, "setup runs again as the user")
        t.ok(b"single instance ready" in r.stdout, "and says it is a single-user instance", r.stdout)
        t.eq(open(q.path("control/me")).read(), "kept.example.test\n", "control/me kept")
        t.eq(q.queue_files(), before, "the queue kept")
        t.eq(qq, 0, "qmail-queue queued a message as the user")
finally:
    if u:
        u.remove()
t.done()
