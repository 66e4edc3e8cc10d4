#!/usr/bin/env python3
# qmail-queue refuses what is not a complete envelope with qmail's exit
# codes and publishes nothing: after each refusal pid/, mess/, intd/ and
# todo/ are empty. 91 envelope format error (no F first, a type letter
# other than T, no recipient), 54 input that ends before the final NUL or
# cannot be read (as qmail), 11 an address over 1002 bytes (even one that
# never ends). Root mode and single-user mode.
import os, sys, subprocess
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qqlib import qq, envelope, leftovers, clear, as_user
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user

t = Tap()
NAME = "example.test"
LONG = b"a" * 1003

CASES = [
    ("empty envelope", b"", 54),
    ("missing final NUL", b"Fs@x\0Tr@x\0", 54),
    ("truncated recipient", b"Fs@x\0Tr@", 54),
    ("truncated sender", b"Fs@", 54),
    ("no F first", b"Ts@x\0Tr@x\0\0", 91),
    ("NUL first", b"\0", 91),
    ("no recipient", b"Fs@x\0\0", 91),
    ("garbage type letter", b"Fs@x\0Xr@x\0\0", 91),
    ("lower-case t", b"Fs@x\0tr@x\0\0", 91),
    ("second F", b"Fs@x\0Tr@x\0Fy@x\0\0", 91),
    ("garbage after a recipient", b"Fs@x\0Tr@x\0Tq@x\0?\0", 91),
    ("sender of 1003 bytes", b"F" + LONG + b"\0Tr@x\0\0", 11),
    ("recipient of 1003 bytes", b"Fs@x\0Tr@x\0T" + LONG + b"\0\0", 11),
    ("recipient of 100 kB", b"Fs@x\0T" + b"r" * 100000 + b"\0\0", 11),
    ("address that never ends (8 MB)", b"Fs@x\0T" + b"r" * (8 << 20), 11),
]


def run_cases(q, cases, who):
    for what, env, want in cases:
        rc, err = qq(q, env)
        t.eq(rc, want, "%s: %s: exit %d" % (who, what, want))
        t.ok("qmail-queue: " in err, "%s: %s: says why on stderr" % (who, what), err)
        left = leftovers(q)
        t.eq(left, [], "%s: %s: nothing left in pid/ mess/ intd/ todo/" % (who, what))
        clear(q)


users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            run_cases(q, CASES, "root")
            # A large message already written when the envelope turns out bad.
            rc, err = qq(q, b"Fs@x\0Xr@x\0\0", message=b"Subject: big\n\n" + b"y" * (5 << 20))
            t.eq((rc, leftovers(q)), (91, []), "root: 5 MB message, bad envelope: 91 and nothing left")
            clear(q)
            # The message itself unreadable: fd 0 is a directory.
            rc, err = qq(q, envelope("s@x", ["r@x"]), stdin_path=q.path("queue"))
            t.eq((rc, leftovers(q)), (54, []), "root: unreadable message: 54 and nothing left")
            clear(q)
            # No envelope descriptor, or one that cannot be read.
            p = subprocess.run([q.bin("qmail-queue")], input=b"x\n", stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=20, preexec_fn=lambda: os.close(1))
            t.eq((p.returncode, leftovers(q)), (54, []), "root: fd 1 closed: 54 and nothing left")
            clear(q)
            with open(os.devnull, "wb") as wo:
                p = subprocess.run([q.bin("qmail-queue")], input=b"x\n", stdout=wo,
                                   stderr=subprocess.PIPE, timeout=20)
            t.eq((p.returncode, leftovers(q)), (54, []), "root: fd 1 write-only: 54 and nothing left")
            clear(q)
            # A caller that dies after the message: its envelope pipe ends empty.
            u = TestUser(unique_user("qm"))
            users.append(u)
            rc, err = qq(q, b"Fs@x\0Tr@x", user=u.name)
            t.eq((rc, leftovers(q)), (54, []), "ordinary user, truncated envelope: 54 and nothing left")
            clear(q)

    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qn"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        run_cases(q, [c for c in CASES if c[0] in ("missing final NUL", "no recipient", "garbage type letter",
                                                    "recipient of 100 kB")], "single-user")
finally:
    for u in users:
        u.remove()
t.done()
