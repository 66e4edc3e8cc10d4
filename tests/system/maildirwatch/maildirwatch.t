#!/usr/bin/env python3
# maildirwatch: clears the screen and lists each message of MAILDIR/new,
# oldest first: "FROM <sender> TO <recipient>", the From field in bold,
# Subject and the start of the body; control characters from messages
# are never sent to the terminal; files left in tmp/ for 36 hours go.
# Its memory does not depend on the messages: the peak RSS with a 10 MB
# header field and a 10 MB body is within 1 MB of the peak with 1 MB ones.
import os, select, shutil, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, run, big_message
import nqtest

t = Tap()
W = bin_("maildirwatch")
base = tempfile.mkdtemp(prefix="nqt-mw-")
try:
    md = os.path.join(base, "Maildir")
    for s in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(md, s))
    msgs = {
        "new/1700000100.M1P1.host": b"Return-Path: <b@example.org>\nDelivered-To: me@example.test\n"
                                    b"From: Bee <b@example.org>\nSubject: second\n\nbody two\n",
        "new/1700000000.M1P2.host": b"Return-Path: <a@example.org>\nDelivered-To: me@example.test\n"
                                    b"From: A \x1b]0;pwned\x07 <a@example.org>\nSubject: first \x1b[2J\n\n"
                                    + b"long body " * 40 + b"\n",
        "cur/1600000000.M1P3.host:2,S": b"Subject: already read\n\nold\n",
        "tmp/1500000000.M1P4.host": b"stale\n",
    }
    for n, data in msgs.items():
        with open(os.path.join(md, n), "wb") as f:
            f.write(data)
    old = time.time() - 40 * 3600
    os.utime(os.path.join(md, "tmp/1500000000.M1P4.host"), (old, old))
    p = subprocess.Popen([W], stdout=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "MAILDIR": md})
    out = b""
    end = time.time() + 10
    while time.time() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
        elif out:
            break
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    t.ok(out.startswith(b"\x1b[;H\x1b[;J"), "the screen is cleared first", out[:40])
    body = out[len(b"\x1b[;H\x1b[;J"):]
    t.ok(b"\x1b" not in body.replace(b"\x1b[1m", b"").replace(b"\x1b[0m", b""),
         "no escape sequence from a message reaches the terminal", body)
    a, b_ = body.find(b"FROM <a@example.org> TO <me@example.test>\n"), body.find(b"FROM <b@example.org> TO <me@example.test>\n")
    t.ok(0 <= a < b_, "both messages, oldest first, with the envelope", body)
    t.ok(b"\x1b[1mFrom: Bee <b@example.org>\x1b[0m\n" in body, "the From field in bold", body)
    t.ok(b"second/body two/" in body, "Subject then body", body)
    t.ok(b"already read" not in body, "cur/ is not new mail")
    first = body[a:b_].split(b"\n")
    t.ok(len(first) > 2 and first[2].startswith(b"first /[2J/long body") and len(first[2]) == 158,
         "the text is cut at 158 bytes", first)
    t.ok(not os.path.exists(os.path.join(md, "tmp/1500000000.M1P4.host")), "a stale tmp/ file was cleaned")

    def peak(size):
        """maildirwatch's VmHWM (kB) after it has shown a Maildir holding
        a message with a size-byte header field and one with a size-byte body."""
        m = os.path.join(base, "M%d" % size)
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(m, sub))
        for i, kind in enumerate(("header", "body")):
            with open(os.path.join(m, "new", "170000000%d.M1P%d.host" % (i, i)), "wb") as f:
                f.write(b"Return-Path: <s@example.org>\nDelivered-To: me@example.test\n" + big_message(size, kind))
        p = subprocess.Popen([W], stdout=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "MAILDIR": m})
        got, kb, end = b"", None, time.time() + 20
        # the summary ends with the second message's text; then it sleeps
        while time.time() < end and got.count(b"FROM <") < 2:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                got += chunk
        time.sleep(0.3)
        kb = nqtest.proc_hwm_kb(p.pid)
        p.kill()
        p.wait(10)
        return kb, got.count(b"FROM <")

    (k1, n1), (k2, n2) = peak(1 << 20), peak(10 << 20)
    t.ok(n1 == n2 == 2 and k1 and k2 and k2 <= k1 + 1024,
         "bounded memory: peak %r kB with 10 MB messages, %r kB with 1 MB ones" % (k2, k1), (n1, n2))
    r = run([W], env={"PATH": "/usr/bin:/bin", "MAILDIR": os.path.join(base, "none")})
    t.eq(r.returncode, 111, "MAILDIR missing: 111")
    r = run([W], env={"PATH": "/usr/bin:/bin"})
    t.eq(r.returncode, 111, "MAILDIR not set: 111")
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
