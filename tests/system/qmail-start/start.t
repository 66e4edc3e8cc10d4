#!/usr/bin/env python3
# qmail-start: the daemons under their uids (root instance: qmail-send as
# qmails, qmail-lspawn as root, qmail-clean as qmailq, the logger as
# qmaill), qmail-send's descriptor layout (0 log, 1/2 lspawn, 3/4 rspawn
# or /dev/null, 5/6 clean), the log through the logger, program names
# DIR/bin/..., defaultdelivery passed on (or control/defaultdelivery),
# everything gone after SIGTERM, a second qmail-send refused, errors.
# smoke
import os, pwd, re, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT, wait

t = Tap()


def session_left(q):
    """pids still in the session qmail-start began (whatever they are)."""
    out = []
    for pid in os.listdir("/proc"):
        try:
            st = open("/proc/%s/stat" % pid).read()
            if int(st[st.rindex(")") + 2:].split()[3]) == q.proc.pid:
                out.append(int(pid))
        except (OSError, ValueError):
            pass
    return out


def procs_of(q):
    """(pid, exe, uid, argv) of qmail-send (the session leader) and its children."""
    out = []
    sid = q.proc.pid
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            st = open("/proc/%s/stat" % pid).read()
            fields = st[st.rindex(")") + 2:].split()
            if int(fields[3]) != sid:
                continue
            if int(fields[1]) not in (sid, os.getpid()) and int(pid) != sid:
                continue   # a helper of a daemon, not a daemon
            exe = os.readlink("/proc/%s/exe" % pid)
            uid = int(open("/proc/%s/status" % pid).read().split("Uid:")[1].split()[0])
            argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")[:-1]
        except (OSError, ValueError, IndexError):
            continue
        out.append((int(pid), exe, uid, [a.decode() for a in argv]))
    return out


def by_exe(procs, exe):
    return [p for p in procs if p[1] == exe]


with Instance(t, name="example.test") as q:
    if os.path.exists(q.bin("qmail-rspawn")):
        os.unlink(q.bin("qmail-rspawn"))   # descriptors 3 and 4 without it; remote.t covers it
    tmp = tempfile.mkdtemp(prefix="nqt-log-")
    os.chmod(tmp, 0o777)
    logfile = os.path.join(tmp, "current")
    script = os.path.join(tmp, "logger")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec cat >> \"$1\"\n")
    os.chmod(script, 0o755)
    q.start(logger=[script, logfile])
    t.ok(wait(lambda: os.path.exists(logfile) and "status: local 0/10 remote 0/20" in open(logfile).read(), 5),
         "the log goes through the logger")
    t.ok("status:" not in q.logtext(), "and not to qmail-start's output")
    time.sleep(0.3)
    ps = procs_of(q)
    send = by_exe(ps, q.bin("qmail-send"))
    lspawn = by_exe(ps, q.bin("qmail-lspawn"))
    clean = by_exe(ps, q.bin("qmail-clean"))
    cat = [p for p in ps if p[1].endswith("/cat")]
    t.eq((len(send), len(lspawn), len(clean), len(cat)), (1, 1, 1, 1), "one of each daemon and the logger", ps)
    t.ok(send and send[0][0] == q.proc.pid, "qmail-start became qmail-send (same process)")
    t.ok(send and send[0][3][0] == q.bin("qmail-send"), "argv[0] is DIR/bin/qmail-send")
    t.ok(lspawn and lspawn[0][3] == [q.bin("qmail-lspawn"), "./Maildir/"], "qmail-lspawn gets defaultdelivery",
         lspawn and lspawn[0][3])
    if q.mode == "root":
        uid = lambda n: pwd.getpwnam(n).pw_uid
        t.eq(send[0][2] if send else None, uid("qmails"), "qmail-send runs as qmails")
        t.eq(lspawn[0][2] if lspawn else None, 0, "qmail-lspawn runs as root")
        t.eq(clean[0][2] if clean else None, uid("qmailq"), "qmail-clean runs as qmailq")
        t.eq(cat[0][2] if cat else None, uid("qmaill"), "the logger runs as qmaill")
    if send:
        pid = send[0][0]
        fds = {}
        for fd in range(8):
            try:
                fds[fd] = os.readlink("/proc/%d/fd/%d" % (pid, fd))
            except OSError:
                fds[fd] = None
        t.ok(all(fds[i] and fds[i].startswith("pipe:") for i in (0, 1, 2, 5, 6)), "descriptors 0,1,2,5,6 are pipes", fds)
        t.eq((fds[3], fds[4]), ("/dev/null", "/dev/null"), "3 and 4 held by /dev/null without qmail-rspawn")
        # each pipe connects to the right daemon
        def ino(p, fd):
            try:
                return os.readlink("/proc/%d/fd/%d" % (p, fd))
            except OSError:
                return None
        if lspawn and clean and cat:
            t.eq([fds[1], fds[2]], [ino(lspawn[0][0], 0), ino(lspawn[0][0], 1)], "1/2 are qmail-lspawn's 0/1")
            t.eq([fds[5], fds[6]], [ino(clean[0][0], 0), ino(clean[0][0], 1)], "5/6 are qmail-clean's 0/1")
            t.eq(fds[0], ino(cat[0][0], 0), "0 is the logger's input")
    q.queue("Subject: x\n\nx\n", "joe@far.test", ["postmaster@example.test"])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "delivers")

    # a second qmail-send is refused and leaves nothing behind
    before = set(q.pids("qmail-lspawn") + q.pids("qmail-clean"))
    r = subprocess.run([q.bin("qmail-start"), "./Maildir/"], capture_output=True, timeout=10, cwd=q.dir,
                       stdin=subprocess.DEVNULL)
    t.eq(r.returncode, 111, "second qmail-start: exit 111")
    t.ok(b"alert: cannot start: qmail-send is already running" in r.stdout, "says why", r.stdout + r.stderr)
    t.ok(wait(lambda: set(q.pids("qmail-lspawn") + q.pids("qmail-clean")) <= before, 5), "its daemons exited with it",
         (before, q.pids("qmail-lspawn") + q.pids("qmail-clean")))

    q.send_pid_signal(signal.SIGTERM)
    t.ok(q.proc.wait(10) == 0, "SIGTERM: exit 0")
    t.ok(wait(lambda: not session_left(q), 5), "every daemon and the logger exited", session_left(q))
    t.ok(open(logfile).read().rstrip().endswith("status: exiting"), "logger got everything")

    # without defaultdelivery: control/defaultdelivery
    q.control("defaultdelivery", "./Mailbox")
    q.proc = subprocess.Popen([q.bin("qmail-start")], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)
    t.ok(wait(lambda: len(q.pids("qmail-lspawn")) == 1, 5), "started without arguments")
    lp = q.pids("qmail-lspawn")
    argv = open("/proc/%d/cmdline" % lp[0], "rb").read().split(b"\0")[:-1] if lp else []
    t.eq(argv[1:], [b"./Mailbox"], "control/defaultdelivery passed on")
    q.stop()

    # errors
    if IS_ROOT and q.mode == "root":
        os.chmod(q.bin("qmail-start"), 0o755)   # installed 0700: let nobody try
        r = subprocess.run([q.bin("qmail-start"), "./Maildir/"], capture_output=True, timeout=10,
                           preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
        t.eq(r.returncode, 111, "not root in a root instance: exit 111")
        t.ok(b"qmail-start: must be run as root" in r.stderr, "says so", r.stderr)
        os.chmod(q.bin("qmail-start"), 0o700)
    os.rename(q.path("users/ids"), q.path("users/ids.away"))
    r = subprocess.run([q.bin("qmail-start"), "./Maildir/"], capture_output=True, timeout=10)
    t.ok(r.returncode == 111 and b"qmail-start: unable to read" in r.stderr, "missing users/ids: exit 111", r.stderr)
    os.rename(q.path("users/ids.away"), q.path("users/ids"))
    os.unlink(logfile)
    os.unlink(script)
    os.rmdir(tmp)
t.done()
