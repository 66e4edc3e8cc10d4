#!/usr/bin/env python3
# A Maildir damaged under a running session, or laid out to lead the
# server outside it. Each damage is an -ERR reply (or the bytes that are
# really there), never a crash, and the session goes on; nothing outside
# the Maildir is ever sent. Cases beyond session.t's (vanished file,
# symlink and FIFO in a message's place): a message the user may not
# read; a directory in a message's place (RETR, TOP, and its DELE
# reported at QUIT); a message cut short after LIST; binary bytes and
# NULs without a final newline (CRLF, stuffing, a proper end); cur/
# swapped for a symlink to an outside directory mid-session; new/ or
# cur/ being a symlink at login (refused, nothing listed).
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3lib import Pop3Server, Raw, prepare, put_message, set_password
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, proc_exe

t = Tap()
if not IS_ROOT:
    t.skip("damaged Maildir", "needs root (system users, qmail-popup as root)")
    t.done()

PASSWORD = "damaged"
SECRET = b"SECRET-OUTSIDE-THE-MAILDIR"


def name(i):
    return "10000000%02d.D%d.host" % (i, i)


def login(port, user):
    r = Raw(port)
    r.line()
    r.cmd("USER " + user)
    ok = r.cmd("PASS " + PASSWORD)
    return r, ok


def retr(r, cmd):
    """The first line of the reply, and the raw body up to CRLF.CRLF."""
    first = r.cmd(cmd)
    if not first.startswith(b"+OK"):
        return first, None
    body = b""
    while not body.endswith(b"\r\n.\r\n"):
        ln = r.line()
        if ln == b"" and not r.buf and len(body) > 10 ** 7:
            break
        body += ln + b"\r\n"
    return first, body


def pop3d_alive(q):
    return any(proc_exe(int(x)) == q.bin("qmail-pop3d") for x in os.listdir("/proc") if x.isdigit())


u = TestUser(unique_user("pd"))
try:
    set_password(u.name, PASSWORD)
    md = u.maildirmake()
    own = (u.uid, u.gid)
    for i in range(1, 6):
        put_message(md, name(i), b"Subject: m%d\n\nbody %d, a line of text\n" % (i, i), owner=own)
    put_message(md, name(6) + ":2,S", b"Subject: m6\n\nthe real message 6\n", sub="cur", owner=own)
    outside = os.path.join(u.home, "outside")
    os.makedirs(outside)
    os.chown(outside, *own)
    with open(os.path.join(outside, name(6) + ":2,S"), "wb") as f:
        f.write(b"Subject: not mail\n\n" + SECRET + b"\n")
    with open(os.path.join(outside, name(9)), "wb") as f:
        f.write(b"Subject: not mail\n\n" + SECRET + b"\n")
    os.chown(os.path.join(outside, name(9)), *own)

    with Instance(t, name="example.test") as q:
        prepare(q)
        with Pop3Server(q, env={"POP3PLAINLOOPBACK": "1"}) as s:
            r, ok = login(s.port, u.name)
            t.ok(ok.startswith(b"+OK"), "logged in")
            t.ok(r.cmd("STAT").startswith(b"+OK 6 "), "six messages")

            os.chmod(os.path.join(md, "new", name(1)), 0)
            first, _ = retr(r, "RETR 1")
            t.ok(first.startswith(b"-ERR"), "a message the user may not read: -ERR", first)

            p2 = os.path.join(md, "new", name(2))
            os.unlink(p2)
            os.mkdir(p2)
            os.chown(p2, *own)
            first, _ = retr(r, "RETR 2")
            t.ok(first.startswith(b"-ERR") and b"not a regular file" in first, "a directory in a message's place: -ERR", first)
            first, _ = retr(r, "TOP 2 1")
            t.ok(first.startswith(b"-ERR"), "TOP of it: -ERR", first)

            with open(os.path.join(md, "new", name(3)), "r+b") as f:
                f.truncate(9)                   # "Subject: "
            first, body = retr(r, "RETR 3")
            t.eq((first, body), (b"+OK message follows", b"Subject: \r\n\r\n.\r\n"),
                 "a message cut short after LIST: what is there, ended properly")

            put_message(md, name(4), b"Subject: bin\n\n\x00\x01\xff.\n.\x00\nlast\r", owner=own)
            first, body = retr(r, "RETR 4")
            t.eq(body, b"Subject: bin\r\n\r\n\x00\x01\xff.\r\n..\x00\r\nlast\r\r\n\r\n.\r\n",
                 "binary bytes, NULs, no final newline: CRLF line ends, stuffed, properly ended")

            # cur/ swapped for a symlink to a directory outside, mid-session.
            os.rename(os.path.join(md, "cur"), os.path.join(md, "cur.away"))
            os.symlink(outside, os.path.join(md, "cur"))
            first, body = retr(r, "RETR 6")
            t.ok(body is None or SECRET not in body, "cur/ swapped for a symlink: never the outside file", body)
            t.ok(body is None or b"the real message 6" in body, "(the session keeps the directory it opened)", body)
            t.ok(r.cmd("NOOP").startswith(b"+OK") and pop3d_alive(q), "after all that, the session goes on")
            t.ok(r.cmd("DELE 2").startswith(b"+OK"), "DELE of the directory")
            q_ = r.cmd("QUIT")
            t.ok(q_.startswith(b"-ERR"), "QUIT reports the deletion it could not do", q_)
            t.ok(r.closed(10), "and ends the session")
            os.unlink(os.path.join(md, "cur"))
            os.rename(os.path.join(md, "cur.away"), os.path.join(md, "cur"))
            t.ok(os.path.isdir(os.path.join(md, "new", name(2))) or os.path.isdir(os.path.join(md, "cur", name(2) + ":2,")),
                 "the directory is still there")
            with open(os.path.join(outside, name(6) + ":2,S"), "rb") as f:
                t.ok(SECRET in f.read(), "the outside file is untouched")

            # new/ or cur/ a symlink at login: refused, nothing listed.
            for sub in ("new", "cur"):
                real = os.path.join(md, sub)
                os.rename(real, real + ".real")
                os.symlink(outside, real)
                r, ok = login(s.port, u.name)
                t.ok(ok.startswith(b"-ERR"), "%s/ a symlink to a directory outside: the login gets -ERR" % sub, ok)
                reply = r.cmd("LIST")
                t.ok(not reply.startswith(b"+OK") and r.closed(10) and SECRET not in r.buf,
                     "%s/: nothing listed, the session ends" % sub, (reply, r.buf))
                r.close()
                os.unlink(real)
                os.rename(real + ".real", real)
            t.ok(os.path.exists(os.path.join(outside, name(9))), "the outside message-like file is still there")

            # Repair: the QUIT above moved what it could to cur/ (through
            # the directory it had opened, not the symlink).
            t.eq(sorted(x for x in os.listdir(os.path.join(outside)) if not x.startswith(".")),
                 sorted([name(6) + ":2,S", name(9)]), "nothing was moved into the outside directory")
            for sub in ("new", "cur"):
                for x in os.listdir(os.path.join(md, sub)):
                    p = os.path.join(md, sub, x)
                    if x.startswith(name(2)):
                        os.rmdir(p)
                    elif x.startswith(name(1)):
                        os.chmod(p, 0o600)
            r, ok = login(s.port, u.name)
            t.ok(ok.startswith(b"+OK"), "the repaired Maildir: login")
            first, body = retr(r, "RETR 1")
            t.ok(first.startswith(b"+OK") and b"body 1, a line" in body, "the message readable again is read")
            t.ok(r.cmd("QUIT").startswith(b"+OK"), "QUIT")
finally:
    u.remove()
t.done()
