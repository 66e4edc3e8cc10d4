#!/usr/bin/env python3
# A large message (30 MB) signed by python3-dkim verifies (dkim=pass) in
# qmail-smtpd, is queued byte for byte, and qmail-smtpd's peak memory
# stays far below the message's size: the message is spooled in a file
# beyond SPOOL_MEM_MAX, and verified while it arrives. A 3 MB message
# peaks at the same size as the 30 MB one.
import hashlib, os, re, subprocess, sys, threading
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkimvlib import RSAKey, txt, message, sign, stuff, results, Capture  # noqa: E402
from nqtest import Tap, Instance  # noqa: E402
from remotelib import Dns  # noqa: E402
from smtpdlib import prepare  # noqa: E402

t = Tap()
key = RSAKey(1024)
d = Dns([txt("sel._domainkey.example.test", key.record()),
         txt("_dmarc.example.test", "v=DMARC1; p=none")])
cap = Capture()      # cat: keeps qmail-queue's side small


def run(q, msg):
    """(replies, peak RSS in kB of qmail-smtpd). The peak is read from
    /proc (VmHWM) once the message is accepted, before QUIT: the
    process's own memory, not what a fork from this test inherited."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TCPREMOTEIP": "192.0.2.10",
         "TCPLOCALIP": "127.0.0.1", "NORCPTCHECK": "1", "QMAILQUEUE": cap.prog}
    cmds = (b"EHLO client.test\r\nMAIL FROM:<joe@example.test>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n" +
            stuff(msg) + b".\r\n")
    p = subprocess.Popen([q.bin("qmail-smtpd")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=e)
    writer = threading.Thread(target=lambda: (p.stdin.write(cmds), p.stdin.flush()))
    writer.start()
    lines, hwm = [], None
    while True:
        ln = p.stdout.readline().decode("utf-8", "replace")
        if not ln:
            break
        lines.append(ln.rstrip())
        if len(lines) > 1 and lines[-2].startswith("354 "):
            with open("/proc/%d/status" % p.pid) as f:
                m = re.search(r"VmHWM:\s+(\d+)", f.read())
                hwm = int(m.group(1)) if m else None
            break
    writer.join(60)
    try:
        p.stdin.write(b"QUIT\r\n")
        p.stdin.close()
    except BrokenPipeError:
        pass
    p.stdout.read()
    p.wait(30)
    return "\n".join(lines), hwm


def body(mb):
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/0123456789ab\r\n"
    return (line * (mb * (1 << 20) // len(line))).decode()


try:
    d.start()
    with Instance(t) as q:
        prepare(q)          # state/smtpd, where the spool file goes
        q.control("dnsservers", d.server_line())
        peaks = []
        for mb in (3, 30):
            msg = sign(message(frm="joe@example.test", subject="%d MB" % mb, body=body(mb)), key, "example.test")
            text, peak = run(q, msg)
            peaks.append(peak)
            got = cap.take() or ""
            t.ok("\n250 2.0.0 ok" in text, "%d MB: accepted" % mb, text[-300:])
            r = results(got, "dkim")
            t.eq([x[0] for x in r], ["pass"], "%d MB: dkim=pass" % mb, r)
            sent = msg.replace(b"\r\n", b"\n")
            t.ok(got.endswith(sent.decode()) and
                 hashlib.sha256(got.split("\n\n", 1)[1].encode()).digest() ==
                 hashlib.sha256(sent.split(b"\n\n", 1)[1]).digest(), "%d MB: queued byte for byte" % mb)
        t.ok(peaks[1] and peaks[1] < 16 * 1024, "30 MB message: peak RSS %s kB, well below its size" % peaks[1])
        t.ok(peaks[0] and peaks[1] and peaks[1] - peaks[0] < 1024,
             "peak RSS flat: %s kB for 3 MB, %s kB for 30 MB" % tuple(peaks))
finally:
    d.stop()
t.done()
