#!/usr/bin/env python3
# Local users on a root instance: a password-file user (home 0700) gets mail
# in ~/Maildir/ owned by them through defaultdelivery ./Maildir/, and in
# ~/Mailbox when qmail-start's defaultdelivery is ./Mailbox; users/assign
# compiled by qmail-newu routes a virtual user (= entry) and a wildcard
# (+ entry) to that user's home and .qmail files.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, run, IS_ROOT, unique_user

t = Tap()
NAME = "example.test"
if not IS_ROOT:
    t.skip("root-mode users", "needs root to create test users")
    t.done()


def texts(files):
    return [open(f, "rb").read() for f in files]


def maildir(home, rel="Maildir"):
    out = []
    for s in ("new", "cur"):
        d = os.path.join(home, rel, s)
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    return out


u = TestUser(unique_user("u"))
try:
    with Instance(t, name=NAME) as q:
        u.maildirmake("Maildir")
        q.start()
        addr = "%s@%s" % (u.name, NAME)
        r = q.inject("To: %s\nSubject: to a user\n\nuser-token-1\n" % addr)
        t.eq(r.returncode, 0, "qmail-inject to a password-file user")
        t.ok(q.wait(lambda: maildir(u.home), 30), "mail lands in ~/Maildir/new", q.logtext())
        files = maildir(u.home)
        t.ok(any(b"user-token-1" in x for x in texts(files)), "~/Maildir has the message")
        t.ok(files and all(os.stat(f).st_uid == u.uid for f in files), "the Maildir file is owned by the user")
        t.ok(files and all("/new/" in f for f in files), "in new/")
        t.ok(any(("Delivered-To: %s" % addr).encode() in x for x in texts(files)), "Delivered-To names the user")

        # mbox through defaultdelivery ./Mailbox
        q.stop()
        q.start(defaultdelivery="./Mailbox")
        body = "first line\nFrom the start, a line that needs quoting\nuser-token-2\n"
        r = q.inject("To: %s\nSubject: mbox\n\n%s" % (addr, body), sender="s@%s" % NAME)
        t.eq(r.returncode, 0, "qmail-inject for the mbox delivery")
        mbox = os.path.join(u.home, "Mailbox")
        t.ok(q.wait(lambda: os.path.exists(mbox) and b"user-token-2" in open(mbox, "rb").read(), 30),
             "mail lands in ~/Mailbox", q.logtext())
        if os.path.exists(mbox):
            data = open(mbox, "rb").read()
            t.ok(data.startswith(b"From s@" + NAME.encode() + b" "), "mbox starts with a From_ line", data[:200])
            t.ok(b"\n>From the start" in data, "body 'From ' line is quoted as '>From '", data)
            t.ok(data.endswith(b"\n\n"), "mbox message ends with an empty line", data[-50:])
            t.eq(os.stat(mbox).st_uid, u.uid, "~/Mailbox is owned by the user")
            t.eq(os.stat(mbox).st_mode & 0o077, 0, "~/Mailbox is not readable by others")
        q.stop()

        # users/assign: =virt routes to the user's home (defaultdelivery),
        # +shop- routes shop-EXT to the user's .qmail-EXT.
        q.write("users/assign",
                "=virt:%s:%d:%d:%s:::\n+shop-:%s:%d:%d:%s:-::\n.\n"
                % (u.name, u.uid, u.gid, u.home, u.name, u.uid, u.gid, u.home),
                owner="root")
        r = run([q.bin("qmail-newu")])
        t.eq(r.returncode, 0, "qmail-newu exits 0", r.stderr)
        t.ok(os.path.exists(q.path("users/cdb")), "users/cdb written")
        u.maildirmake("Maildir-shop")
        u.write(".qmail-toys", "./Maildir-shop/\n")
        q.start()
        before = len(maildir(u.home))
        r = q.inject("To: virt@%s\n\nvirtual-token-3\n" % NAME)
        t.eq(r.returncode, 0, "qmail-inject to virt@NAME")
        r = q.inject("To: shop-toys@%s\n\nwildcard-token-4\n" % NAME)
        t.eq(r.returncode, 0, "qmail-inject to shop-toys@NAME")
        t.ok(q.wait(lambda: len(maildir(u.home)) > before, 30), "virt@NAME delivered", q.logtext())
        t.ok(any(b"virtual-token-3" in x for x in texts(maildir(u.home))), "=virt lands in the user's ~/Maildir")
        t.ok(q.wait(lambda: any(b"wildcard-token-4" in x for x in texts(maildir(u.home, "Maildir-shop"))), 30),
             "+shop- with extension toys lands through ~/.qmail-toys", q.logtext())
        shop = maildir(u.home, "Maildir-shop")
        t.ok(shop and all(os.stat(f).st_uid == u.uid for f in shop), "owned by the user")
        t.ok(q.wait(lambda: q.queue_count() == 0, 20), "queue empties", q.qstat())
finally:
    u.remove()
t.done()
