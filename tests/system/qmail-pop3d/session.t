#!/usr/bin/env python3
# qmail-pop3d through qmail-popup and checkpassword, as root, for a system
# user (password set with chpasswd), plain text on loopback with
# POP3PLAINLOOPBACK: every command (STAT LIST UIDL TOP RETR DELE RSET NOOP
# LAST QUIT CAPA) with Python's poplib, the exact bytes on the wire (CRLF
# whatever the file holds, dot-stuffing, qmail's extra empty line),
# deletions only at QUIT, new/ -> cur/ with ":2,", the session running as
# the user, files that vanish, are replaced by a symlink or a FIFO
# mid-session (an -ERR, the session goes on), a symlink to a file outside
# the Maildir never listed, pipelined commands, a user without a Maildir.
# smoke
import os, poplib, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3lib import Pop3Server, Raw, prepare, put_message, set_password
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, proc_exe, proc_uid

t = Tap()
if not IS_ROOT:
    t.skip("qmail-pop3d session", "needs root (system users, qmail-popup as root)")
    t.done()

M1 = b"Subject: one\n\nfirst line\n.starts with a dot\n..two dots\n"
M2 = b"Subject: two\r\n\r\nCRLF body\r\nline 2\r\nline 3\r\n"
M3 = b"Subject: three\nX: y\n\nA\nB\nC\nD\n"


def files(md):
    return sorted(os.listdir(md + "/new")), sorted(os.listdir(md + "/cur"))


u = TestUser(unique_user("p3"))
try:
    set_password(u.name, "pop secret")
    md = u.maildirmake()
    own = (u.uid, u.gid)
    put_message(md, "1000000001.M1P1.host", M1, owner=own)
    put_message(md, "1000000002.M2P2.host", M2, owner=own)
    put_message(md, "1000000003.M3P3.host:2,S", M3, sub="cur", owner=own)
    # not messages: a dot file, and a symlink to a file the user may read
    # but that is outside the Maildir
    outside = u.write("outside.txt", "Subject: outside\n\nnot mail\n")
    put_message(md, ".hidden", b"x", owner=own)
    os.symlink(outside, md + "/new/1000000000.LINK.host")

    with Instance(t, name="example.test") as q:
        prepare(q)
        with Pop3Server(q, env={"POP3PLAINLOOPBACK": "1"}) as s:
            p = poplib.POP3("127.0.0.1", s.port, timeout=20)
            t.ok(p.getwelcome().startswith(b"+OK"), "greeting", p.getwelcome())
            t.ok(b"<" not in p.getwelcome(), "no APOP timestamp offered (no clear-text secrets)", p.getwelcome())
            caps = p.capa()
            t.ok("USER" in caps and "TOP" in caps and "UIDL" in caps, "CAPA before login: USER TOP UIDL", caps)
            p.user(u.name)
            t.ok(p.pass_("pop secret").startswith(b"+OK"), "USER/PASS of a system user")
            t.eq(p.stat(), (3, len(M1) + len(M2) + len(M3)), "STAT: three messages, their sizes (no symlink, no dot file)")
            pids = [int(x) for x in os.listdir("/proc") if x.isdigit() and proc_exe(int(x)) == q.bin("qmail-pop3d")]
            t.ok(pids and all(proc_uid(x) == u.uid for x in pids), "qmail-pop3d runs as the user", pids)
            t.eq(p.list()[1], [b"1 %d" % len(M1), b"2 %d" % len(M2), b"3 %d" % len(M3)], "LIST in delivery order")
            t.eq(p.list(2), b"+OK 2 %d" % len(M2), "LIST 2")
            t.eq(p.uidl()[1], [b"1 1000000001.M1P1.host", b"2 1000000002.M2P2.host", b"3 1000000003.M3P3.host"],
                 "UIDL: the base names")
            t.eq(p.uidl(3), b"+OK 3 1000000003.M3P3.host", "UIDL 3")
            r = p.retr(1)
            t.eq(r[1], [b"Subject: one", b"", b"first line", b".starts with a dot", b"..two dots", b""],
                 "RETR 1 (poplib unstuffs; qmail's extra empty line at the end)")
            t.eq(p.top(3, 2)[1], [b"Subject: three", b"X: y", b"", b"A", b"B", b""], "TOP 3 2")
            t.eq(p.top(3, 0)[1], [b"Subject: three", b"X: y", b"", b""], "TOP 3 0")
            t.eq(p._shortcmd("LAST"), b"+OK 1", "LAST after RETR 1")
            t.ok(p.noop().startswith(b"+OK"), "NOOP")
            p.dele(2)
            t.eq(p.stat(), (2, len(M1) + len(M3)), "STAT leaves out the deleted message")
            for cmd in ("RETR 2", "LIST 2", "DELE 2", "TOP 2 1"):
                try:
                    p._shortcmd(cmd)
                    t.ok(False, cmd + " of a deleted message: -ERR")
                except poplib.error_proto as e:
                    t.ok(str(e).startswith("b'-ERR"), cmd + " of a deleted message: -ERR", e)
            t.eq(files(md)[0], [".hidden", "1000000000.LINK.host", "1000000001.M1P1.host", "1000000002.M2P2.host"],
                 "nothing changes before QUIT")
            p.rset()
            t.eq(p.stat()[0], 3, "RSET undeletes")
            t.eq(p._shortcmd("LAST"), b"+OK 0", "RSET resets LAST")
            for cmd in ("RETR 0", "RETR 4", "RETR x", "DELE", "XYZZY"):
                try:
                    p._shortcmd(cmd)
                    t.ok(False, cmd + ": -ERR")
                except poplib.error_proto as e:
                    t.ok(True, cmd + ": -ERR")
            p.dele(2)
            t.ok(p.quit().startswith(b"+OK"), "QUIT")
            new, cur = files(md)
            t.eq(new, [".hidden", "1000000000.LINK.host"], "after QUIT: new/ holds only the dot file and the symlink")
            t.eq(cur, ["1000000001.M1P1.host:2,", "1000000003.M3P3.host:2,S"],
                 "the deleted message is gone, the retrieved one moved to cur/ with :2,")
            with open(outside) as f:
                t.eq(f.read(), "Subject: outside\n\nnot mail\n", "the file outside is untouched")

            # The exact bytes on the wire.
            put_message(md, "1000000004.M4P4.host", b"Subject: four\n\n.\n.x\nbare\rcr\nlast", owner=own)
            r = Raw(s.port)
            r.line()
            r.cmd("USER " + u.name)
            t.ok(r.cmd("PASS pop secret").startswith(b"+OK"), "raw: logged in")
            t.eq(r.cmd("RETR 3"), b"+OK message follows", "raw: RETR 3")
            body = b""
            while not body.endswith(b"\r\n.\r\n"):
                ln = r.line()
                body += ln + b"\r\n"
            t.eq(body, b"Subject: four\r\n\r\n..\r\n..x\r\nbare\rcr\r\nlast\r\n\r\n.\r\n",
                 "raw: CRLF line ends, dots stuffed, a bare CR kept, the last line ended")
            # Vanished mid-session.
            os.unlink(md + "/cur/1000000001.M1P1.host:2,")
            t.ok(r.cmd("RETR 1").startswith(b"-ERR"), "a message deleted behind the session's back: -ERR")
            # A symlink put in a message's place.
            os.rename(md + "/cur/1000000003.M3P3.host:2,S", md + "/m3")
            os.symlink(outside, md + "/cur/1000000003.M3P3.host:2,S")
            t.ok(r.cmd("RETR 2").startswith(b"-ERR"), "a symlink in a message's place: -ERR, not its target")
            os.unlink(md + "/cur/1000000003.M3P3.host:2,S")
            os.mkfifo(md + "/cur/1000000003.M3P3.host:2,S")
            t.ok(r.cmd("TOP 2 0").startswith(b"-ERR"), "a FIFO in a message's place: -ERR, no hang")
            os.unlink(md + "/cur/1000000003.M3P3.host:2,S")
            os.rename(md + "/m3", md + "/cur/1000000003.M3P3.host:2,S")
            t.ok(r.cmd("NOOP").startswith(b"+OK"), "the session goes on")
            r.cmd("DELE 3")
            r.close()
            time.sleep(0.3)
            t.ok(os.path.exists(md + "/new/1000000004.M4P4.host"), "a session that ends without QUIT deletes nothing, moves nothing")

            # Pipelined: everything in one write.
            r = Raw(s.port)
            r.line()
            r.send("USER %s\r\nPASS pop secret\r\nSTAT\r\nLIST 1\r\nNOOP\r\nQUIT\r\n" % u.name)
            got = [r.line() for _ in range(6)]
            t.ok(got[0] == b"+OK" and got[1].startswith(b"+OK") and got[2].startswith(b"+OK 2 ")
                 and got[3].startswith(b"+OK 1 ") and got[4].startswith(b"+OK") and got[5].startswith(b"+OK"),
                 "pipelined USER PASS STAT LIST NOOP QUIT: every reply, in order", got)
            r.close()

            # Wrong password: slowed down, logged with the client's IP, hung up.
            p = poplib.POP3("127.0.0.1", s.port, timeout=20)
            p.user(u.name)
            t0 = time.time()
            try:
                p.pass_("wrong")
                t.ok(False, "wrong password: -ERR")
            except poplib.error_proto as e:
                t.ok("[AUTH]" in str(e), "wrong password: -ERR [AUTH]", e)
            t.ok(time.time() - t0 >= 1.5, "the answer is delayed")
            t.ok("authentication failed for %s from 127.0.0.1" % u.name in s.log(), "logged with TCPREMOTEIP", s.log())

            # No Maildir.
            os.rename(md, md + ".away")
            p = poplib.POP3("127.0.0.1", s.port, timeout=20)
            p.user(u.name)
            try:
                p.pass_("pop secret")
                t.ok(False, "no Maildir: -ERR")
            except poplib.error_proto as e:
                t.ok("no $HOME/Maildir" in str(e), "no Maildir: -ERR this user has no $HOME/Maildir", e)
            os.rename(md + ".away", md)
finally:
    u.remove()
t.done()
