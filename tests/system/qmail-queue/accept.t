#!/usr/bin/env python3
# qmail-queue accepts a message: todo/N holds exactly the envelope
# ("u" uid, "p" pid, F, T..., final NUL), mess/S/N the Received line and
# the message byte for byte, N is the inode of mess/S/N (and todo/N is
# intd/N), pid/ is empty again, lock/trigger is poked. The Received line
# names the caller as qmail does (alias, network, bounce, uid N); the
# set-uid program ignores NQMAIL_HOME. Root mode and single-user mode.
# smoke
import os, sys, subprocess, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qqlib import qq, envelope, leftovers, clear, todo_numbers, read, mess_path, RECEIVED, SPLIT
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user

t = Tap()
NAME = "example.test"
MSG = b"Subject: accept\n\nbody line\n"


def qq1(q, env, **kw):
    return qq(q, env, MSG, **kw)


def check_queued(q, uid, words, sender="s@example.test", rcpts=("a@example.test", "b@example.test"),
                 msg=MSG, what=""):
    """One message in todo/: check its files; then remove them."""
    nums = todo_numbers(q)
    if not t.eq(len(nums), 1, "%s: one entry in todo/" % what):
        clear(q)
        return
    n = nums[0]
    mess = read(q, mess_path(n))
    m = RECEIVED.match(mess)
    if t.ok(m, "%s: mess/%d/%d starts with qmail's Received line" % (what, n % SPLIT, n), mess[:200]):
        t.eq(m.group(2).decode(), words, "%s: Received says 'invoked %s'" % (what, words))
        t.eq(mess[m.end():], msg, "%s: the message follows byte for byte" % what)
        pid = m.group(1).decode()
        want = b"u%d\0p%s\0" % (uid, pid.encode()) + envelope(sender, list(rcpts))
        t.eq(read(q, "queue/todo/%d" % n), want, "%s: todo/%d is u, p, F, T records and the final NUL" % (what, n))
    st = os.stat(q.path(mess_path(n)))
    t.eq(st.st_ino, n, "%s: the message number is the inode of mess/S/N" % what)
    t.eq(os.stat(q.path("queue/todo/%d" % n)).st_ino, os.stat(q.path("queue/intd/%d" % n)).st_ino,
         "%s: todo/N is a link to intd/N" % what)
    t.eq(os.listdir(q.path("queue/pid")), [], "%s: pid/ is empty" % what)
    t.eq(st.st_mode & 0o777, 0o644, "%s: mess file mode 0644" % what)
    clear(q)


users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            ids = q.role_ids()
            rc, err = qq1(q, envelope("s@example.test", ["a@example.test", "b@example.test"]))
            t.eq(rc, 0, "root: qmail-queue exits 0", )
            if rc:
                t.diag(err)
            check_queued(q, 0, "by uid 0", what="root")
            st = None
            rc, err = qq1(q, envelope("s@example.test", ["a@example.test"]))
            n = todo_numbers(q)[0] if todo_numbers(q) else None
            if n is not None:
                st = os.stat(q.path(mess_path(n)))
                t.eq(st.st_uid, ids["qmailq"][0], "root: the files belong to qmailq (set-uid)")
            clear(q)

            for role, words in (("alias", "by alias"), ("qmaild", "from network"), ("qmails", "for bounce")):
                rc, err = qq1(q, envelope("s@example.test", ["a@example.test", "b@example.test"]), user=role)
                t.eq(rc, 0, "as %s: exit 0" % role, )
                if rc:
                    t.diag(err)
                check_queued(q, ids[role][0], words, what="as " + role)

            u = TestUser(unique_user("qa"))
            users.append(u)
            rc, err = qq1(q, envelope("s@example.test", ["a@example.test", "b@example.test"]), user=u.name)
            t.eq(rc, 0, "as an ordinary user: exit 0")
            check_queued(q, u.uid, "by uid %d" % u.uid, what="ordinary user")

            # The set-uid program must not be pointed at another instance.
            with Instance(t, name=NAME) as other:
                env = dict(os.environ, NQMAIL_HOME=other.dir)
                rc, err = qq1(q, envelope("s@example.test", ["a@example.test"]), user=u.name, env_vars=env)
                t.eq(rc, 0, "with NQMAIL_HOME set: exit 0")
                t.eq(len(todo_numbers(q)), 1, "NQMAIL_HOME ignored: the message is in its own instance")
                t.eq(leftovers(other), [], "and nothing in the instance NQMAIL_HOME names")
                clear(q)

            # Bytes after the final NUL are not part of the envelope.
            rc, err = qq1(q, envelope("", ["a@example.test"]) + b"Tjunk\0\0more")
            t.eq(rc, 0, "trailing bytes after the envelope: exit 0")
            check_queued(q, 0, "by uid 0", sender="", rcpts=("a@example.test",), what="trailing bytes")

            # The caller may keep fd 1 open: qmail-queue stops at the final NUL.
            r, w = os.pipe()
            os.write(w, envelope("s@example.test", ["a@example.test"]))
            try:
                p = subprocess.run([q.bin("qmail-queue")], input=MSG, stdout=r, stderr=subprocess.PIPE, timeout=20)
                rc = p.returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
            os.close(r)
            os.close(w)
            t.eq(rc, 0, "envelope pipe left open by the caller: qmail-queue does not wait for its end")
            clear(q)

            # An address of qmail's maximum length is fine.
            long = "x" * (1002 - len("@example.test")) + "@example.test"
            rc, err = qq1(q, envelope(long, [long]))
            t.eq(rc, 0, "a 1002-byte sender and recipient are accepted")
            check_queued(q, 0, "by uid 0", sender=long, rcpts=(long,), what="1002-byte addresses")

            # lock/trigger is poked when someone listens.
            fd = os.open(q.path("queue/lock/trigger"), os.O_RDONLY | os.O_NONBLOCK)
            try:
                rc, err = qq1(q, envelope("s@example.test", ["a@example.test"]))
                try:
                    got = os.read(fd, 16)
                except BlockingIOError:
                    got = b""
            finally:
                os.close(fd)
            t.eq((rc, got), (0, b"\0"), "lock/trigger receives one byte")
            clear(q)
            # Nobody listening: still fine.
            rc, err = qq1(q, envelope("s@example.test", ["a@example.test"]))
            t.eq(rc, 0, "no reader on lock/trigger: exit 0")
            clear(q)

    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qs"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        ouid = owner.uid if owner else os.getuid()
        rc, err = qq1(q, envelope("s@example.test", ["a@example.test", "b@example.test"]))
        t.eq(rc, 0, "single-user: exit 0")
        if rc:
            t.diag(err)
        nums = todo_numbers(q)
        if nums:
            t.eq(os.stat(q.path(mess_path(nums[0]))).st_uid, ouid, "single-user: the message belongs to the owner")
        check_queued(q, ouid, "by uid %d" % ouid, what="single-user")
finally:
    for u in users:
        u.remove()
t.done()
