#!/usr/bin/env python3
# The SMTP listeners without daemontools and in a single-user instance,
# and the listen files' edge cases: started directly (pid files, logs in
# log/NAME/current), a message through them, stop leaves nothing; a line
# that is no address:port, or a host name, stops start before anything
# runs (exit 111, the line named); a port someone else holds makes start
# exit 111 and say why; 0.0.0.0:P beside [::]:P is one dual-stack
# tcpserver that takes IPv4 too; a single-user instance listens nowhere
# by default and as its owner where its files say.
import os, shutil, smtplib, socket, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, TestUser, IS_ROOT, wait, proc_uid, unique_user
from ctl import ctl, out, cleanup, instance_procs, free_port, listening, smtp_off

t = Tap()
if not shutil.which("tcpserver"):
    t.skip("SMTP listeners", "needs ucspi-tcp")
    t.done()
DIRECT = {"NQ_NO_DAEMONTOOLS": "1"}


def tcpservers(q):
    return [p for p in instance_procs(q) if p[1] == "tcpserver"]


def send(port, name, token, host="127.0.0.1"):
    try:
        s = smtplib.SMTP(host, port, local_hostname="client.test", timeout=30)
        s.sendmail("a@client.test", ["postmaster@" + name], "Subject: %s\r\n\r\n%s\r\n" % (token, token))
        s.quit()
        return True
    except Exception as e:
        t.diag(repr(e))
        return False


def delivered(q, token):
    return wait(lambda: any(token in m for m in q.maildir_texts("alias/Maildir")), 30)


with Instance(t, name="listen.example.test") as q:
    try:
        smtp_off(q)
        # Broken lines: nothing starts.
        for line, why in (("localhost:25", "not an IPv4 address"), ("::1:25", "[address]:port"),
                          ("127.0.0.1:99999", "not a port"), ("127.0.0.1", "not address:port")):
            q.control("smtpd-listen", line)
            r = ctl(q, "start", DIRECT)
            t.ok(r.returncode == 111 and line in out(r) and why in out(r),
                 "start refuses smtpd-listen %s (%s)" % (line, why), out(r))
            t.eq(instance_procs(q), [], "and starts nothing")

        # Started directly.
        p = free_port()
        q.control("smtpd-listen", "127.0.0.1:%d" % p)
        r = ctl(q, "start", DIRECT)
        t.eq(r.returncode, 0, "direct: start", out(r))
        name = "smtpd-127.0.0.1-%d" % p
        t.ok(os.path.exists(q.path("service/%s/direct.pid" % name)), "direct: pid file in service/%s" % name)
        t.eq(listening(p), {"127.0.0.1"}, "direct: listens on the line")
        t.ok(send(p, q.name, "direct-token") and delivered(q, "direct-token"), "direct: a message goes through")
        logf = q.path("log/%s/current" % name)
        t.ok(wait(lambda: os.path.exists(logf) and b"tcpserver: end" in open(logf, "rb").read(), 10),
             "direct: tcpserver's log in log/%s/current" % name)
        r = ctl(q, "stat", DIRECT)
        t.ok(r.returncode == 0 and "smtpd listener on 127.0.0.1:%d" % p in out(r), "direct: stat", out(r))

        # A port already taken: start says so and fails.
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        hp = held.getsockname()[1]
        q.control("submission-listen", "127.0.0.1:%d" % hp)
        r = ctl(q, "start", DIRECT)
        t.eq(r.returncode, 111, "a port in use: start exits 111", out(r))
        t.ok("unable to bind" in out(r), "and shows tcpserver's reason", out(r))
        held.close()
        q.control("submission-listen", "")

        # Dual stack: one tcpserver on [::] takes IPv4 as well.
        if os.path.exists("/proc/net/if_inet6") and open("/proc/sys/net/ipv6/bindv6only").read().strip() == "0":
            pd = free_port()
            q.control("smtpd-listen", "0.0.0.0:%d\n[::]:%d" % (pd, pd))
            r = ctl(q, "start", DIRECT)
            t.eq(r.returncode, 0, "dual stack: start (the old line's listener retired)", out(r))
            t.eq(listening(pd), {"[::]"}, "0.0.0.0:P and [::]:P: one socket on [::]")
            t.eq(listening(p), set(), "the listener of the old line is gone")
            t.ok(send(pd, q.name, "dual-v4-token") and delivered(q, "dual-v4-token"), "dual stack: IPv4 client served")
            t.ok(send(pd, q.name, "dual-v6-token", "::1") and delivered(q, "dual-v6-token"), "dual stack: IPv6 client served")
        else:
            t.skip("dual stack", "no IPv6 or bindv6only set")

        r = ctl(q, "stop", DIRECT)
        t.eq(r.returncode, 0, "direct: stop")
        t.ok(wait(lambda: not instance_procs(q), 10), "direct: nothing left", instance_procs(q))
    finally:
        cleanup(q, DIRECT)

if IS_ROOT:
    u = TestUser(unique_user("lst"))
    try:
        with Instance(t, name="single.example.test", mode="single", owner=u.name) as q:
            try:
                r = ctl(q, "start")
                t.eq(r.returncode, 0, "single-user: start with no listen files", out(r))
                t.eq(tcpservers(q), [], "single-user: no listener by default")
                ctl(q, "stop")
                p = free_port()
                q.control("smtpd-listen", "127.0.0.1:%d" % p)
                r = ctl(q, "start")
                t.eq(r.returncode, 0, "single-user: start with smtpd-listen", out(r))
                ts = tcpservers(q)
                t.ok(ts and all(proc_uid(x[0]) == u.uid for x in ts), "single-user: tcpserver runs as the owner", ts)
                t.ok(send(p, q.name, "single-token") and delivered(q, "single-token"), "single-user: a message goes through")
                t.eq(ctl(q, "stop").returncode, 0, "single-user: stop")
                t.ok(wait(lambda: not instance_procs(q), 10), "single-user: nothing left", instance_procs(q))
            finally:
                cleanup(q)
    finally:
        u.remove()
t.done()
