#!/usr/bin/env python3
# qbiff: "| qbiff" in a .qmail file writes "*** TO <local> FROM <sender>"
# and the Subject and start of the body to each terminal of the user
# that has "biff y" (owner-execute bit) and belongs to the user; control
# characters from the message are shown as '/', never sent; a terminal
# with "biff n" gets nothing; qbiff always exits 0.
# The user's login is a pseudo-terminal opened here and a utmp file
# written here, named by $QBIFF_UTMP on the .qmail line.
import os, pty, select, struct, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run

t = Tap()
if not IS_ROOT:
    t.skip("qbiff", "needs root to create a test user and give it a terminal")
    t.done()

UT = struct.Struct("<hxxi32s4s32s256shhiii4i20x")   # glibc's struct utmp on Linux
USER_PROCESS = 7


def utmp_record(user, line, pid=1):
    return UT.pack(USER_PROCESS, pid, line.encode(), b"nqt", user.encode(), b"", 0, 0, 0, 0, 0, 0, 0, 0, 0)


def drain(fd, timeout=2.0):
    out = b""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
        elif out:
            break
    return out


t.eq(UT.size, 384, "utmp record size as glibc has it")
master, slave = pty.openpty()
tty = os.ttyname(slave)
spool = tempfile.mkdtemp(prefix="nqt-qbiff-")
os.chmod(spool, 0o755)
utmp = os.path.join(spool, "utmp")
with Box(t, "qb") as b:
    u = b.u
    with open(utmp, "wb") as f:
        f.write(utmp_record("someoneelse", tty[len("/dev/"):]))
        f.write(utmp_record(u.name, tty[len("/dev/"):]))
        f.write(utmp_record(u.name, "../etc/passwd"))
    os.chmod(utmp, 0o644)
    os.chown(tty, u.uid, -1)
    os.chmod(tty, 0o700)
    b.dotqmail("biff", "./Maildir/\n|QBIFF_UTMP=%s qbiff\n" % utmp)
    b.start()
    t.ok(b.deliver("Subject: lunch \x1b[31m today?\n\nbody line one\nline two\n", [b.addr("biff")],
                   sender="s@example.org"), "message for user-biff delivered", b.q.logtext())
    got = drain(master)
    t.ok(("*** TO <%s-biff> FROM <s@example.org>" % u.name).encode() in got, "the TO/FROM line", got)
    t.ok(b"    lunch /[31m today?/body line one/line two/" in got, "Subject, then the body, control bytes as '/'", got)
    t.ok(b"\x1b" not in got and b"\n\x07*** TO" in got, "a bell, and no escape from the message", got)
    t.eq(len(b.maildir()), 1, "the message itself was stored")

    os.chmod(tty, 0o600)
    t.ok(b.deliver("Subject: quiet\n\nbody\n", [b.addr("biff")]), "second message delivered")
    got = drain(master, 1.0)
    t.eq(got, b"", "biff n (no owner-execute bit): nothing written")
    os.chmod(tty, 0o700)
    os.chown(tty, 0, -1)
    t.ok(b.deliver("Subject: notmine\n\nbody\n", [b.addr("biff")]), "third message delivered")
    t.eq(drain(master, 1.0), b"", "a terminal that is not the user's: nothing written")
    t.eq(len(b.maildir()), 3, "all three stored: qbiff never fails a delivery")
os.close(master)
os.close(slave)
env = qlenv("nobody-here", "x")
r = run([bin_("qbiff")], input=b"Subject: x\n\n", env=dict(env, QBIFF_UTMP="/nonexistent"))
t.eq(r.returncode, 0, "no utmp file: exit 0")
r = run([bin_("qbiff")], input=b"Subject: x\n\n", env={"PATH": "/bin"})
t.eq(r.returncode, 0, "outside qmail-local: exit 0")
t.done()
