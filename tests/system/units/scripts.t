#!/usr/bin/env python3
# The two helpers the systemd units run, exercised without systemd:
# - boot/systemd/smtpd-socket, as nqmail-smtpd@.service runs it for a
#   connection systemd accepted: given REMOTE_ADDR it applies the rules of
#   control/tcp.smtp.cdb (relay for 127., deny for 10.1., a plain allow for
#   10.2.3.4 ahead of a 10.2. deny), shows IPv4 clients of an IPv6 socket as
#   IPv4, and queues a message as qmaild through set-uid qmail-queue;
# - boot/systemd/listen, as nqmail-submission.service runs it: tcpserver on
#   $ADDR:$PORT with the run script qmailctl uses, answering SMTP.
import os, signal, socket, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmailctl"))
from nqtest import Tap, Instance, IS_ROOT, run, wait
from ctl import ctl, free_port

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

    # listen: the tcpserver unit's program
    port = free_port()
    env = dict(os.environ, ADDR="127.0.0.1", PORT=str(port))
    log = open(os.path.join(q.base, "listen.out"), "wb")
    p = subprocess.Popen([q.path("boot/systemd/listen"), "submission"], env=env, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def greets():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
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
        ok = wait(lambda: greets().startswith("220 sock.example.test"), 10)
        t.ok(ok, "listen submission answers SMTP on ADDR:PORT")
        t.ok("tcpserver: status" in open(os.path.join(q.base, "listen.out")).read(), "tcpserver's log on its output")
    finally:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
        p.wait(10)
        log.close()
    r = run([q.path("boot/systemd/listen"), "smtpd"], env=dict(os.environ, ADDR="1;x", PORT="25"))
    t.eq(r.returncode, 100, "listen refuses an ADDR that is not an address")
    r = run([q.path("boot/systemd/listen"), "nonsense"])
    t.eq(r.returncode, 100, "listen refuses an unknown kind")
t.done()
