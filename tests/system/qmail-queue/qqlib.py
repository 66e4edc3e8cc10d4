"""qqlib: helpers for the qmail-queue, qmail-clean, qmail-qstat and
qmail-qread tests: run qmail-queue with any envelope bytes, and look at
what landed in the queue."""
import os, pwd, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from nqtest import IS_ROOT  # noqa: E402

SPLIT = 23
RECEIVED = re.compile(rb"^Received: \(qmail (\d+) invoked (by alias|from network|for bounce|by uid (\d+))\); "
                      rb"([1-9]|[12][0-9]|3[01]) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      rb"(\d{4}) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] -0000\n")


def envelope(sender, recipients):
    return b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in recipients) + b"\0"


def as_user(name):
    """preexec_fn that becomes the named user (root only), or None."""
    if name is None or not IS_ROOT:
        return None
    pw = pwd.getpwnam(name)

    def pre():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return pre


def qq(q, env, message=b"Subject: t\n\nbody\n", user=None, env_vars=None, prog=None,
       stdin_path=None, rusage=False):
    """Run qmail-queue with message on fd 0 and the bytes env on fd 1 (both
    from temporary files, so any size works). Returns (code, stderr text),
    or (code, stderr, peak RSS in kB) with rusage=True. The peak is
    measured by /usr/bin/time, whose child starts small: a child forked
    from Python would report Python's own RSS (the kernel keeps the
    largest RSS a process had, across exec)."""
    user = user if user is not None else q.as_owner()
    cmd = [prog or q.bin("qmail-queue")]
    tf = None
    if rusage:
        tf = tempfile.NamedTemporaryFile(prefix="nqrss-", delete=False)
        tf.close()
        cmd = ["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd
    with tempfile.TemporaryFile() as ef, tempfile.TemporaryFile() as mf, tempfile.TemporaryFile() as errf:
        ef.write(env)
        ef.seek(0)
        if stdin_path is None:
            mf.write(message if isinstance(message, bytes) else message.encode())
            mf.seek(0)
            fin = mf.fileno()
            own = None
        else:
            own = os.open(stdin_path, os.O_RDONLY)   # may be a directory
            fin = own
        try:
            p = subprocess.Popen(cmd, stdin=fin, stdout=ef.fileno(), stderr=errf,
                                 preexec_fn=as_user(user), env=env_vars)
            p.wait()
        finally:
            if own is not None:
                os.close(own)
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace")
    if rusage:
        with open(tf.name) as f:
            lines = f.read().split()
        os.unlink(tf.name)
        return p.returncode, err, int(lines[-1]) if lines and lines[-1].isdigit() else None
    return p.returncode, err


def files(q, sub):
    """Files under queue/sub (recursively), relative to queue/."""
    return sorted(f for f in q.queue_files((sub,)))


def leftovers(q):
    """Every file in pid/ mess/ intd/ todo/: what a failed queueing must not leave."""
    return q.queue_files(("pid", "mess", "intd", "todo"))


def clear(q):
    for f in leftovers(q):
        os.unlink(q.path("queue/" + f))


def todo_numbers(q):
    return sorted(int(f) for f in os.listdir(q.path("queue/todo")))


def read(q, rel):
    with open(q.path(rel), "rb") as f:
        return f.read()


def mess_path(n):
    return "queue/mess/%d/%d" % (n % SPLIT, n)
