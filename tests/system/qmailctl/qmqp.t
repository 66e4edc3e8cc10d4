#!/usr/bin/env python3
# The QMQP and QMTP listeners of qmailctl (control/qmqp-listen,
# qmtp-listen), started without daemontools: off while their files are
# missing; one tcpserver per line running qmail-qmqpd / qmail-qmtpd as
# qmaild; stat names them. QMQP: with no rules of the administrator's,
# the loopback-only default is compiled into control/tcp.qmqp.cdb and a
# satellite's qmail-qmqpc (control/qmqpservers pointing at the listener)
# gets a message into the hub's Maildir; a hub's own control/tcp.qmqp
# admits one satellite address (127.0.0.2) and shuts the others out.
# QMTP (a small client here): rcpthosts domains accepted, relaying only
# once control/tcp.qmtp gives loopback RELAYCLIENT (qmailctl cdb). A line
# taken out of a listen file retires its listener; stop leaves nothing.
# A single-user hub's QMQP listener runs as its owner.
import os, shutil, socket, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, TestUser, IS_ROOT, run, wait, proc_uid, unique_user
from ctl import ctl, out, cleanup, instance_procs, free_port, listening

t = Tap()
if not shutil.which("tcpserver"):
    t.skip("QMQP and QMTP listeners", "needs ucspi-tcp")
    t.done()
    sys.exit(0)
DIRECT = {"NQ_NO_DAEMONTOOLS": "1"}


def ns(b):
    if isinstance(b, str):
        b = b.encode()
    return str(len(b)).encode() + b":" + b + b","


def read_ns(s, buf):
    """One netstring from socket s (buf: bytes already read): (value, rest)
    or (None, rest) when the server closes or sends something else."""
    while True:
        if b":" in buf:
            n, _, rest = buf.partition(b":")
            if not n.isdigit():
                return None, buf
            n = int(n)
            if len(rest) >= n + 1:
                if rest[n:n + 1] != b",":
                    return None, buf
                return rest[:n], rest[n + 1:]
        try:
            d = s.recv(65536)
        except OSError:
            d = b""
        if not d:
            return None, buf
        buf += d


def qmtp(port, message, sender, rcpts, source="127.0.0.1"):
    """One QMTP package (LF format): the answers, one per recipient."""
    pkg = ns(b"\n" + message.encode()) + ns(sender) + ns(b"".join(ns(r) for r in rcpts))
    with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0)) as s:
        s.sendall(pkg)
        got, buf = [], b""
        for _ in rcpts:
            v, buf = read_ns(s, buf)
            if v is None:
                break
            got.append(v.decode("utf-8", "replace"))
        return got


def qmqp_raw(port, message, sender, rcpts, source):
    """A QMQP request from a chosen source address: the answer or None."""
    req = ns(ns(message) + ns(sender) + b"".join(ns(r) for r in rcpts))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0)) as s:
            s.sendall(req)
            s.shutdown(socket.SHUT_WR)
            v, _ = read_ns(s, b"")
            return None if v is None else v.decode("utf-8", "replace")
    except OSError:
        return None


def qmqpc(sat, message, sender, rcpts):
    envelope = b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in rcpts) + b"\0"
    rfd, wfd = os.pipe()
    os.write(wfd, envelope)
    os.close(wfd)
    try:
        p = subprocess.run([sat.bin("qmail-qmqpc")], input=message.encode(), stdout=rfd,
                           stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(rfd)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def delivered(q, token):
    return wait(lambda: any(token in m for m in q.maildir_texts("alias/Maildir")), 30)


def servers(q, prog):
    """tcpservers of the instance whose command line runs prog."""
    found = []
    for pid, comm, exe in instance_procs(q):
        if comm != "tcpserver":
            continue
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if (b"/bin/" + prog.encode()) in f.read():
                found.append(pid)
    return found


with Instance(t, name="hub.example.test") as hub, Instance(t, name="sat.example.test") as sat:
    try:
        r = ctl(hub, "start", DIRECT)
        t.eq(r.returncode, 0, "start with no qmqp-listen or qmtp-listen", out(r))
        t.eq(servers(hub, "qmail-qmqpd") + servers(hub, "qmail-qmtpd"), [],
             "missing files: no QMQP or QMTP listener (never on by default)")
        ctl(hub, "stop", DIRECT)

        pq, pt = free_port(), free_port()
        hub.control("qmqp-listen", "# the hub's QMQP\n127.0.0.1:%d\n" % pq)
        hub.control("qmtp-listen", "127.0.0.1:%d" % pt)
        r = ctl(hub, "start", DIRECT)
        t.eq(r.returncode, 0, "start with a qmqp-listen and a qmtp-listen line", out(r))
        nq, nt = "qmqp-127.0.0.1-%d" % pq, "qmtp-127.0.0.1-%d" % pt
        t.ok(os.path.isfile(hub.path("service/%s/run" % nq)) and os.path.isfile(hub.path("service/%s/run" % nt)),
             "service/%s and service/%s made" % (nq, nt))
        t.eq(listening(pq), {"127.0.0.1"}, "QMQP listens on its line")
        t.eq(listening(pt), {"127.0.0.1"}, "QMTP listens on its line")
        cdb = hub.path("control/tcp.qmqp.cdb")
        t.ok(os.path.exists(cdb) and "tcp.qmqp.default" in out(r),
             "no rules of the admin's: the loopback-only default compiled into control/tcp.qmqp.cdb", out(r))
        if os.path.exists(cdb):
            chk = run(["tcprulescheck", cdb], env=dict(os.environ, TCPREMOTEIP="127.0.0.1"))
            t.ok(b"allow" in chk.stdout, "the default admits 127.0.0.1", chk.stdout)
            chk = run(["tcprulescheck", cdb], env=dict(os.environ, TCPREMOTEIP="192.0.2.7"))
            t.ok(b"deny" in chk.stdout, "and denies any other client", chk.stdout)
        if IS_ROOT:
            qmaild = hub.role_ids()["qmaild"][0]
            args = []
            for pid in servers(hub, "qmail-qmqpd") + servers(hub, "qmail-qmtpd"):
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    args.append(f.read().split(b"\0"))
            t.ok(len(args) == 2 and all(a[a.index(b"-u") + 1] == str(qmaild).encode() for a in args if b"-u" in a)
                 and all(b"-u" in a for a in args), "both tcpservers run their sessions as qmaild (-u)", args)
        r = ctl(hub, "stat", DIRECT)
        t.ok(r.returncode == 0 and "qmqp listener on 127.0.0.1:%d" % pq in out(r)
             and "qmtp listener on 127.0.0.1:%d" % pt in out(r), "stat shows both listeners", out(r))
        t.ok(nq in out(r) and "uptime" in out(r), "stat describes the QMQP listener's process", out(r))

        # A satellite hands a message over with qmail-qmqpc.
        sat.control("qmqpservers", "127.0.0.1:%d" % pq)
        code, err = qmqpc(sat, "From: a@sat.example.test\nSubject: qmqp-token\n\nvia the hub\n",
                          "a@sat.example.test", ["postmaster@hub.example.test"])
        t.eq(code, 0, "qmail-qmqpc through the qmailctl listener exits 0", err)
        t.ok(delivered(hub, "qmqp-token"), "the satellite's message is in the hub's Maildir")
        texts = [m for m in hub.maildir_texts("alias/Maildir") if "qmqp-token" in m]
        t.ok(texts and "with QMQP" in texts[0], "its Received field says QMQP", texts[:1])

        # The hub's own rules: only the satellite 127.0.0.2.
        hub.control("tcp.qmqp", "127.0.0.2:allow\n:deny\n")
        r = ctl(hub, "cdb", DIRECT)
        t.ok(r.returncode == 0 and "control/tcp.qmqp" in out(r), "qmailctl cdb compiles control/tcp.qmqp", out(r))
        a = qmqp_raw(pq, b"Subject: from-2-token\n\nx\n", b"s@sat.example.test", [b"postmaster@hub.example.test"], "127.0.0.2")
        t.ok(a is not None and a.startswith("K"), "the admitted satellite 127.0.0.2 gets K", a)
        t.ok(delivered(hub, "from-2-token"), "and its message arrives")
        a = qmqp_raw(pq, b"Subject: from-1-token\n\nx\n", b"s@sat.example.test", [b"postmaster@hub.example.test"], "127.0.0.1")
        t.eq(a, None, "127.0.0.1, no longer admitted, is cut off without an answer")
        code, err = qmqpc(sat, "Subject: refused\n\nx\n", "a@sat.example.test", ["postmaster@hub.example.test"])
        t.ok(51 <= code <= 99, "qmail-qmqpc from a denied address fails temporarily (%d)" % code, err)

        # QMTP: rcpthosts without rules, relay with RELAYCLIENT from tcp.qmtp.
        a = qmtp(pt, "Subject: qmtp-token\n\nhello\n", "b@client.test",
                 ["postmaster@hub.example.test", "x@elsewhere.test"])
        t.ok(len(a) == 2 and a[0].startswith("K") and a[1].startswith("D"),
             "QMTP: local domain K, other domain D without relay rules", a)
        t.ok(delivered(hub, "qmtp-token"), "the QMTP message is in the hub's Maildir")
        hub.control("tcp.qmtp", '127.:allow,RELAYCLIENT=""\n:allow\n')
        r = ctl(hub, "cdb", DIRECT)
        t.ok(r.returncode == 0 and os.path.exists(hub.path("control/tcp.qmtp.cdb")),
             "qmailctl cdb compiles control/tcp.qmtp", out(r))
        t.ok("restarting %s" % nt in out(r), "and restarts the QMTP listener that ran without rules", out(r))
        t.ok(wait(lambda: listening(pt) == {"127.0.0.1"}, 10), "the QMTP listener is back")
        a = qmtp(pt, "Subject: relay\n\nx\n", "b@client.test", ["x@elsewhere.test"])
        t.ok(len(a) == 1 and a[0].startswith("K"), "QMTP: loopback may relay with RELAYCLIENT", a)

        # The run script refuses QMQP without rules.
        os.rename(cdb, cdb + ".away")
        # (it says why at once, then sleeps before exiting 111 so that
        # supervise does not spin: no need to wait for that here)
        rp = subprocess.Popen(["sh", hub.path("service/%s/run" % nq)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
        said = rp.stdout.readline()
        os.killpg(rp.pid, 9)
        rp.wait()
        os.rename(cdb + ".away", cdb)
        t.ok(b"no control/tcp.qmqp.cdb" in said and b"open to anyone" in said,
             "the QMQP run script will not run without rules", said)

        # A line taken out: its listener goes.
        hub.control("qmqp-listen", "")
        r = ctl(hub, "restart", DIRECT)
        t.eq(r.returncode, 0, "restart after emptying qmqp-listen", out(r))
        t.ok(not os.path.exists(hub.path("service/" + nq)), "service/%s removed" % nq)
        t.eq(listening(pq), set(), "nothing listens on the QMQP port any more")
        t.eq(listening(pt), {"127.0.0.1"}, "QMTP still listens")
        r = ctl(hub, "stop", DIRECT)
        t.eq(r.returncode, 0, "stop")
        t.ok(wait(lambda: not instance_procs(hub), 10), "nothing of the hub left", instance_procs(hub))
    finally:
        cleanup(hub, DIRECT)

# A single-user hub: its QMQP listener runs as the owner, with the same
# loopback-only default rules.
if IS_ROOT:
    u = TestUser(unique_user("qmqp"))
    try:
        with Instance(t, name="hub1.example.test", mode="single", owner=u.name) as hub, \
                Instance(t, name="sat1.example.test") as sat:
            try:
                pq = free_port()
                hub.control("qmqp-listen", "127.0.0.1:%d" % pq)
                r = ctl(hub, "start", DIRECT)
                t.eq(r.returncode, 0, "single-user: start with a qmqp-listen line", out(r))
                ts = servers(hub, "qmail-qmqpd")
                t.ok(ts and all(proc_uid(p) == u.uid for p in ts), "single-user: the QMQP tcpserver runs as the owner", ts)
                sat.control("qmqpservers", "127.0.0.1:%d" % pq)
                code, err = qmqpc(sat, "Subject: single-qmqp-token\n\nx\n", "a@sat1.example.test",
                                  ["postmaster@hub1.example.test"])
                t.eq(code, 0, "single-user: qmail-qmqpc gets its message in", err)
                t.ok(delivered(hub, "single-qmqp-token"), "single-user: delivered to the hub's Maildir")
                t.eq(ctl(hub, "stop", DIRECT).returncode, 0, "single-user: stop")
            finally:
                cleanup(hub, DIRECT)
    finally:
        u.remove()
t.done()
