#!/usr/bin/env python3
# The whole path, as an administrator uses it: setup, config-fast,
# control/smtpd-listen on a loopback port, `qmailctl start`, qmail-inject
# to postmaster@NAME and SMTP to x@NAME (with alias/.qmail-x saying
# ./Maildir/), the messages land in
# DIR/alias/Maildir/new/, qmail-send's log (through multilog) shows them,
# `qmailctl stop` leaves nothing running. Root and single-user instances.
# smoke
import os, smtplib, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, TestUser, IS_ROOT, wait, unique_user
from ctl import ctl, out, cleanup, instance_procs, free_port

t = Tap()


def deliver(q, tag):
    try:
        port = free_port()
        q.control("smtpd-listen", "127.0.0.1:%d" % port)
        q.control("submission-listen", "")
        q.control("smtps-listen", "")
        r = ctl(q, "start")
        t.eq(r.returncode, 0, tag + "qmailctl start")
        if r.returncode:
            t.diag(out(r))
        q.write("alias/.qmail-x", "./Maildir/\n")
        name = q.name
        r = q.inject("To: postmaster@%s\nSubject: first\n\nhello postmaster\n" % name, ["postmaster@" + name])
        t.eq(r.returncode, 0, tag + "qmail-inject to postmaster exits 0")
        try:
            s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
            s.sendmail("a@client.test", ["x@" + name], "To: x@%s\r\nSubject: second\r\n\r\nhello x\r\n" % name)
            s.quit()
            t.ok(True, tag + "SMTP to x accepted")
        except Exception as e:
            t.ok(False, tag + "SMTP to x accepted", repr(e))
        t.ok(wait(lambda: q.maildir_count("alias/Maildir") == 2, 30),
             tag + "both land in alias/Maildir/new", q.maildir_files("alias/Maildir"))
        texts = q.maildir_texts("alias/Maildir")
        t.ok(any("hello postmaster" in m for m in texts) and any("hello x" in m for m in texts),
             tag + "with their bodies", texts)
        t.ok(all(f.split("/")[-2] == "new" for f in q.maildir_files("alias/Maildir")), tag + "in new/")
        logf = q.path("log/qmail-send/current")
        t.ok(wait(lambda: os.path.exists(logf) and b"end msg" in open(logf, "rb").read(), 10),
             tag + "the log in log/qmail-send/current shows the deliveries")
        r = ctl(q, "stop")
        t.eq(r.returncode, 0, tag + "qmailctl stop")
        t.ok(wait(lambda: not instance_procs(q), 10), tag + "nothing left running", instance_procs(q))
    finally:
        cleanup(q)


with Instance(t, name="deliver.example.test") as q:
    deliver(q, "")
if IS_ROOT:
    u = TestUser(unique_user("dlv"))
    try:
        with Instance(t, name="deliver.example.test", mode="single", owner=u.name) as q:
            deliver(q, "single: ")
    finally:
        u.remove()
t.done()
