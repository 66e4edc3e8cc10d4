#!/usr/bin/env python3
# qmail-local: memory does not grow with the size of a header line (the
# 2020 qmail-local exploit grew a buffer with a 4 GB header line).
# The peak RSS of qmail-local itself (VmHWM in /proc/PID/status, counted
# from its exec; ru_maxrss would include the memory of the Python process
# that forked it) is read while its last step, a forward, waits in a fake
# qmail-queue: by then it has run the loop check and delivered to a
# Maildir, an mbox and a program. A 1 MB and a 10 MB single header line
# must give the same peak within a fixed slack.
import os, shutil, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient
from nqtest import Tap

t = Tap()
r = Recipient("rs")
spool = tempfile.mkdtemp(prefix="nql-rss-")
os.chmod(spool, 0o777)
READY = os.path.join(spool, "ready")
FAKE = os.path.join(spool, "qq")
with open(FAKE, "w") as f:
    f.write("#!/bin/sh\ncat > /dev/null\ncat 0<&1 > /dev/null\ntouch %s\n"
            "i=0; while [ -e %s ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\nexit 0\n" % (READY, READY))
os.chmod(FAKE, 0o755)
SLACK_KB = 1024


def hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def peak(message, **kw):
    """Run qmail-local; returns (exit code, its peak RSS in kB)."""
    try:
        os.unlink(READY)
    except FileNotFoundError:
        pass
    p = r.deliver(message, popen=True, env={"PATH": "/usr/bin:/bin", "QMAILQUEUE": FAKE}, **kw)
    end = time.time() + 30
    while not os.path.exists(READY) and p.poll() is None and time.time() < end:
        time.sleep(0.01)
    kb = hwm(p.pid) if p.poll() is None else None
    os.unlink(READY) if os.path.exists(READY) else None
    return p.wait(30), kb


def msg(size):
    return b"X-Huge: " + b"h" * size + b"\nSubject: big\n\nbody\n"


try:
    r.maildirmake("Maildir")
    r.write(".qmail-all", "./Maildir/\n./Mailbox\n|cat > /dev/null\n&far@example.org\n")
    rc1, m1 = peak(msg(1 << 20), dash="-", ext="all")
    rc2, m2 = peak(msg(10 << 20), dash="-", ext="all")
    t.ok(rc1 == 0 and rc2 == 0 and m1 and m2, "loop check, Maildir, mbox, program, forward: delivered and measured",
         "rc %d %d, %r %r kB" % (rc1, rc2, m1, m2))
    t.ok(m1 and m2 and m2 <= m1 + SLACK_KB, "peak RSS %r kB with a 10 MB header line vs %r kB with 1 MB" % (m2, m1))
    box = os.path.getsize(r.path("Mailbox"))
    t.ok(box > 11 << 20 and len(r.maildir()) == 2, "both messages stored whole")
finally:
    r.remove()
    shutil.rmtree(spool, ignore_errors=True)
t.done()
