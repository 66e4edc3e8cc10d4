#!/usr/bin/env python3
# qmail-popup and TLS, as root, with a certificate the test makes with
# openssl: without POP3PLAINLOOPBACK, USER/PASS are refused before TLS
# and CAPA offers STLS but not USER; STLS with poplib, then the whole
# session (a 1 MB message, deletions at QUIT) relayed by qmail-popup,
# which holds the TLS session and gives up root, to qmail-pop3d; bytes pipelined behind
# STLS are thrown away; commands pipelined inside TLS behind PASS reach
# qmail-pop3d; a failed login inside TLS; implicit TLS (POP3S) with
# poplib.POP3_SSL, where a plain-text client gets nothing; APOP offered
# (the timestamp) only when APOP is set.
# smoke
import os, poplib, socket, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-pop3d"))
from pop3lib import Pop3Server, Raw, make_cert, noverify, prepare, put_message, set_password
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, proc_exe, proc_uid

t = Tap()
if not IS_ROOT:
    t.skip("qmail-popup TLS", "needs root (system users, qmail-popup as root)")
    t.done()

BIG = b"Subject: big\n\n" + b"".join(b"%07d ...................................................\n" % i for i in range(16000))
SMALL = b"Subject: small\n\nhello\n"

u = TestUser(unique_user("pt"))
try:
    set_password(u.name, "tls secret")
    md = u.maildirmake()
    own = (u.uid, u.gid)
    put_message(md, "1000000001.BIG.host", BIG, owner=own)
    put_message(md, "1000000002.SMALL.host", SMALL, owner=own)

    with Instance(t, name="example.test") as q:
        prepare(q)
        make_cert(q.path("control/servercert.pem"), "pop.example.test")
        with Pop3Server(q) as s:
            p = poplib.POP3("127.0.0.1", s.port, timeout=30)
            caps = p.capa()
            t.ok("STLS" in caps and "USER" not in caps, "plain text: CAPA offers STLS, not USER", caps)
            try:
                p.user(u.name)
                t.ok(False, "USER before STLS: -ERR")
            except poplib.error_proto as e:
                t.ok("STLS" in str(e), "USER before STLS: -ERR", e)
            try:
                p._shortcmd("PASS tls secret")
                t.ok(False, "PASS before STLS: -ERR")
            except poplib.error_proto:
                t.ok(True, "PASS before STLS: -ERR")
            t.ok(p.stls(noverify()).startswith(b"+OK"), "STLS")
            peer = p.sock.getpeercert(binary_form=True)
            t.ok(peer and b"pop.example.test" in peer, "the certificate of control/servercert.pem")
            caps = p.capa()
            t.ok("USER" in caps and "STLS" not in caps, "inside TLS: USER offered, STLS not", caps)
            p.user(u.name)
            t.ok(p.pass_("tls secret").startswith(b"+OK"), "login inside TLS")
            relays = [x for x in map(int, filter(str.isdigit, os.listdir("/proc"))) if proc_exe(x) == q.bin("qmail-popup")]
            t.ok(relays and all(proc_uid(x) == q.role_ids()["qmaild"][0] for x in relays),
                 "the relaying qmail-popup gave up root (runs as qmaild)", [(x, proc_uid(x)) for x in relays])
            t.eq(p.stat(), (2, len(BIG) + len(SMALL)), "STAT through the relay")
            lines = p.retr(1)[1]
            t.eq(b"\n".join(lines), BIG.rstrip(b"\n") + b"\n", "RETR of a 1 MB message through the relay")
            p.dele(2)
            p.quit()
            t.eq(sorted(os.listdir(md + "/cur")), ["1000000001.BIG.host:2,"], "QUIT through the relay: deleted, moved")
            t.eq(os.listdir(md + "/new"), [], "new/ is empty")
            put_message(md, "1000000003.SMALL.host", SMALL, owner=own)

            # Bytes behind STLS, before the handshake, are dropped.
            r = Raw(s.port)
            r.line()
            r.send("STLS\r\nUSER %s\r\n" % u.name)
            t.ok(r.line().startswith(b"+OK"), "STLS with USER pipelined behind it")
            r.starttls()
            t.ok(r.cmd("PASS tls secret").startswith(b"-ERR"), "the pipelined USER was thrown away: PASS needs USER")
            r.close()

            # Pipelined inside TLS, behind PASS: relayed to qmail-pop3d.
            r = Raw(s.port)
            r.line()
            r.cmd("STLS")
            r.starttls()
            r.send("USER %s\r\nPASS tls secret\r\nSTAT\r\nUIDL 2\r\nQUIT\r\n" % u.name)
            got = [r.line() for _ in range(5)]
            t.ok(got[1].startswith(b"+OK") and got[2] == b"+OK 2 %d" % (len(BIG) + len(SMALL))
                 and got[3] == b"+OK 2 1000000003.SMALL.host" and got[4].startswith(b"+OK"),
                 "inside TLS, commands pipelined behind PASS reach qmail-pop3d", got)
            r.close()

            # A wrong password inside TLS.
            p = poplib.POP3("127.0.0.1", s.port, timeout=30)
            p.stls(noverify())
            p.user(u.name)
            try:
                p.pass_("nope")
                t.ok(False, "wrong password inside TLS: -ERR [AUTH]")
            except poplib.error_proto as e:
                t.ok("[AUTH]" in str(e), "wrong password inside TLS: -ERR [AUTH]", e)
            t.ok("authentication failed for %s from 127.0.0.1" % u.name in s.log(), "and logged", s.log())

            # A handshake that fails ends the session.
            r = Raw(s.port)
            r.line()
            r.cmd("STLS")
            r.send(b"not a ClientHello\r\n" * 4)
            t.ok(r.closed(10), "garbage instead of a handshake: closed")

            # No APOP unless asked for.
            r = Raw(s.port)
            g = r.line()
            t.ok(b"<" not in g, "no timestamp in the greeting", g)
            t.ok(r.cmd("APOP %s 0123456789abcdef0123456789abcdef" % u.name).startswith(b"-ERR"), "APOP refused")
            r.close()

        with Pop3Server(q, env={"APOP": "1"}) as s:
            r = Raw(s.port)
            g = r.line()
            t.ok(g.startswith(b"+OK <") and g.endswith(b"@pop.example.test>"), "APOP set: the timestamp in the greeting", g)
            t.ok(r.cmd("APOP %s 0123456789abcdef0123456789abcdef" % u.name).startswith(b"-ERR [AUTH]"),
                 "APOP goes to checkpassword (which has no clear-text secret: refused)")
            r.close()

        # Implicit TLS (port 995 style).
        with Pop3Server(q, env={"POP3S": "1"}) as s:
            p = poplib.POP3_SSL("127.0.0.1", s.port, timeout=30, context=noverify())
            t.ok(p.getwelcome().startswith(b"+OK"), "POP3S: greeting inside TLS", p.getwelcome())
            t.ok("STLS" not in p.capa(), "POP3S: no STLS offered")
            p.user(u.name)
            t.ok(p.pass_("tls secret").startswith(b"+OK"), "POP3S: login")
            t.eq(p.uidl()[1], [b"1 1000000001.BIG.host", b"2 1000000003.SMALL.host"], "POP3S: UIDL")
            t.eq(p.retr(2)[1], [b"Subject: small", b"", b"hello", b""], "POP3S: RETR")
            p.quit()
            raw = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            raw.sendall(b"USER x\r\n")
            raw.settimeout(10)
            try:
                got = raw.recv(100)
            except OSError:
                got = b""
            t.ok(not got.startswith(b"+OK"), "POP3S: a plain-text client gets no POP3", got)
            raw.close()
finally:
    u.remove()
t.done()
