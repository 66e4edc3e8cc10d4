#!/usr/bin/env python3
# The issue's "contract used by outside checks", followed literally:
# make setup PREFIX=DIR, DIR/bin/config-fast NAME, DIR/alias/.qmail-x with
# ./Maildir/, DIR/bin/qmailctl start, DIR/bin/qmail-inject, the message in
# DIR/alias/Maildir/new/, qmail-send running as the program DIR/bin/qmail-send,
# qmail-qstat's "messages in queue: 0", qmailctl flush/cdb/restart/stop,
# qmail-newu compiling DIR/users/assign.
import os, pwd, shutil, signal, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, run, wait, TOP, BUILD, IS_ROOT, proc_exe, proc_uid

t = Tap()
NAME = "contract.test"
base = tempfile.mkdtemp(prefix="nqt-")
os.chmod(base, 0o755)
DIR = os.path.join(base, "q")


def bin(p):
    return os.path.join(DIR, "bin", p)


def instance_pids():
    """Every process whose program or working directory is inside DIR."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            exe = os.readlink("/proc/%s/exe" % pid)
            cwd = os.readlink("/proc/%s/cwd" % pid)
        except OSError:
            continue
        if exe.startswith(DIR + "/") or cwd == DIR or cwd.startswith(DIR + "/"):
            out.append(int(pid))
    return out


def maildir_new():
    d = os.path.join(DIR, "alias/Maildir/new")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


try:
    b = os.path.relpath(BUILD, TOP) if BUILD.startswith(TOP + "/") else BUILD
    r = run(["make", "-C", TOP, "setup", "PREFIX=" + DIR, "B=" + b], timeout=300)
    t.eq(r.returncode, 0, "make setup PREFIX=DIR")
    if r.returncode:
        t.diag((r.stdout + r.stderr).decode(errors="replace"))
    for sub in ("bin", "control", "queue", "alias", "users", "boot", "doc", "man"):
        t.ok(os.path.isdir(os.path.join(DIR, sub)), "DIR/%s exists" % sub)
    t.ok(os.path.isdir(os.path.join(DIR, "alias/Maildir/new")), "DIR/alias/Maildir/ created by setup")
    if IS_ROOT:
        st = os.stat(bin("qmail-queue"))
        t.ok(st.st_mode & 0o4000 and st.st_uid == pwd.getpwnam("qmailq").pw_uid,
             "qmail-queue is set-uid qmailq")
        t.eq(os.stat(DIR).st_mode & 0o7777, 0o755, "DIR is 0755")

    r = run([bin("config-fast"), NAME])
    t.eq(r.returncode, 0, "config-fast NAME")
    for f in ("me", "locals", "rcpthosts", "defaultdomain", "plusdomain"):
        p = os.path.join(DIR, "control", f)
        t.ok(os.path.exists(p) and NAME in open(p).read(), "control/%s names %s" % (f, NAME))
    for a in ("postmaster", "mailer-daemon", "root"):
        t.ok(os.path.exists(os.path.join(DIR, "alias/.qmail-" + a)), "alias/.qmail-%s exists" % a)

    qx = os.path.join(DIR, "alias/.qmail-x")
    with open(qx, "w") as f:
        f.write("./Maildir/\n")
    os.chmod(qx, 0o644)
    if IS_ROOT:
        pw = pwd.getpwnam("alias")
        os.chown(qx, pw.pw_uid, pw.pw_gid)

    # This test is about the local path: no listener on the machine's
    # public addresses (empty listen files mean "off").
    for f in ("smtpd-listen", "submission-listen", "smtps-listen", "pop3-listen", "pop3s-listen"):
        open(os.path.join(DIR, "control", f), "w").close()
    r = run([bin("qmailctl"), "start"], timeout=60)
    t.eq(r.returncode, 0, "qmailctl start")
    if r.returncode:
        t.diag((r.stdout + r.stderr).decode(errors="replace"))

    def sends():
        return [p for p in instance_pids() if proc_exe(p) == bin("qmail-send")]
    t.ok(wait(sends, 20), "qmail-send runs as the program DIR/bin/qmail-send")
    if IS_ROOT and sends():
        t.eq(proc_uid(sends()[0]), pwd.getpwnam("qmails").pw_uid, "qmail-send runs as qmails")

    r = run([bin("qmail-inject")], input="To: x@%s\nSubject: contract\n\ncontract-token-1\n" % NAME)
    t.eq(r.returncode, 0, "qmail-inject exits 0")
    t.ok(wait(lambda: len(maildir_new()) >= 1, 30), "message lands in DIR/alias/Maildir/new/")
    got = b""
    for f in maildir_new():
        got += open(os.path.join(DIR, "alias/Maildir/new", f), "rb").read()
    t.ok(b"contract-token-1" in got, "the message's body is in the Maildir file")

    def qstat():
        return run([bin("qmail-qstat")]).stdout.decode(errors="replace")
    t.ok(wait(lambda: "messages in queue: 0" in qstat(), 20), "qmail-qstat prints 'messages in queue: 0'", qstat())

    # qmail-newu compiles users/assign: a virtual user v routed to alias's home.
    pw = pwd.getpwnam("alias") if IS_ROOT else pwd.getpwuid(os.getuid())
    vhome = os.path.join(DIR, "alias")
    with open(os.path.join(DIR, "users/assign"), "w") as f:
        f.write("=virtual:%s:%d:%d:%s:-:vx:\n.\n" % (pw.pw_name, pw.pw_uid, pw.pw_gid, vhome))
    r = run([bin("qmail-newu")])
    t.eq(r.returncode, 0, "qmail-newu compiles users/assign")
    t.ok(os.path.exists(os.path.join(DIR, "users/cdb")), "users/cdb exists")
    vq = os.path.join(DIR, "alias/.qmail-vx")
    with open(vq, "w") as f:
        f.write("./Maildir/\n")
    os.chmod(vq, 0o644)
    if IS_ROOT:
        os.chown(vq, pw.pw_uid, pw.pw_gid)
    r = run([bin("qmail-inject")], input="To: virtual@%s\n\ncontract-token-virtual\n" % NAME)
    t.eq(r.returncode, 0, "qmail-inject to the virtual user")

    def has(tok):
        for f in maildir_new():
            if tok in open(os.path.join(DIR, "alias/Maildir/new", f), "rb").read():
                return True
        return False
    t.ok(wait(lambda: has(b"contract-token-virtual"), 30), "users/assign routes virtual@NAME to .qmail-vx")

    for verb in ("flush", "cdb"):
        r = run([bin("qmailctl"), verb], timeout=60)
        t.eq(r.returncode, 0, "qmailctl %s exits 0" % verb, )
    old = sends()
    r = run([bin("qmailctl"), "restart"], timeout=60)
    t.eq(r.returncode, 0, "qmailctl restart exits 0")
    t.ok(wait(lambda: sends() and sends() != old, 20), "qmail-send runs again after restart (new pid)")
    r = run([bin("qmail-inject")], input="To: x@%s\n\ncontract-token-2\n" % NAME)
    t.ok(wait(lambda: has(b"contract-token-2"), 30), "delivery works after restart")
    r = run([bin("qmailctl"), "stop"], timeout=60)
    t.eq(r.returncode, 0, "qmailctl stop exits 0")
    t.ok(wait(lambda: not sends(), 20), "qmail-send gone after stop")
finally:
    # Whatever this test started inside DIR (supervise, svscan, multilog,
    # the daemons) is stopped by pid.
    for _ in range(3):
        pids = instance_pids()
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.3)
    if not os.environ.get("NQ_KEEP"):
        shutil.rmtree(base, ignore_errors=True)
t.done()
