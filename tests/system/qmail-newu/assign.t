#!/usr/bin/env python3
# qmail-newu builds a users/cdb that qmail-lspawn obeys (qmail-users(5)):
# "=" entries, "+" wildcards with the longest prefix winning, a simple
# entry beating any wildcard, case-insensitive keys, the rest of the
# address appended to the wildcard's extension, the first of duplicate
# entries, and the password file consulted only when nothing matches.
# qmail-local is a stand-in that prints its uid and arguments.
import os, pwd, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-lspawn"))
import lspawnlib as L
from lspawnlib import nqtest

t = nqtest.Tap()
if not nqtest.IS_ROOT:
    t.skip("qmail-newu with qmail-lspawn", "needs root")
    t.done()

with nqtest.Instance(t) as q:
    L.fake_local(q)
    probe = os.path.join(q.base, "getpw-ran")
    os.rename(q.bin("qmail-getpw"), q.bin("qmail-getpw.real"))
    with open(q.bin("qmail-getpw"), "w") as f:
        f.write('#!/bin/sh\necho "$1" >> %s\nexec %s "$@"\n' % (probe, q.bin("qmail-getpw.real")))
    os.chmod(q.bin("qmail-getpw"), 0o755)
    open(probe, "w").close()
    os.chmod(probe, 0o666)

    a = q.path("alias")
    q.write("users/assign", """=joe:joe:2001:3001:/home/joe:::
+joe-:joe:2001:3001:/home/joe:-::
+joe-list-:joe:2002:3002:/home/joe:-:lst-:
=Joe.Shmoe:joe:2001:3001:/home/joe:::
+joe-list-x:joe:2003:3003:/home/joe:-:x:
+ab:abby:2004:3004:/home/abby:-:pre-:
=dup:one:2005:3005:/home/one:-:first:
=dup:two:2006:3006:/home/two:-:second:
+Mixed-:mx:2007:3007:/home/mx:-:m-:
.
""")
    r = nqtest.run([q.bin("qmail-newu")])
    t.ok(r.returncode == 0 and os.path.exists(q.path("users/cdb")), "qmail-newu compiles users/assign", r.stderr)

    m = L.put_message(q, "Subject: assign\n\nhi\n")
    s = L.Lspawn(q)
    cases = [
        ("joe", 2001, ["joe", "/home/joe", "joe", "", ""], "simple entry: no dash, no extension"),
        ("JOE", 2001, ["joe", "/home/joe", "JOE", "", ""], "keys are case-insensitive"),
        ("joe.shmoe", 2001, ["joe", "/home/joe", "joe.shmoe", "", ""], "simple entry with uppercase in assign"),
        ("joe-", 2001, ["joe", "/home/joe", "joe-", "-", ""], "wildcard covers its own prefix"),
        ("joe-Direct", 2001, ["joe", "/home/joe", "joe-Direct", "-", "Direct"], "wildcard: rest of the address is the extension"),
        ("joe-list-abc", 2002, ["joe", "/home/joe", "joe-list-abc", "-", "lst-abc"], "longer wildcard wins, its extension prefix kept"),
        ("joe-lis", 2001, ["joe", "/home/joe", "joe-lis", "-", "lis"], "shorter wildcard when the longer does not match"),
        ("joe-list-xyz", 2003, ["joe", "/home/joe", "joe-list-xyz", "-", "xyz"], "wildcard ending in a letter"),
        ("abc", 2004, ["abby", "/home/abby", "abc", "-", "pre-c"], "wildcard without a separator"),
        ("dup", 2005, ["one", "/home/one", "dup", "-", "first"], "the first of two entries for one address"),
        ("MIXED-Case", 2007, ["mx", "/home/mx", "MIXED-Case", "-", "m-Case"], "wildcard keys are case-insensitive too"),
    ]
    try:
        for i, (addr, uid, want, name) in enumerate(cases):
            st, text = s.one(i, m, "s@x", addr + "@example.test")
            f = L.fields(text)
            t.ok(st == "K" and f["uid"] == uid and f["args"][1:6] == want, name, text)
        with open(probe) as fh:
            t.eq(fh.read(), "", "qmail-getpw is not run for addresses in users/cdb")
        # Not in the cdb: the password file, then the alias user.
        st, text = s.one(0, m, "s@x", "jo@example.test")
        f = L.fields(text)
        t.ok(f["args"][1:6] == ["alias", a, "jo", "-", "jo"], "no entry: falls back to qmail-getpw and alias", text)
        with open(probe) as fh:
            t.eq(fh.read(), "jo\n", "qmail-getpw consulted for the address the cdb lacks")
    finally:
        s.close()

    # A catch-all "+:" entry covers every address; the cdb is reread for
    # each delivery, so a new one takes effect without a restart.
    s = L.Lspawn(q)
    try:
        q.write("users/assign", "+:alias:7790:2108:%s:-::\n=joe:joe:2001:3001:/home/joe:::\n.\n" % a)
        r = nqtest.run([q.bin("qmail-newu")])
        st, text = s.one(0, m, "s@x", "bill@example.test")
        f = L.fields(text)
        t.ok(f["uid"] == 7790 and f["gid"] == 2108 and f["args"][1:6] == ["alias", a, "bill", "-", "bill"],
             "catch-all entry: the whole address as extension", text)
        st, text = s.one(1, m, "s@x", "joe@example.test")
        t.eq(L.fields(text)["uid"], 2001, "simple entry beats the catch-all")
        with open(probe) as fh:
            t.eq(fh.read(), "jo\n", "qmail-getpw not run once a catch-all exists")
    finally:
        s.close()

    # A cdb that is not a users/cdb is trouble, not "no entry".
    with open(q.path("users/cdb"), "wb") as f:
        f.write(b"garbage")
    s = L.Lspawn(q)
    try:
        st, text = s.one(0, m, "s@x", "joe@example.test")
        t.ok(st == "Z" and "users/cdb" in text, "unreadable users/cdb: Z", text)
    finally:
        s.close()
t.done()
