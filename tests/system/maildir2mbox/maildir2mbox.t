#!/usr/bin/env python3
# maildir2mbox: MAILDIR's messages (new/ and cur/, oldest first) end up
# at the end of MAIL in mbox form -- From_ line from Return-Path, ">From"
# quoting, a blank line after each -- and leave the Maildir; Python's
# mailbox module reads them back; MAIL, MAILTMP, MAILDIR are required;
# old files in tmp/ are cleaned; memory does not grow with the message.
# smoke
import mailbox, os, shutil, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, run, peak_rss

t = Tap()
M2M = bin_("maildir2mbox")
base = tempfile.mkdtemp(prefix="nqt-m2m-")


def maildir(path, msgs):
    for s in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, s), exist_ok=True)
    for name, data in msgs:
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)


def env(d, **kw):
    e = {"PATH": "/usr/bin:/bin", "MAILDIR": os.path.join(d, "Maildir"), "MAIL": os.path.join(d, "mbox"),
         "MAILTMP": os.path.join(d, "mbox.tmp")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(kw)
    return e


try:
    d = os.path.join(base, "a")
    os.makedirs(d)
    maildir(os.path.join(d, "Maildir"), [
        ("new/1700000200.M1P1.host", b"Return-Path: <late@example.org>\nSubject: third\n\nFrom me\n>From you\n"),
        ("cur/1700000100.M1P2.host:2,S", b"Return-Path: <>\nSubject: second\n\nno newline at the end"),
        ("new/1700000000.M1P3.host", b"Subject: first\n\nbody one\n"),
        ("new/.hidden", b"not a message\n"),
        ("tmp/1600000000.M1P4.host", b"left by a crash\n"),
        ("tmp/1700000300.M1P5.host", b"being delivered now\n"),
    ])
    old = time.time() - 40 * 3600
    os.utime(os.path.join(d, "Maildir/tmp/1600000000.M1P4.host"), (old, old))
    with open(os.path.join(d, "mbox"), "wb") as f:
        f.write(b"From old@example.org Mon Jan  1 00:00:00 2024\nSubject: zero\n\nalready here\n\n")
    ino = os.stat(os.path.join(d, "mbox")).st_ino
    r = run([M2M], env=env(d))
    t.eq((r.returncode, r.stderr), (0, b""), "exit 0")
    data = open(os.path.join(d, "mbox"), "rb").read()
    want = (b"From old@example.org Mon Jan  1 00:00:00 2024\nSubject: zero\n\nalready here\n\n"
            b"From unknown Tue Nov 14 22:13:20 2023\nSubject: first\n\nbody one\n\n"
            b"From MAILER-DAEMON Tue Nov 14 22:15:00 2023\nReturn-Path: <>\nSubject: second\n\nno newline at the end\n\n"
            b"From late@example.org Tue Nov 14 22:16:40 2023\nReturn-Path: <late@example.org>\nSubject: third\n\n"
            b">From me\n>>From you\n\n")
    t.eq(data, want, "appended in delivery order, in mbox form")
    subj = [m["Subject"] for m in mailbox.mbox(os.path.join(d, "mbox"))]
    t.eq(subj, ["zero", "first", "second", "third"], "Python's mailbox reads the four messages")
    left = sorted(os.listdir(os.path.join(d, "Maildir/new")) + os.listdir(os.path.join(d, "Maildir/cur")))
    t.eq(left, [".hidden"], "messages removed from new/ and cur/; dot files are not messages")
    t.eq(sorted(os.listdir(os.path.join(d, "Maildir/tmp"))), ["1700000300.M1P5.host"],
         "tmp/: a file untouched for 36 hours is cleaned, a fresh one kept")
    t.ok(not os.path.exists(os.path.join(d, "mbox.tmp")), "no journal left")
    t.eq(os.stat(os.path.join(d, "mbox")).st_ino, ino, "MAIL appended in place (same file, so readers' locks hold)")
    r = run([M2M], env=env(d))
    t.ok(r.returncode == 0 and open(os.path.join(d, "mbox"), "rb").read() == want, "nothing new: MAIL unchanged")

    os.unlink(os.path.join(d, "mbox"))
    r = run([M2M], env=env(d))
    t.ok(r.returncode == 0 and os.stat(os.path.join(d, "mbox")).st_mode & 0o077 == 0,
         "empty Maildir, no MAIL yet: 0, MAIL made private")
    for var in ("MAIL", "MAILTMP", "MAILDIR"):
        e = env(d)
        del e[var]
        r = run([M2M], env=e)
        t.ok(r.returncode == 111 and var.encode() in r.stderr, "%s missing: 111" % var, r.stderr)
    r = run([M2M], env=env(d, MAILDIR=os.path.join(d, "nonexistent")))
    t.eq(r.returncode, 111, "MAILDIR missing: 111")

    # A file qmail's maildir2mbox left in MAILTMP is not a journal: ignored.
    e = os.path.join(base, "e")
    os.makedirs(e)
    maildir(os.path.join(e, "Maildir"), [("new/1700000000.M1P1.host", b"Subject: one\n\nx\n")])
    with open(os.path.join(e, "mbox.tmp"), "wb") as f:
        f.write(b"From x Mon Jan  1 00:00:00 2024\nold copy\n\n")
    r = run([M2M], env=env(e))
    t.ok(r.returncode == 0 and b"Subject: one" in open(os.path.join(e, "mbox"), "rb").read()
         and not os.path.exists(os.path.join(e, "mbox.tmp")), "an old MAILTMP that is not a journal is ignored")

    # Memory: a 1 MB and a 10 MB message, each with a 1 MB / 10 MB line.
    peaks = []
    for size in (1 << 20, 10 << 20):
        m = os.path.join(base, "rss%d" % size)
        os.makedirs(m)
        maildir(os.path.join(m, "Maildir"), [("new/1700000000.M1P1.host",
                                              b"Subject: big\n\n" + b"y" * size + b"\n" + b"From z\n" * (size // 7))])
        code, out, err, kb = peak_rss([M2M], b"", env(m))
        peaks.append(kb)
        t.ok(code == 0 and os.path.getsize(os.path.join(m, "mbox")) > 2 * size, "%d MB message moved" % (size >> 20), err)
        shutil.rmtree(m)
    t.ok(peaks[0] and peaks[1] and peaks[1] <= peaks[0] + 1024,
         "peak RSS %r kB for 10 MB vs %r kB for 1 MB" % (peaks[1], peaks[0]))
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
