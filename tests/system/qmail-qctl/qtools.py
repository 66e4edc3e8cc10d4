"""qtools: helpers for the tests of qmail-qshape, qmail-qctl, qmail-qfix
and qmail-metrics: real messages queued through qmail-queue, taken in by
a real qmail-send (local deliveries held back with concurrencylocal 0,
remote ones deferred: nothing answers DNS), then the queue inspected with
qmail-send stopped or running."""
import os, signal, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from nqtest import run, wait  # noqa: E402

SPLIT = 23


def todo_ids(q):
    return set(int(f) for f in os.listdir(q.path("queue/todo")))


def mess_ids(q):
    out = set()
    for s in range(SPLIT):
        out |= set(int(f) for f in os.listdir(q.path("queue/mess/%d" % s)))
    return out


def queue_msgs(q, msgs):
    """Queue each (sender, [recipients]); returns their message numbers,
    in order."""
    ids = []
    for i, (sender, rcpts) in enumerate(msgs):
        before = mess_ids(q)
        rc = q.queue("Subject: test %d\n\nbody %d\n" % (i, i), sender, rcpts)
        if rc != 0:
            raise RuntimeError("qmail-queue exit %d" % rc)
        new = mess_ids(q) - before
        assert len(new) == 1, new
        ids.append(new.pop())
    return ids


def preprocess(q, ids, keep_running=False):
    """Start qmail-send with local deliveries held (concurrencylocal 0),
    wait until it has taken every message from todo/ and its remote
    deliveries have settled, then stop it (unless keep_running)."""
    q.control("concurrencylocal", "0")
    q.start()
    ok = wait(lambda: not todo_ids(q) and all(os.path.exists(info(q, n)) for n in ids), 20)
    # every remote recipient tried once (deferred: no DNS answers)
    wait(lambda: q.logtext().count(": deferral:") + q.logtext().count(": success:") + q.logtext().count(": failure:")
         >= q.logtext().count("starting delivery"), 20)
    if not keep_running:
        stop(q)
    return ok


def stop(q):
    """Stop qmail-send and wait until it is gone (it finishes the
    deliveries running first), so the next start is not refused."""
    q.stop()
    wait(lambda: not q.send_pids(), 20)


def start(q):
    """Start qmail-send and wait until it runs (and, if it speaks
    qctl.h, has lock/qctl open: up to 3 s)."""
    n = q.logtext().count("status:")
    q.start()
    wait(lambda: q.logtext().count("status:") > n, 10)
    return wait(lambda: send_reads_qctl(q), 3)


def info(q, n):
    return q.path("queue/info/%d/%d" % (n % SPLIT, n))


def chan(q, c, n):
    return q.path("queue/%s/%d/%d" % (c, n % SPLIT, n))


def records(q, c, n):
    """[(type, address)] of local/S/N or remote/S/N ([] when missing)."""
    try:
        with open(chan(q, c, n), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return [(r[:1].decode(), r[1:].decode()) for r in data.split(b"\0") if r]


def set_age(q, n, seconds):
    """Make message n look `seconds` old (its info file's mtime)."""
    t = time.time() - seconds
    os.utime(info(q, n), (t, t))


def qctl(q, *args, user=None):
    r = run([q.bin("qmail-qctl")] + list(args), user=user or q.as_owner())
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def send_reads_qctl(q):
    """Does the running qmail-send hold lock/qctl open (qctl.h's protocol)?"""
    try:
        fd = os.open(q.path("queue/lock/qctl"), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    os.close(fd)
    return True
