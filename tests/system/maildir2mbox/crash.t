#!/usr/bin/env python3
# maildir2mbox killed anywhere loses and doubles nothing: for each system
# call it makes that changes files (open, write, fsync, unlink, close), and for each occurrence of it in turn, the program is
# killed with SIGKILL right there (strace's fault injection), run again
# -- killed once more at its first ftruncate, write, fsync or unlink,
# to break the recovery too
# -- and then run to the end. MAIL must then be exactly what one
# uninterrupted run makes, the Maildir empty and the journal gone.
# A MAIL changed by someone else after a crash keeps every message
# (some twice), never fewer.
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, run

t = Tap()
M2M = bin_("maildir2mbox")
base = tempfile.mkdtemp(prefix="nqt-m2mc-")
MSGS = [
    ("new/1700000000.M1P1.host", b"Return-Path: <a@example.org>\nSubject: one\n\nFrom start\n"),
    ("new/1700000001.M1P2.host", b"Subject: two\n\n" + b"z" * 40000 + b"\n"),
    ("cur/1700000002.M1P3.host:2,", b"Return-Path: <>\nSubject: three\n\nno newline"),
    ("new/1700000003.M1P4.host", b"Subject: four\n\n" + b"From line\n" * 3000),
]
OLD = b"From old@example.org Mon Jan  1 00:00:00 2024\nSubject: zero\n\nalready here\n\n"


def fresh(name):
    d = os.path.join(base, name)
    shutil.rmtree(d, ignore_errors=True)
    for s in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(d, "Maildir", s))
    for n, data in MSGS:
        with open(os.path.join(d, "Maildir", n), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "mbox"), "wb") as f:
        f.write(OLD)
    return d


def env(d):
    return {"PATH": "/usr/bin:/bin", "MAILDIR": os.path.join(d, "Maildir"), "MAIL": os.path.join(d, "mbox"),
            "MAILTMP": os.path.join(d, "mbox.tmp")}


def killed_at(d, call, n):
    """Run under strace, SIGKILLed at the n-th call; returns True when it
    was killed (False: it made fewer calls and finished)."""
    r = subprocess.run(["strace", "-f", "-o", "/dev/null", "-e", "trace=" + call,
                        "-e", "inject=%s:signal=SIGKILL:when=%d" % (call, n), M2M],
                       env=env(d), capture_output=True, timeout=60)
    return r.returncode != 0


def state(d):
    left = os.listdir(os.path.join(d, "Maildir/new")) + os.listdir(os.path.join(d, "Maildir/cur"))
    return open(os.path.join(d, "mbox"), "rb").read(), left, os.path.exists(os.path.join(d, "mbox.tmp"))


try:
    ref = fresh("ref")
    r = run([M2M], env=env(ref))
    want = open(os.path.join(ref, "mbox"), "rb").read()
    t.ok(r.returncode == 0 and want.startswith(OLD) and want.count(b"\nFrom ") == 4, "an uninterrupted run", r.stderr)

    CALLS = ["openat", "write", "fsync", "unlink", "close"]
    AGAIN = ["ftruncate", "write", "fsync", "unlink"]     # where the recovery run is killed
    for call in CALLS:
        bad, runs = [], 0
        for n in range(1, 400):
            d = fresh("k")
            if not killed_at(d, call, n):
                break
            runs += 1
            killed_at(d, AGAIN[n % len(AGAIN)], 1)      # the recovery run, killed too
            r = run([M2M], env=env(d))
            got = state(d)
            if r.returncode != 0 or got != (want, [], False):
                bad.append((n, r.returncode, r.stderr, len(got[0]), got[1], got[2]))
        t.ok(runs > 0 and not bad, "killed at each of %d %s calls: nothing lost, nothing doubled" % (runs, call),
             bad[:3])

    # Someone rewrites MAIL between a crash and the next run.
    d = fresh("changed")
    killed_at(d, "write", 3)
    with open(os.path.join(d, "mbox"), "ab") as f:
        f.write(b"\nFrom other@example.org Mon Jan  1 00:00:00 2024\nSubject: meanwhile\n\nx\n\n")
    r = run([M2M], env=env(d))
    data, left, journal = state(d)
    t.ok(r.returncode == 0 and b"changed after an interrupted run" in r.stderr, "a warning says MAIL changed", r.stderr)
    t.ok(all(data.count(b"Subject: " + s) >= 1 for s in (b"zero", b"one", b"two", b"three", b"four", b"meanwhile"))
         and not left and not journal, "every message is in MAIL, none lost")
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
