#!/usr/bin/env python3
# qmail-getpw against real accounts created for the test (homes 0700), run
# as qmailp as qmail-lspawn runs it: the exact output bytes, the longest
# user or user-ext match, case, and the accounts that are not mailboxes
# (uid 0, a home owned by someone else, a missing home) falling to the
# alias user with home DIR/alias.
import os, pwd, shutil, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nqtest

t = nqtest.Tap()
if not nqtest.IS_ROOT:
    t.skip("qmail-getpw", "needs root to create test users")
    t.done()

made = []


def user(name):
    u = nqtest.TestUser(name)
    made.append(u)
    return u


try:
    a = user("nqgpa")
    ax = user("nqgpa-x")
    b = user("nqgpb")
    os.chown(b.home, 0, 0)                       # home owned by root
    c = user("nqgpc")
    shutil.rmtree(c.home)                        # home missing

    with nqtest.Instance(t) as q:
        al = pwd.getpwnam("alias")

        def getpw(local):
            r = nqtest.run([q.bin("qmail-getpw"), local], user="qmailp")
            return r.returncode, r.stdout

        def rec(*f):
            return b"".join(str(x).encode() + b"\0" for x in f)

        def aliasrec(ext):
            return rec("alias", al.pw_uid, al.pw_gid, q.path("alias"), "-", ext)

        t.eq(getpw("nqgpa"), (0, rec("nqgpa", a.uid, a.gid, a.home, "", "")),
             "user: six NUL-terminated fields, empty dash and extension")
        t.eq(getpw("nqgpa-foo-bar"), (0, rec("nqgpa", a.uid, a.gid, a.home, "-", "foo-bar")),
             "user-ext: dash '-', the rest as extension")
        t.eq(getpw("NqGpA-FoO"), (0, rec("nqgpa", a.uid, a.gid, a.home, "-", "FoO")),
             "account found whatever the case; extension keeps its case")
        t.eq(getpw("nqgpa-x-y"), (0, rec("nqgpa-x", ax.uid, ax.gid, ax.home, "-", "y")),
             "the longest matching account wins")
        t.eq(getpw("nqgpa-x"), (0, rec("nqgpa-x", ax.uid, ax.gid, ax.home, "", "")),
             "account whose name has a dash")
        t.eq(getpw("nqgpa-"), (0, rec("nqgpa", a.uid, a.gid, a.home, "-", "")),
             "user- : empty extension after the dash")
        t.eq(getpw("nqgpb"), (0, aliasrec("nqgpb")), "home owned by someone else: not a mailbox")
        t.eq(getpw("nqgpc-z"), (0, aliasrec("nqgpc-z")), "missing home: not a mailbox")
        # root owns its existing home, so only the uid 0 rule keeps it out.
        t.eq(getpw("root"), (0, aliasrec("root")), "uid 0 account (root): not a mailbox")
        t.eq(getpw("Root-x"), (0, aliasrec("Root-x")), "uid 0 account with an extension: not a mailbox")
        t.eq(getpw("nosuchuser-here"), (0, aliasrec("nosuchuser-here")), "unknown: the alias user")
        t.eq(getpw("alias-owner"), (0, rec("alias", al.pw_uid, al.pw_gid, q.path("alias"), "-", "owner")),
             "the alias account's home is DIR/alias, not the password file's")
        t.eq(getpw("-x"), (0, aliasrec("-x")), "empty user name before a dash")
        t.eq(getpw("x" * 40), (0, aliasrec("x" * 40)), "names of 32 characters or more are not looked up")
        r = nqtest.run([q.bin("qmail-getpw")], user="qmailp")
        t.ok(r.returncode == 100 and r.stdout == b"" and b"usage" in r.stderr, "no argument: usage, exit 100, no output")
        os.rename(q.path("users/ids"), q.path("users/ids.away"))
        rc, out = getpw("nobody-known")
        t.ok(rc == 111 and out == b"", "alias needed but users/ids unreadable: exit 111, nothing printed", (rc, out))
        rc, out = getpw("nqgpa")
        t.eq(rc, 0, "a real user is found without users/ids")
        os.rename(q.path("users/ids.away"), q.path("users/ids"))
finally:
    for u in made:
        u.remove()
t.done()
