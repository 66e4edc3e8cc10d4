#!/usr/bin/env python3
# qmail-queue's durability, read from its system calls (strace -f -y,
# through tests/system/lib/stracecheck.py): the message file and intd/N
# are fsynced after their last write and before the link that creates
# todo/N; mess/S/ and intd/ are fsynced after gaining their entries and
# before that link; todo/ is fsynced after it; all before exit_group(0).
# A refused envelope never links anything into todo/ and removes what it
# created. The checker itself is shown to catch wrong orders.
# Root mode (set-uid qmailq under strace) and single-user mode.
import os, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qqlib import envelope, leftovers, clear, todo_numbers, SPLIT
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user
import stracecheck as sc

t = Tap()
NAME = "example.test"
ENV = envelope("s@example.test", ["a@example.test", "b@example.test"])

if not sc.available():
    t.skip("qmail-queue under strace", "strace is not installed")
    t.done()


def traced(q, env, message, user=None):
    with tempfile.TemporaryFile() as ef, tempfile.TemporaryFile() as mf:
        ef.write(env)
        ef.seek(0)
        mf.write(message)
        mf.seek(0)
        return sc.trace([q.bin("qmail-queue")], stdin=mf.fileno(), stdout=ef.fileno(), user=user)


def check(q, who, user=None):
    msg = b"Subject: strace\n\n" + b"line of the body\n" * 200000      # 3.4 MB: many writes
    tr = traced(q, ENV, msg, user)
    t.eq(tr.returncode, 0, "%s: qmail-queue exits 0 under strace" % who, )
    nums = todo_numbers(q)
    if not t.eq(len(nums), 1, "%s: one message queued" % who):
        t.diag(tr.stderr.decode(errors="replace"))
        return
    n = nums[0]
    mess, intd, todo = "queue/mess/%d/%d" % (n % SPLIT, n), "queue/intd/%d" % n, "queue/todo/%d" % n
    dirs = ["queue/mess/%d" % (n % SPLIT), "queue/intd"]
    ok, why = tr.durable(mess, todo, dirs_before=dirs, dir_after="queue/todo")
    t.ok(ok, "%s: mess/S/N written, fsynced, mess/S and intd/ fsynced, then todo/N linked, todo/ fsynced, exit 0" % who, why)
    ok, why = tr.durable(intd, todo, dirs_before=dirs, dir_after="queue/todo")
    t.ok(ok, "%s: intd/N written and fsynced before it is linked to todo/N" % who, why)
    ok, why = tr.order(("open", "queue/pid/*"), ("publish", mess), ("write", mess), ("fsync", mess),
                       ("open", intd), ("write", intd), ("fsync", intd), ("fsync", dirs[0]), ("fsync", dirs[1]),
                       ("publish", todo), ("fsync", "queue/todo"), ("exit", 0))
    t.ok(ok, "%s: the whole sequence in order" % who, why)
    pub = tr.first("publish", todo)
    t.ok(pub is not None and pub.name in ("link", "linkat") and tr.match(pub.source, intd),
         "%s: todo/N is a hard link of intd/N" % who, pub)
    unl = tr.find("unlink", "queue/pid/*")
    t.ok(len(unl) == 1 and pub is not None and pub.before(unl[0]), "%s: the pid/ name goes after publishing" % who,
         tr.dump("queue/pid/*"))
    t.eq(len(tr.find("publish", "queue/todo/*")), 1, "%s: exactly one link into todo/" % who)
    clear(q)

    tr = traced(q, b"Fs@x\0Xr@x\0\0", msg, user)
    t.eq(tr.returncode, 91, "%s: bad envelope under strace: exit 91" % who)
    t.eq(tr.find("publish", "queue/todo/*"), [], "%s: bad envelope: nothing linked into todo/" % who)
    made = [c.target for c in tr.find("open", "queue/intd/*")] + [c.target for c in tr.find("publish", "queue/mess/*/*")]
    gone = [c.target for c in tr.find("unlink")]
    t.ok(made and all(m in gone for m in made), "%s: bad envelope: intd/N and mess/S/N unlinked" % who,
         tr.dump("queue"))
    t.ok(tr.exit_call(91) is not None, "%s: bad envelope: exit_group(91)" % who)
    t.eq(leftovers(q), [], "%s: bad envelope: nothing left" % who)
    clear(q)


def self_test():
    """stracecheck must say no to a program that gets the order wrong."""
    d = tempfile.mkdtemp(prefix="nqsc-")
    progs = {
        "link before fsync": "fd=os.open('f',os.O_CREAT|os.O_WRONLY,0o644); os.write(fd,b'x'); os.link('f','g'); "
                             "os.fsync(fd); dd=os.open('.',os.O_RDONLY); os.fsync(dd)",
        "write after fsync": "fd=os.open('f',os.O_CREAT|os.O_WRONLY,0o644); os.write(fd,b'x'); os.fsync(fd); "
                             "os.write(fd,b'y'); os.link('f','g'); dd=os.open('.',os.O_RDONLY); os.fsync(dd)",
        "no directory fsync": "fd=os.open('f',os.O_CREAT|os.O_WRONLY,0o644); os.write(fd,b'x'); os.fsync(fd); "
                              "os.link('f','g')",
        "good": "fd=os.open('f',os.O_CREAT|os.O_WRONLY,0o644); os.write(fd,b'x'); os.fsync(fd); "
                "os.rename('f','g'); dd=os.open('.',os.O_RDONLY); os.fsync(dd)",
        "good, exit 3": "fd=os.open('f',os.O_CREAT|os.O_WRONLY,0o644); os.write(fd,b'x'); os.fsync(fd); "
                        "os.rename('f','g'); dd=os.open('.',os.O_RDONLY); os.fsync(dd); os._exit(3)",
    }
    try:
        for what, code in progs.items():
            for f in ("f", "g"):
                if os.path.exists(os.path.join(d, f)):
                    os.unlink(os.path.join(d, f))
            tr = sc.trace([sys.executable, "-c", "import os\n" + code.replace("; ", "\n")], cwd=d)
            ok, why = tr.durable(d + "/f", d + "/g")
            t.eq(ok, what == "good", "stracecheck on a program with %s: %s" % (what, "accepts" if what == "good" else "refuses"))
            if ok != (what == "good"):
                t.diag(why)
    finally:
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


self_test()
users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            check(q, "root")
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qt"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user", user=q.as_owner())
finally:
    for u in users:
        u.remove()
t.done()
