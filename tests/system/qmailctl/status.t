#!/usr/bin/env python3
# qmailctl status (stat) shows, for qmail-send and an SMTP listener, the
# pid and uid of the process doing the work (qmail-send as qmails,
# tcpserver as qmaild), its uptime, and the last line of its log, both
# under daemontools and without it (direct mode).
# smoke
import os, pwd, re, shutil, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, IS_ROOT, wait, proc_uid
from ctl import ctl, cleanup, out, smtp_off, free_port, instance_procs

t = Tap()


def info(o, name):
    """(pid, uid, user, uptime) from the line '  NAME: pid P, uid U (USER), uptime N s (...)'."""
    m = re.search(r"^  %s: pid (\d+), uid (\d+) \(([^)]+)\), uptime (\d+) s \(\d\d:\d\d:\d\d\)$" % re.escape(name), o, re.M)
    return (int(m.group(1)), int(m.group(2)), m.group(3), int(m.group(4))) if m else None


def lastlog(o, name):
    m = re.search(r"^  %s: last log: (.*)$" % re.escape(name), o, re.M)
    return m.group(1) if m else None


def last_line(path):
    with open(path, "rb") as f:
        lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if l.strip()]
    line = lines[-1] if lines else ""
    # strip a TAI64N stamp: stat shows it as a local time instead
    return re.sub(r"^@[0-9a-f]{24} ", "", line)


def check(q, daemontools, env):
    tag = "daemontools" if daemontools else "direct"
    c = lambda v: ctl(q, v, env)
    smtp_off(q)
    port = free_port()
    q.control("smtpd-listen", "127.0.0.1:%d" % port)
    lname = "smtpd-127.0.0.1-%d" % port
    ids = q.role_ids()

    r = c("status")
    t.ok(info(out(r), "qmail-send") is None, "%s: nothing described before start" % tag, out(r))
    r = c("start")
    t.eq(r.returncode, 0, "%s: start" % tag, out(r))
    t.ok(wait(lambda: len(q.send_pids()) == 1, 10), "%s: qmail-send runs" % tag)
    logf = q.path("log/qmail-send/current")
    t.ok(wait(lambda: os.path.exists(logf) and "status:" in open(logf, errors="replace").read(), 10),
         "%s: qmail-send has logged" % tag)
    time.sleep(2.2)   # an uptime of at least 2 s

    r = c("status")
    o = out(r)
    t.eq(r.returncode, 0, "%s: status exits 0" % tag, o)
    send = info(o, "qmail-send")
    t.ok(send is not None, "%s: status describes qmail-send" % tag, o)
    if send:
        t.eq(send[0], q.send_pids()[0] if q.send_pids() else None, "%s: qmail-send's pid" % tag)
        t.eq(send[1], ids["qmails"][0], "%s: qmail-send's uid (qmails)" % tag)
        t.eq(send[2], pwd.getpwuid(ids["qmails"][0]).pw_name, "%s: qmail-send's user" % tag)
        t.ok(2 <= send[3] < 120, "%s: qmail-send's uptime in seconds" % tag, send)
    ll = lastlog(o, "qmail-send")
    want = last_line(logf)
    t.ok(ll is not None and want and ll.endswith(want), "%s: qmail-send's last log line" % tag, "%r vs %r" % (ll, want))

    lis = info(o, lname)
    t.ok(lis is not None, "%s: status describes the SMTP listener" % tag, o)
    if lis:
        with open("/proc/%d/comm" % lis[0]) as f:
            t.eq(f.read().strip(), "tcpserver", "%s: the listener's pid is tcpserver's" % tag)
        t.eq(lis[1], ids["qmaild"][0], "%s: the listener's uid (qmaild)" % tag)
        t.ok(2 <= lis[3] < 120, "%s: the listener's uptime" % tag, lis)
    llog = q.path("log/%s/current" % lname)
    t.ok(wait(lambda: os.path.exists(llog) and os.path.getsize(llog) > 0, 5), "%s: the listener has logged" % tag)
    ll = lastlog(o, lname)
    want = last_line(llog)
    t.ok(ll is not None and want and ll.endswith(want), "%s: the listener's last log line" % tag, "%r vs %r" % (ll, want))
    if daemontools and ll and shutil.which("tai64nlocal"):
        t.ok(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", ll), "%s: the stamp shown as local time" % tag, ll)

    # a new log line shows up in the next status
    with open(logf, "a") as f:
        f.write("status: a line written by the test\n")
    o = out(c("status"))
    t.eq(lastlog(o, "qmail-send"), "status: a line written by the test", "%s: status reads the log anew" % tag, o)

    r = c("stop")
    t.eq(r.returncode, 0, "%s: stop" % tag)
    r = c("status")
    t.eq(r.returncode, 3, "%s: status after stop exits 3" % tag)
    t.ok(info(out(r), "qmail-send") is None, "%s: no process described after stop" % tag, out(r))


modes = [(False, {"NQ_NO_DAEMONTOOLS": "1"})]
if shutil.which("svscan"):
    modes.insert(0, (True, None))
else:
    t.skip("status under daemontools", "daemontools is not installed")
for dt, env in modes:
    with Instance(t, name="status.example.test") as q:
        try:
            check(q, dt, env)
        finally:
            cleanup(q, env)
t.done()
