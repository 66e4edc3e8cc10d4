#!/usr/bin/env python3
# qmail-local: mbox delivery: From_ line, >From quoting, blank line,
# appending, locking, truncation after a failed write.
import fcntl, os, re, resource, signal, stat, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient, MESSAGE
from nqtest import Tap

t = Tap()
r = Recipient("mb")
FROM_RE = r"From %s (Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d \d{4}\n"
try:
    # 1. defaultdelivery ./Mailbox
    rc, out, err = r.deliver(MESSAGE, default="./Mailbox")
    t.eq((rc, out), (0, "did 1+0+0\n"), "delivered to ./Mailbox")
    box = r.read("Mailbox").decode()
    first, rest = box.split("\n", 1)
    t.ok(re.fullmatch(FROM_RE % re.escape("sender@example.org"), first + "\n"), "From_ line: sender and date", first)
    want = ("Return-Path: <sender@example.org>\nDelivered-To: %s@example.test\n" % r.name +
            "From: a@example.org\nTo: b@example.test\nSubject: test\n\nline one\n"
            ">From the start\n>>From quoted\nlast line\n\n")
    t.eq(rest, want, ">From quoting and a blank line at the end")
    st = os.stat(r.path("Mailbox"))
    t.eq((st.st_uid, stat.S_IMODE(st.st_mode)), (r.uid, 0o600), "new mbox owned by the user, mode 0600")

    # 2. appending a second message; bounce sender; no final newline
    rc, out, err = r.deliver("Subject: two\n\nno newline at end", sender="", default="./Mailbox")
    box2 = r.read("Mailbox").decode()
    t.ok(box2.startswith(box), "first message kept")
    second = box2[len(box):]
    t.ok(re.match(FROM_RE % "MAILER-DAEMON", second), "empty sender: From MAILER-DAEMON", second[:80])
    t.ok(second.endswith("Return-Path: <>\nDelivered-To: %s@example.test\nSubject: two\n\nno newline at end\n\n" % r.name),
         "missing newline added, then the blank line", second)

    # 3. blanks in the sender do not break the From_ line
    r.unlink("Mailbox")
    rc, out, err = r.deliver("x\n", sender="a b\tc@d", default="./Mailbox")
    t.ok(r.read("Mailbox").decode().startswith("From a-b-c@d "), "blanks in sender become -")

    # 4. a lock held by someone else: qmail-local waits for it
    r.unlink("Mailbox")
    r.write("Mailbox", "")
    fd = os.open(r.path("Mailbox"), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    p = r.deliver("Subject: locked\n\nbody\n", default="./Mailbox", popen=True)
    time.sleep(1.0)
    t.eq(p.poll(), None, "waits while the mbox is flock()ed")
    t.eq(os.path.getsize(r.path("Mailbox")), 0, "nothing written while locked")
    fcntl.flock(fd, fcntl.LOCK_UN)
    t.eq(p.wait(20), 0, "delivers once the lock is released")
    os.close(fd)
    # the same with an fcntl (POSIX) lock, as other Debian mail readers take,
    # held by another process
    holder = subprocess.Popen([sys.executable, "-c",
                               "import fcntl,os,sys,time\nfd=os.open(sys.argv[1],os.O_RDWR)\nfcntl.lockf(fd,fcntl.LOCK_EX)\n"
                               "print('locked',flush=True)\ntime.sleep(1.5)\n", r.path("Mailbox")],
                              stdout=subprocess.PIPE)
    holder.stdout.readline()
    size = os.path.getsize(r.path("Mailbox"))
    t0 = time.time()
    rc, out, err = r.deliver("Subject: posix\n\nbody\n", default="./Mailbox")
    holder.wait()
    t.ok(rc == 0 and time.time() - t0 >= 1.0, "waits for an fcntl lock too", "rc %d after %.2fs" % (rc, time.time() - t0))
    t.ok(os.path.getsize(r.path("Mailbox")) > size, "delivered after the fcntl lock")

    # 5. a write that fails half-way: the mbox is truncated back
    r.unlink("Mailbox")
    r.write("Mailbox", "x" * 1000)
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    big = "Subject: big\n\n" + ("y" * 99 + "\n") * 100
    rc, out, err = r.deliver(big, default="./Mailbox", extra_pre=limit)
    t.eq(rc, 111, "failed write: exit 111")
    t.ok("Unable to write ./Mailbox" in out, "reason names the mbox", out)
    t.eq(r.read("Mailbox"), b"x" * 1000, "mbox truncated back to its old length")

    # 6. /dev/null as an mbox line discards the message successfully
    r.write(".qmail", "/dev/null\n")
    rc, out, err = r.deliver(MESSAGE)
    t.eq((rc, out), (0, "did 1+0+0\n"), "/dev/null accepted")

    # 7. an mbox that cannot be opened: temporary failure
    r.write(".qmail", "/proc/forbidden/mbox\n")
    rc, out, err = r.deliver(MESSAGE)
    t.ok(rc == 111 and "Unable to open /proc/forbidden/mbox" in out, "unopenable mbox: 111 with reason", out)
finally:
    r.remove()
t.done()
