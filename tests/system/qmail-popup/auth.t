#!/usr/bin/env python3
# qmail-popup's logins: a virtual user of users/vpasswd (qmail-vuser) as
# root, running as its account in its home; a virtual user without an
# account is refused by root's checkpassword; without POP3PLAINLOOPBACK
# and TLS no password is taken, even on loopback; over-long lines, too
# many bad commands, QUIT before login; a single-user instance run by its
# owner, where checkpassword cannot switch users and qmail-pop3d finds
# the Maildir through HOME; qmail-pop3d refuses to run as root.
import os, poplib, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-pop3d"))
from pop3lib import Pop3Server, Raw, prepare, put_message
from nqtest import Tap, Instance, TestUser, IS_ROOT, run, unique_user, proc_exe, proc_uid

t = Tap()
if not IS_ROOT:
    t.skip("qmail-popup logins", "needs root (accounts, qmail-popup as root)")
    t.done()

MSG = b"Subject: virtual\n\nfor joe\n"


def login(port, user, password):
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    p.user(user)
    try:
        p.pass_(password)
        return p, None
    except poplib.error_proto as e:
        return None, str(e)


v = TestUser(unique_user("va"))
o = TestUser(unique_user("vo"))
try:
    vhome = os.path.join(v.home, "joe")
    os.makedirs(vhome)
    os.chown(vhome, v.uid, v.gid)
    vmd = v.maildirmake("joe/Maildir")
    put_message(vmd, "1000000001.J.host", MSG, owner=(v.uid, v.gid))

    with Instance(t, name="example.test") as q:
        prepare(q)
        run([q.bin("qmail-vuser"), "add", "joe@virt.test", v.name, vhome], input="joe secret\n", check=True)
        run([q.bin("qmail-vuser"), "add", "nobody@virt.test"], input="nobody secret\n", check=True)
        with Pop3Server(q, env={"POP3PLAINLOOPBACK": "1"}) as s:
            p, err = login(s.port, "joe@virt.test", "joe secret")
            t.ok(p is not None, "virtual user: login", err)
            if p:
                pids = [int(x) for x in os.listdir("/proc") if x.isdigit() and proc_exe(int(x)) == q.bin("qmail-pop3d")]
                t.ok(pids and all(proc_uid(x) == v.uid for x in pids), "qmail-pop3d runs as the entry's account", pids)
                t.eq(p.retr(1)[1], [b"Subject: virtual", b"", b"for joe", b""], "the Maildir in the entry's home")
                p.quit()
            p, err = login(s.port, "JOE@virt.test", "joe secret")
            t.ok(p is not None, "logins compare without case", err)
            if p:
                p.quit()
            p, err = login(s.port, "joe@virt.test", "not it")
            t.ok(err and "[AUTH]" in err, "virtual user, wrong password: -ERR [AUTH]", err)
            p, err = login(s.port, "nobody@virt.test", "nobody secret")
            t.ok(err and "[AUTH]" in err, "a virtual user without an account cannot log in to POP3", err)
            t.ok("has no account to run as" in s.log(), "and checkpassword says why", s.log())

            r = Raw(s.port)
            r.line()
            t.ok(r.cmd("USER " + "x" * 2000).startswith(b"-ERR"), "a line over 1024 bytes: -ERR")
            t.ok(r.cmd("NOOP").startswith(b"+OK"), "the session goes on")
            t.ok(r.cmd("PASS x").startswith(b"-ERR"), "PASS without USER: -ERR")
            t.ok(r.cmd("STAT").startswith(b"-ERR"), "STAT before login: -ERR")
            for _ in range(25):
                try:
                    r.send("BOGUS\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    break   # it has hung up already: what the next check wants
            t.ok(r.closed(10) and b"too many errors" in r.buf, "too many bad commands: hung up", r.buf[-200:])
            r = Raw(s.port)
            r.line()
            t.ok(r.cmd("QUIT").startswith(b"+OK") and r.closed(5), "QUIT before login")

        with Pop3Server(q) as s:
            r = Raw(s.port)
            r.line()
            t.ok(r.cmd("USER joe@virt.test").startswith(b"-ERR"),
                 "outside TLS and without POP3PLAINLOOPBACK: no USER, even on loopback")
            r.close()

        # qmail-pop3d never opens a mailbox as root.
        p = subprocess.run([q.bin("qmail-pop3d"), "Maildir"], input=b"STAT\r\n", capture_output=True,
                           timeout=10, cwd=vhome, env={"HOME": vhome})
        t.ok(p.stdout.startswith(b"-ERR") and b"STAT" not in p.stdout and b"root" in p.stderr,
             "qmail-pop3d run as root: -ERR, nothing listed", p.stdout + p.stderr)

    # A single-user instance: everything runs as its owner.
    omd = o.maildirmake()
    put_message(omd, "1000000002.O.host", b"Subject: owner\n\nmine\n", owner=(o.uid, o.gid))
    with Instance(t, name="example.test", mode="single", owner=o.name) as q:
        r = run([q.bin("qmail-vuser"), "add", "me@single.test", o.name], input="single secret\n", user=o.name)
        t.eq(r.returncode, 0, "single-user: qmail-vuser add", r.stderr)
        with Pop3Server(q, env={"POP3PLAINLOOPBACK": "1"}) as s:
            p, err = login(s.port, "me@single.test", "single secret")
            t.ok(p is not None, "single-user: login", err + "\n" + s.log() if err else "")
            if p:
                t.eq(p.retr(1)[1], [b"Subject: owner", b"", b"mine", b""], "single-user: the owner's Maildir, found through HOME")
                p.dele(1)
                p.quit()
                t.eq(os.listdir(omd + "/new") + os.listdir(omd + "/cur"), [], "single-user: deleted at QUIT")
            p, err = login(s.port, "me@single.test", "wrong")
            t.ok(err and "[AUTH]" in err, "single-user: wrong password refused", err)
finally:
    v.remove()
    o.remove()
t.done()
