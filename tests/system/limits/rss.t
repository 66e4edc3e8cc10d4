#!/usr/bin/env python3
# Memory does not grow with the input: peak RSS at two input sizes 10x
# apart (a 1 MB and a 10 MB header line; a 1 MB and a 10 MB message) must
# stay within 1.5 x the smaller + 2 MB, for qmail-queue, qmail-local
# (Maildir and mbox), qmail-inject, and the bounce path (qmail-send,
# qmail-lspawn and qmail-clean while a 10 MB message bounces).
# Programs run once are measured by VmHWM just before they exit (see peak);
# the daemons by their VmHWM after each bounce.
import os, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT, proc_hwm_kb, proc_status

t = Tap()
NAME = "example.test"
MB = 1024 * 1024


def bound(small):
    return int(small * 1.5) + 2048


def make(path, size, kind):
    """A message file: kind 'header' has one header line of size bytes,
    'body' has size bytes of ordinary 76-column lines."""
    with open(path, "wb") as f:
        f.write(b"Subject: rss\n")
        if kind == "header":
            f.write(b"X-Long: ")
            chunk = b"h" * MB
            left = size
            while left > 0:
                f.write(chunk[:min(left, MB)])
                left -= MB
            f.write(b"\n\nshort body\n")
        else:
            f.write(b"\n")
            line = b"b" * 75 + b"\n"
            block = line * (MB // 76)
            left = size
            while left > 0:
                f.write(block[:min(left, len(block))])
                left -= len(block)
            f.write(b"\n")
    return path


def peak(cmd, stdin_path, stdout=None, cwd=None):
    """(exit code, peak RSS in kB, stderr tail) of cmd and its children.
    wait4's ru_maxrss would include the test's own Python (the forked
    child's memory before exec counts), so the program runs under strace,
    which holds every exit_group for a moment while VmHWM is read from
    /proc/PID/status of each traced process."""
    errf = tempfile.TemporaryFile()
    best = 0
    with open(stdin_path, "rb") as fin:
        p = subprocess.Popen(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=exit_group",
                              "-e", "inject=exit_group:delay_enter=150000"] + cmd,
                             stdin=fin, stdout=stdout if stdout is not None else subprocess.DEVNULL,
                             stderr=errf, cwd=cwd)
        while p.poll() is None:
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    st = proc_status(int(pid))
                    if st.get("TracerPid") == str(p.pid) and "VmHWM" in st:
                        best = max(best, int(st["VmHWM"].split()[0]))
            time.sleep(0.02)
    errf.seek(0)
    err = errf.read()[-2000:]
    return p.returncode, best, err


def compare(what, run_one, sizes=(MB, 10 * MB), kinds=("header", "body")):
    for kind in kinds:
        res = []
        for size in sizes:
            res.append(run_one(kind, size))
        (rc1, small, e1), (rc2, big, e2) = res
        t.diag("%s %s: %d kB at 1 MB, %d kB at 10 MB (exit %d, %d)" % (what, kind, small, big, rc1, rc2))
        t.ok(rc1 == 0 and rc2 == 0 or (rc1 == rc2 and rc1 in (100, 111)),
             "%s, %s 1/10 MB: same clean outcome (exit %d, %d)" % (what, kind, rc1, rc2), e1 + e2)
        t.ok(big <= bound(small), "%s, %s line/message of 10 MB: peak RSS %d kB <= %d kB" % (what, kind, big, bound(small)))


with Instance(t, name=NAME) as q:
    tmp = q.base
    files = {}
    for kind in ("header", "body"):
        for size in (MB, 10 * MB):
            files[(kind, size)] = make(os.path.join(tmp, "m-%s-%d" % (kind, size)), size, kind)

    def qq(kind, size):
        rfd, wfd = os.pipe()
        os.write(wfd, b"Fs@example.test\0Tx@example.test\0\0")
        os.close(wfd)
        try:
            return peak([q.bin("qmail-queue")], files[(kind, size)], stdout=rfd)
        finally:
            os.close(rfd)
    compare("qmail-queue", qq)

    def inject(kind, size):
        return peak([q.bin("qmail-inject"), "-f", "s@" + NAME, "x@" + NAME], files[(kind, size)])
    compare("qmail-inject", inject)

    home = os.path.join(tmp, "home")
    for sub in ("", "Maildir", "Maildir/tmp", "Maildir/new", "Maildir/cur"):
        os.makedirs(os.path.join(home, sub), 0o755 if not sub else 0o700, exist_ok=True)
    for dd in ("./Maildir/", "./Mailbox"):
        def local(kind, size):
            try:
                os.unlink(os.path.join(home, "Mailbox"))
            except FileNotFoundError:
                pass
            return peak([q.bin("qmail-local"), "root", home, "x", "", "", NAME, "s@" + NAME, dd],
                        files[(kind, size)], cwd=home)
        compare("qmail-local %s" % dd, local)

    # The bounce path: qmail-send and friends while a message bounces.
    q.write("alias/.qmail-snd", "./Maildir-snd/\n")
    q.maildirmake("alias/Maildir-snd")
    q.start()
    t.ok(q.wait(lambda: q.queue_count() == 0, 60), "the messages queued above are delivered first", q.qstat())
    daemons = ("qmail-send", "qmail-lspawn", "qmail-clean")
    hwm = {}
    for size in (MB, 10 * MB):
        before = q.maildir_count("alias/Maildir-snd")
        rfd, wfd = os.pipe()
        os.write(wfd, b"Fsnd@example.test\0Tnobody@example.test\0\0")
        os.close(wfd)
        with open(files[("body", size)], "rb") as fin:
            rc = subprocess.run([q.bin("qmail-queue")], stdin=fin, stdout=rfd).returncode
        os.close(rfd)
        t.eq(rc, 0, "queued a %d MB message for nobody@" % (size // MB))
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-snd") > before, 60), "its bounce arrives", q.logtext())
        t.ok(q.wait(lambda: q.queue_count() == 0, 30), "queue empty again", q.qstat())
        for d in daemons:
            vals = [proc_hwm_kb(p) or 0 for p in q.pids(d)]
            hwm[(d, size)] = max(vals) if vals else None
    for d in daemons:
        small, big = hwm[(d, MB)], hwm[(d, 10 * MB)]
        if small is None or big is None:
            t.ok(False, "%s ran through both bounces" % d, hwm)
            continue
        t.diag("%s VmHWM: %d kB after the 1 MB bounce, %d kB after the 10 MB one" % (d, small, big))
        t.ok(big <= bound(small), "%s: bouncing 10 MB keeps peak RSS %d kB <= %d kB" % (d, big, bound(small)))
t.done()
