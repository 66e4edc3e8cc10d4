#!/usr/bin/env python3
# qmail-popup for a client that is not on loopback: tcpserver's place is
# taken by the test, which runs qmail-popup as root on one end of a
# socketpair with TCPREMOTEIP set as tcpserver would, so that an outside
# address can be tried without leaving 127.0.0.0/8. POP3PLAINLOOPBACK
# lets only loopback clients (127.x, ::1, ::ffff:127.x) send USER/PASS
# outside TLS; from 192.0.2.7 and ::ffff:192.0.2.7 CAPA offers no USER and
# USER and PASS are refused until STLS. Inside TLS the outside client
# logs in; a wrong password is answered after a delay and logged with
# the client's address.
import os, socket, ssl, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-pop3d"))
from pop3lib import make_cert, noverify, prepare, put_message, set_password
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user

t = Tap()
if not IS_ROOT:
    t.skip("qmail-popup for outside clients", "needs root (system users, qmail-popup as root)")
    t.done()


class Session:
    """qmail-popup ... qmail-pop3d on a socketpair, as tcpserver starts it."""

    def __init__(self, q, ip, env=None):
        self.s, theirs = socket.socketpair()
        self.errpath = os.path.join(q.base, "popup-%s-%d.err" % (ip.replace(":", "_"), id(self)))
        e = {"PATH": "/usr/bin:/bin", "TCPREMOTEIP": ip, "TCPLOCALIP": "192.0.2.1", "PROTO": "TCP"}
        e.update(env or {})
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        with open(self.errpath, "wb") as err:
            self.p = subprocess.Popen([q.bin("qmail-popup"), "pop.example.test", q.bin("checkpassword"),
                                       q.bin("qmail-pop3d"), "Maildir"],
                                      stdin=theirs, stdout=theirs, stderr=err, env=e)
        theirs.close()
        self.s.settimeout(20)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            try:
                d = self.s.recv(4096)
            except (OSError, ssl.SSLError):
                d = b""
            if not d:
                r, self.buf = self.buf, b""
                return r
            self.buf += d
        i = self.buf.index(b"\r\n")
        r, self.buf = self.buf[:i], self.buf[i + 2:]
        return r

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.line()

    def multi(self):
        out = []
        while len(out) < 10000:
            ln = self.line()
            if ln == b".":
                break
            out.append(ln)
        return out

    def starttls(self):
        self.s = noverify().wrap_socket(self.s, server_hostname="pop.example.test")

    def err(self):
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


u = TestUser(unique_user("pr"))
try:
    set_password(u.name, "remote secret")
    md = u.maildirmake()
    put_message(md, "1000000001.R1.host", b"Subject: remote\n\nfrom afar\n", owner=(u.uid, u.gid))
    with Instance(t, name="example.test") as q:
        prepare(q)
        make_cert(q.path("control/servercert.pem"), "pop.example.test")
        plain = {"POP3PLAINLOOPBACK": "1"}

        for ip in ("192.0.2.7", "::ffff:192.0.2.7", "2001:db8::7"):
            s = Session(q, ip, plain)
            t.ok(s.line().startswith(b"+OK"), "%s: greeting" % ip)
            t.eq(s.cmd("CAPA"), b"+OK capability list follows", "%s: CAPA" % ip)
            caps = s.multi()
            t.ok(b"USER" not in caps and b"STLS" in caps, "%s: CAPA offers STLS, not USER" % ip, caps)
            t.ok(s.cmd("USER " + u.name).startswith(b"-ERR"), "%s: USER refused outside TLS despite POP3PLAINLOOPBACK" % ip)
            t.ok(s.cmd("PASS remote secret").startswith(b"-ERR"), "%s: PASS refused too" % ip)
            t.ok(s.cmd("QUIT").startswith(b"+OK"), "%s: QUIT" % ip)
            s.close()

        # The same setting does let loopback clients in (so the refusals
        # above are about the address).
        for ip in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            s = Session(q, ip, plain)
            s.line()
            t.ok(s.cmd("USER " + u.name) == b"+OK" and s.cmd("PASS remote secret").startswith(b"+OK"),
                 "%s: POP3PLAINLOOPBACK lets a loopback client log in without TLS" % ip)
            t.ok(s.cmd("STAT").startswith(b"+OK 1 "), "%s: STAT" % ip)
            s.cmd("QUIT")
            s.close()

        # Inside TLS, the outside client logs in; a wrong password is
        # slowed down and logged with its address.
        s = Session(q, "192.0.2.7", plain)
        s.line()
        t.ok(s.cmd("STLS").startswith(b"+OK"), "192.0.2.7: STLS")
        s.starttls()
        t.ok(s.cmd("USER " + u.name) == b"+OK", "192.0.2.7: USER inside TLS")
        t0 = time.time()
        r = s.cmd("PASS wrong guess")
        dt = time.time() - t0
        t.ok(r.startswith(b"-ERR [AUTH]"), "192.0.2.7: a wrong password: -ERR [AUTH]", r)
        t.ok(dt >= 1.5, "the answer came after a delay (%.1f s)" % dt)
        s.close()
        t.ok("authentication failed for %s from 192.0.2.7" % u.name in s.err(), "logged with the client's IP", s.err())

        s = Session(q, "2001:db8::7")
        s.line()
        s.cmd("STLS")
        s.starttls()
        s.cmd("USER " + u.name)
        t.ok(s.cmd("PASS remote secret").startswith(b"+OK"), "2001:db8::7: login inside TLS")
        t.ok(s.cmd("RETR 1") == b"+OK message follows" and s.multi() == [b"Subject: remote", b"", b"from afar", b""],
             "RETR through the relay")
        s.cmd("QUIT")
        s.close()

        s = Session(q, "2001:db8::7")
        s.line()
        s.cmd("STLS")
        s.starttls()
        s.cmd("USER nosuchuser" + u.name)
        t.ok(s.cmd("PASS x").startswith(b"-ERR [AUTH]"), "an unknown user: -ERR [AUTH]")
        s.close()
        t.ok("authentication failed for nosuchuser%s from 2001:db8::7" % u.name in s.err(),
             "logged with the client's IPv6 address", s.err())
finally:
    u.remove()
t.done()
