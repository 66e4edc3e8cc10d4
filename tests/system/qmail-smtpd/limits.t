#!/usr/bin/env python3
# Limits that protect the server: control/timeoutsmtpd drops a silent
# client (at the greeting and in the middle of DATA, queueing nothing);
# 300 concurrent connections are all served; MAXPERIP (control/maxperip)
# limits sessions per client address; GREETDELAY (control/greetdelay)
# refuses clients that talk before the greeting; and qmail-smtpd's peak
# memory does not grow with a 10 MiB line or a 1 MiB header (measured at
# two sizes 10x apart).
import os, socket, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queued, clear, queue_empty
from nqtest import Tap, Instance, proc_hwm_kb, proc_exe

t = Tap()


def smtpd_pids(q, s):
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and proc_exe(int(pid)) == q.bin("qmail-smtpd"):
            try:
                if os.getsid(int(pid)) == s.proc.pid:
                    out.append(int(pid))
            except OSError:
                pass
    return out


def peak(q, s, body):
    """Peak RSS (kB) of the qmail-smtpd that received body."""
    before = set(smtpd_pids(q, s))
    r = Raw(s.port, timeout=60)
    r.reply()
    new = [p for p in smtpd_pids(q, s) if p not in before]
    r.cmd("EHLO client.test")
    r.cmd("MAIL FROM:<s@a.test>")
    r.cmd("RCPT TO:<postmaster@example.test>")
    r.cmd("DATA")
    chunk = 1 << 20
    for i in range(0, len(body), chunk):
        r.send(body[i:i + chunk])
    code, _ = r.cmd(".")
    hwm = proc_hwm_kb(new[0]) if new else None
    r.cmd("QUIT")
    r.close()
    clear(q)
    return code, hwm


with Instance(t, name="example.test") as q:
    prepare(q)
    q.control("timeoutsmtpd", "2")
    with Server(q) as s:
        r = Raw(s.port)
        t0 = time.time()
        r.reply()
        rest = r.rest(10)
        t.ok("421" in rest and time.time() - t0 < 8, "silent client: 421 timeout after about 2 s", rest)
        t.ok(r.closed(), "and the connection is closed")
        r = Raw(s.port)
        r.reply()
        r.cmd("EHLO client.test")
        r.cmd("MAIL FROM:<s@a.test>")
        r.cmd("RCPT TO:<postmaster@example.test>")
        r.cmd("DATA")
        r.send("Subject: stalled\r\n\r\nhalf")
        rest = r.rest(10)
        t.ok("421" in rest, "client silent in DATA: 421", rest)
        time.sleep(0.3)
        t.ok(queue_empty(q), "nothing queued for the stalled message", q.queue_files())
        t.ok("timeout" in s.log(), "timeouts are logged", s.log())
    os.unlink(q.path("control/timeoutsmtpd"))

    # 300 concurrent sessions.
    with Server(q, limit=400) as s:
        clear(q)
        socks = []
        for i in range(300):
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=60))
        greeted = 0
        files = {}
        for c in socks:
            files[c] = c.makefile("rb")
            if files[c].readline().startswith(b"220 "):
                greeted += 1
        t.eq(greeted, 300, "300 concurrent connections greeted")
        for i, c in enumerate(socks):
            c.sendall(b"EHLO c.test\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n"
                      b"Subject: conc %d\r\n\r\nhi\r\n.\r\nQUIT\r\n" % i)
        ok = 0
        for c in socks:
            lines = []
            while True:
                ln = files[c].readline()
                if not ln:
                    break
                lines.append(ln)
            if any(l.startswith(b"250 2.0.0 ok") for l in lines):
                ok += 1
            c.close()
        t.eq(ok, 300, "300 concurrent messages accepted")
        t.eq(len(queued(q)), 300, "300 messages queued")
        clear(q)

    # Per-IP limit.
    with Server(q, env={"MAXPERIP": "2"}) as s:
        a, b = Raw(s.port), Raw(s.port)
        t.eq(a.reply()[0], 220, "first session from 127.0.0.1")
        t.eq(b.reply()[0], 220, "second session")
        c = Raw(s.port)
        code, text = c.reply()
        t.eq(code, 421, "third session over MAXPERIP 2: 421", text)
        a.close()
        time.sleep(0.5)
        d = Raw(s.port)
        t.eq(d.reply()[0], 220, "after one closed, a new session is served")
        b.close()
        d.close()
        t.ok("too many connections from 127.0.0.1" in s.log(), "refusal logged", s.log())

    # Greeting delay.
    with Server(q, env={"GREETDELAY": "2"}) as s:
        r = Raw(s.port)
        r.send("EHLO early.test\r\n")
        code, text = r.reply()
        t.eq(code, 554, "talking before the greeting: 554", text)
        r = Raw(s.port)
        t0 = time.time()
        code, text = r.reply()
        t.ok(code == 220 and time.time() - t0 >= 1.8, "a patient client is greeted after the delay", text)
        r.close()

    # Memory: flat for a long line and a big header.
    with Server(q) as s:
        small_line = b"Subject: x\r\n\r\n" + b"y" * (1 << 20) + b"\r\n"
        big_line = b"Subject: x\r\n\r\n" + b"y" * (10 << 20) + b"\r\n"
        c1, h1 = peak(q, s, small_line)
        c2, h2 = peak(q, s, big_line)
        t.ok(c1 == 250 and c2 == 250, "1 MiB and 10 MiB lines accepted", (c1, c2))
        t.ok(h1 and h2 and h2 - h1 < 512, "peak RSS flat: %s kB vs %s kB" % (h1, h2))
        small_head = b"".join(b"X-H%d: %s\r\n" % (i, b"z" * 90) for i in range(1000)) + b"\r\nbody\r\n"
        big_head = b"".join(b"X-H%d: %s\r\n" % (i, b"z" * 90) for i in range(10000)) + b"\r\nbody\r\n"
        c1, h1 = peak(q, s, small_head)
        c2, h2 = peak(q, s, big_head)
        t.ok(c1 == 250 and c2 == 250, "100 KiB and 1 MiB headers accepted", (c1, c2))
        t.ok(h1 and h2 and h2 - h1 < 512, "peak RSS flat: %s kB vs %s kB" % (h1, h2))
        c1, h1 = peak(q, s, b"Subject: x\r\n" + b"X-Long: " + b"w" * (1 << 20) + b"\r\n\r\nb\r\n")
        t.ok(c1 == 250 and h1 and h1 < h2 + 512, "a 1 MiB header line: accepted, same peak (%s kB)" % h1)
t.done()
