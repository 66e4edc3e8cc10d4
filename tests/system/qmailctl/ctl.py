"""Helpers shared by the qmailctl tests (not a test itself).

exercise() drives one started-or-not instance through qmailctl's verbs and
checks what each one does to the processes and files of the instance;
smtp_off(), free_port() and listening() serve the tests of the SMTP
listeners."""
import os, pwd, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import run, wait, proc_exe, proc_stat, proc_uid, IS_ROOT


def ctl(q, verb, env_extra=None, user=None):
    env = dict(os.environ)
    env.pop("NQMAIL_HOME", None)
    if env_extra:
        env.update(env_extra)
    return run([q.bin("qmailctl"), verb], env=env, user=user or q.as_owner(), timeout=120)


def smtp_off(q):
    """Turn the SMTP listeners off (empty *-listen files): a root instance
    would otherwise listen on every address on 25, 587 and 465, which
    parallel tests could not share."""
    for k in ("smtpd", "submission", "smtps"):
        q.control(k + "-listen", "")


def free_port(addr="127.0.0.1"):
    import socket
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((addr, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def listening(port):
    """The local addresses with a listening TCP socket on port, from
    /proc/net/tcp and tcp6, as "a.b.c.d" and "[v6]" strings."""
    import ipaddress
    found = set()
    for f, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] != "0A":   # LISTEN
                continue
            hexaddr, hexport = parts[1].split(":")
            if int(hexport, 16) != port:
                continue
            raw = bytes.fromhex(hexaddr)
            if v6:
                # four 32-bit words, each in host (little-endian) order
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                found.add("[%s]" % ipaddress.IPv6Address(raw))
            else:
                found.add(str(ipaddress.IPv4Address(raw[::-1])))
    return found


def out(r):
    return (r.stdout + r.stderr).decode("utf-8", "replace")


def _link(pid, what):
    try:
        return os.readlink("/proc/%d/%s" % (pid, what))
    except OSError:
        return ""


def instance_procs(q):
    """Live processes that belong to the instance: a program from DIR/bin,
    or svscan/supervise/multilog working in DIR."""
    top = os.path.realpath(q.dir)
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        pid = int(p)
        st = proc_stat(pid)
        if not st or st["state"].startswith("Z"):
            continue
        exe, cwd = _link(pid, "exe"), _link(pid, "cwd")
        if exe.startswith(top + "/bin/") or \
           (st["comm"] in ("svscan", "supervise", "multilog", "tcpserver") and (cwd == top or cwd.startswith(top + "/"))):
            found.append((pid, st["comm"], exe))
    return found


def svscan_pid(q):
    try:
        with open(q.path("service/.svscan.pid")) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def state(pid):
    st = proc_stat(pid)
    return st["state"] if st else None


def exercise(t, q, daemontools, env_extra=None):
    """Every verb, in order, on instance q (not yet started)."""
    tag = "daemontools" if daemontools else "direct"
    c = lambda verb: ctl(q, verb, env_extra)
    smtp_off(q)
    ids = q.role_ids()

    r = c("stat")
    t.eq(r.returncode, 3, "%s: stat before start exits 3" % tag)
    t.ok("down" in out(r), "%s: stat before start says down" % tag, out(r))

    r = c("start")
    t.eq(r.returncode, 0, "%s: start exits 0" % tag)
    if r.returncode != 0:
        t.diag(out(r))
    t.ok(wait(lambda: len(q.send_pids()) == 1, 10), "%s: one qmail-send runs" % tag)
    sends = q.send_pids()
    if sends:
        t.eq(proc_uid(sends[0]), ids["qmails"][0], "%s: qmail-send runs as qmails' uid" % tag)
    if daemontools:
        sv = svscan_pid(q)
        t.ok(sv is not None, "%s: svscan runs, pid in service/.svscan.pid" % tag)
        if sv:
            with open("/proc/%d/cmdline" % sv, "rb") as f:
                t.ok(os.path.realpath(q.dir).encode() + b"/service" in f.read(), "svscan watches DIR/service")
            t.eq(proc_stat(sv)["sid"], sv, "svscan leads a session of its own")
        names = [p[1] for p in instance_procs(q)]
        t.ok("multilog" in names and names.count("supervise") == 2, "supervise (service, log) and multilog run", names)
        logf = q.path("log/qmail-send/current")
        t.ok(wait(lambda: os.path.exists(logf) and os.path.getsize(logf) > 0, 10), "multilog writes log/qmail-send/current")
        if os.path.exists(logf):
            with open(logf, "rb") as f:
                t.ok(f.read().startswith(b"@4000"), "log lines carry TAI64N stamps")
            for m in instance_procs(q):
                if m[1] == "multilog":
                    t.eq(proc_uid(m[0]), ids["qmaill"][0], "multilog runs as qmaill's uid")
    else:
        t.ok(svscan_pid(q) is None, "direct: no svscan")
        t.ok(os.path.exists(q.path("service/qmail-send/direct.pid")), "direct: pid file service/qmail-send/direct.pid")
        logf = q.path("log/qmail-send/current")
        t.ok(os.path.exists(logf), "direct: log appended to log/qmail-send/current")

    r = c("stat")
    t.eq(r.returncode, 0, "%s: stat exits 0 when up" % tag)
    o = out(r)
    t.ok("qmail-send: up" in o, "%s: stat says qmail-send is up" % tag, o)
    send_line = [l for l in o.splitlines()
                 if len(l.split()) >= 5 and os.path.basename(l.split()[4]) == "qmail-send"]
    uname = pwd.getpwuid(ids["qmails"][0]).pw_name
    t.ok(send_line and send_line[0].split()[2].startswith(uname[:8])
         and send_line[0].split()[3] == str(ids["qmails"][0]),
         "%s: stat shows qmail-send's user and uid" % tag, o)
    t.ok("messages in queue:" in o, "%s: stat shows the queue" % tag, o)

    r = c("status")
    t.eq(r.returncode, 0, "%s: status is another name for stat" % tag)

    # flush: the timeout table is emptied, qmail-send keeps running
    tcpto = q.path("queue/lock/tcpto")
    with open(tcpto, "wb") as f:
        f.write(b"\x01" * 1024)
    r = c("flush")
    t.eq(r.returncode, 0, "%s: flush exits 0" % tag)
    t.eq(os.path.getsize(tcpto), 0, "%s: flush cleared queue/lock/tcpto" % tag)
    t.eq(q.send_pids(), sends, "%s: qmail-send survives ALRM" % tag)
    for verb in ("doqueue", "alrm"):
        t.eq(c(verb).returncode, 0, "%s: %s exits 0" % (tag, verb))

    r = c("pause")
    t.eq(r.returncode, 0, "%s: pause exits 0" % tag)
    t.ok(sends and wait(lambda: state(sends[0]) == "T", 5), "%s: pause stops qmail-send" % tag)
    r = c("cont")
    t.eq(r.returncode, 0, "%s: cont exits 0" % tag)
    t.ok(sends and wait(lambda: state(sends[0]) in ("S", "R", "D"), 5), "%s: cont lets it run" % tag)

    r = c("hup")
    t.eq(r.returncode, 0, "%s: hup exits 0" % tag)
    time.sleep(0.3)
    t.eq(q.send_pids(), sends, "%s: qmail-send survives HUP" % tag)

    r = c("queue")
    t.eq(r.returncode, 0, "%s: queue exits 0" % tag)
    t.ok("messages in queue: 0" in out(r), "%s: queue runs qmail-qstat" % tag, out(r))

    r = c("restart")
    t.eq(r.returncode, 0, "%s: restart exits 0" % tag)
    if r.returncode:
        t.diag(out(r))
    t.ok(wait(lambda: len(q.send_pids()) == 1 and q.send_pids() != sends, 10),
         "%s: restart runs a new qmail-send" % tag, "%r -> %r" % (sends, q.send_pids()))

    r = c("stop")
    t.eq(r.returncode, 0, "%s: stop exits 0" % tag)
    t.ok(wait(lambda: not instance_procs(q), 10), "%s: nothing of the instance runs after stop" % tag,
         instance_procs(q))
    t.ok(svscan_pid(q) is None and not os.path.exists(q.path("service/.svscan.pid")), "%s: no svscan after stop" % tag)
    t.ok(not os.path.exists(q.path("service/qmail-send/direct.pid")), "%s: no pid file after stop" % tag)
    r = c("stat")
    t.eq(r.returncode, 3, "%s: stat after stop exits 3" % tag)
    r = c("stop")
    t.eq(r.returncode, 0, "%s: stop when stopped is harmless" % tag)


def cleanup(q, env_extra=None):
    """Stop whatever a failed test left running."""
    try:
        ctl(q, "stop", env_extra)
    except Exception:
        pass
    for pid, comm, exe in instance_procs(q):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
