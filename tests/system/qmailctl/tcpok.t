#!/usr/bin/env python3
# qmail-tcpok (run by qmailctl flush): empties queue/lock/tcpto; a missing
# table or a caller who may not write it gets exit 111 and a message;
# arguments are a usage error.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT, run, unique_user

t = Tap()
with Instance(t, name="tcpok.example.test") as q:
    tcpto = q.path("queue/lock/tcpto")
    with open(tcpto, "wb") as f:
        f.write(bytes(range(256)) * 4)
    st = os.stat(tcpto)
    r = run([q.bin("qmail-tcpok")], user=q.as_owner())
    t.eq(r.returncode, 0, "qmail-tcpok exits 0")
    t.eq(os.path.getsize(tcpto), 0, "the table is empty")
    st2 = os.stat(tcpto)
    t.ok((st2.st_uid, st2.st_mode) == (st.st_uid, st.st_mode), "same file, owner and mode")
    t.eq(run([q.bin("qmail-tcpok"), "x"]).returncode, 100, "an argument: usage, exit 100")

    if IS_ROOT and q.mode == "root":
        u = TestUser(unique_user("tok"))
        try:
            r = run([q.bin("qmail-tcpok")], user=u.name)
            t.eq(r.returncode, 111, "another user may not clear it: exit 111")
            t.ok(b"qmail-tcpok: unable to open queue/lock/tcpto" in r.stderr, "with a message", r.stderr)
        finally:
            u.remove()
    os.unlink(tcpto)
    r = run([q.bin("qmail-tcpok")], user=q.as_owner())
    t.eq(r.returncode, 111, "a missing table: exit 111")
    t.ok(b"qmail-tcpok: unable to open queue/lock/tcpto" in r.stderr, "says which file", r.stderr)
t.done()
