#!/usr/bin/env python3
# The two helpers the systemd units run, exercised without systemd:
# - boot/systemd/smtpd-socket, as nqmail-smtpd-accept@.service runs it for a
#   connection systemd accepted: given REMOTE_ADDR it applies the rules of
#   control/tcp.smtp.cdb (relay for 127., deny for 10.1., a plain allow for
#   10.2.3.4 ahead of a 10.2. deny), shows IPv4 clients of an IPv6 socket as
#   IPv4, and queues a message as qmaild through set-uid qmail-queue;
# - boot/systemd/listen, as nqmail-KIND@LINE.service runs it (listen KIND
#   LINE, LINE unescaped by systemd): tcpserver on the line's address and
#   port with the run script qmailctl uses: submission on 127.0.0.1 and
#   on [::1] answers SMTP, QMQP on 127.0.0.1 queues a message; a line that
#   is not a numeric address:port, or an unknown kind, is refused (100).
import os, signal, socket, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmailctl"))
from nqtest import Tap, Instance, IS_ROOT, run, wait
from ctl import ctl, free_port, out

t = Tap()


def session(q, addr, lines):
    env = {"PATH": "/usr/bin:/bin", "REMOTE_ADDR": addr, "REMOTE_PORT": "4444",
           "LISTEN_FDS": "1", "LISTEN_PID": "1"}
    data = "".join(l + "\r\n" for l in lines)
    user = "qmaild" if q.mode == "root" else q.as_owner()
    r = run([q.path("boot/systemd/smtpd-socket")], input=data, env=env, user=user, timeout=30)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def replies(out):
    return [l[:3] for l in out.splitlines() if l[:3].isdigit() and l[3:4] == " "]


with Instance(t, name="sock.example.test") as q:
    q.write("control/tcp.smtp", "127.:allow,RELAYCLIENT=\"\"\n10.1.:deny\n10.2.3.4:allow\n10.2.:deny\n:allow\n")
    r = ctl(q, "cdb")
    t.eq(r.returncode, 0, "qmailctl cdb compiles tcp.smtp", r.stderr)
    relay = ["EHLO c.test", "MAIL FROM:<a@b.test>", "RCPT TO:<x@remote.test>", "QUIT"]
    rc, o = session(q, "127.0.0.1", relay)
    t.eq(replies(o), ["220", "250", "250", "250", "221"], "127.0.0.1 may relay (RELAYCLIENT from the rules)", o)
    rc, o = session(q, "::ffff:127.0.0.1", relay)
    t.eq(replies(o), ["220", "250", "250", "250", "221"], "::ffff:127.0.0.1 is looked up as 127.0.0.1", o)
    rc, o = session(q, "192.0.2.7", relay)
    t.eq(replies(o), ["220", "250", "250", "553", "221"], "another client may not relay", o)
    rc, o = session(q, "10.1.2.3", relay)
    t.ok(rc == 0 and o == "", "10.1.2.3 is denied: no greeting", o)
    rc, o = session(q, "10.2.3.4", relay)
    t.eq(replies(o)[:1], ["220"], "an exact allow wins over a shorter deny", o)
    rc, o = session(q, "10.2.9.9", relay)
    t.eq(o, "", "10.2.9.9 falls under the 10.2. deny", o)
    rc, o = session(q, "1;2", relay)
    t.eq(rc, 111, "a malformed REMOTE_ADDR is refused")

    before = q.queue_count()
    rc, o = session(q, "127.0.0.1", ["HELO c.test", "MAIL FROM:<a@b.test>", "RCPT TO:<postmaster@sock.example.test>",
                                     "DATA", "Subject: via socket\r\n\r\nhello", ".", "QUIT"])
    t.eq(replies(o), ["220", "250", "250", "250", "354", "250", "221"], "a message is accepted", o)
    t.eq(q.queue_count(), before + 1, "and queued")

    # listen: the tcpserver units' program
    def greets(host, port):
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(b"EHLO c.test\r\nQUIT\r\n")
                got = b""
                while not got.endswith(b"closing connection\r\n"):
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
                return got.decode()
        except OSError:
            return ""

    def qmqp(port, msg):
        ns = lambda b: str(len(b)).encode() + b":" + b + b","
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(ns(ns(msg) + ns(b"a@b.test") + ns(b"postmaster@sock.example.test")))
                s.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
                n, _, rest = got.partition(b":")
                return rest[:-1].decode("utf-8", "replace") if n.isdigit() and rest.endswith(b",") else ""
        except OSError:
            return ""

    def listener(kind, line):
        log = open(os.path.join(q.base, "listen.out"), "ab")
        p = subprocess.Popen([q.path("boot/systemd/listen"), kind, line], stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        return p

    def stop(p):
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
        p.wait(10)

    cases = [("submission", "127.0.0.1", "127.0.0.1:%d"), ("submission", "::1", "[::1]:%d")]
    if not os.path.exists("/proc/net/if_inet6"):
        cases = cases[:1]
        t.skip("listen on [::1]", "no IPv6")
    for kind, host, fmt in cases:
        port = free_port(host)
        p = listener(kind, fmt % port)
        try:
            t.ok(wait(lambda: greets(host, port).startswith("220 sock.example.test"), 10),
                 "listen %s %s answers SMTP there" % (kind, fmt % port))
        finally:
            stop(p)
    t.ok("tcpserver: status" in open(os.path.join(q.base, "listen.out")).read(), "tcpserver's log on its output")

    ctl(q, "cdb")   # no QMQP rules of the admin's and no qmqp-listen: nothing to compile
    q.write("control/tcp.qmqp", "127.:allow\n:deny\n")
    r = ctl(q, "cdb")
    t.ok(os.path.exists(q.path("control/tcp.qmqp.cdb")), "qmailctl cdb compiles control/tcp.qmqp", out(r))
    port = free_port()
    before = q.queue_count()
    p = listener("qmqp", "127.0.0.1:%d" % port)
    try:
        t.ok(wait(lambda: qmqp(port, b"Subject: qmqp via listen\n\nhi\n").startswith("K"), 10),
             "listen qmqp 127.0.0.1:PORT: qmail-qmqpd answers K")
        t.eq(q.queue_count(), before + 1, "and the message is queued")
    finally:
        stop(p)

    for args, why in ((["smtpd", "1;x:25"], "an address that is not numeric"),
                      (["smtpd", "::1:25"], "IPv6 without brackets"),
                      (["smtpd", "127.0.0.1:70000"], "a port past 65535"),
                      (["smtpd", "127.0.0.1"], "no port"),
                      (["nonsense", "127.0.0.1:25"], "an unknown kind")):
        r = run([q.path("boot/systemd/listen")] + args)
        t.eq(r.returncode, 100, "listen refuses %s" % why, r.stderr)
t.done()
