#!/usr/bin/env python3
# qmail-send and remote recipients. Without qmail-rspawn they stay queued
# and each retry is logged once as a deferral saying why (not in a loop);
# local recipients of the same message are delivered meanwhile. With a
# qmail-rspawn (here a stand-in speaking src/mail/spawn.h's protocol,
# started by qmail-start as qmailr), remote deliveries go through it:
# success, failure (bounce) and the VERP sender rewrite.
import os, re, signal, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()
NORSPAWN = ("deferral: Sorry,_remote_delivery_is_not_available_here:_"
            "qmail-rspawn_is_not_installed._(#4.3.0)/")

FAKE = r'''#!/usr/bin/python3
# stand-in qmail-rspawn: "slot\0msg\0sender\0rcpt\0" in, "slot\0Xtext\0" out
import os, sys
log = open(sys.argv[1] if len(sys.argv) > 1 else "%s", "a")
data = b""
while True:
    b = os.read(0, 4096)
    if not b:
        break
    data += b
    while data.count(b"\0") >= 4:
        f = data.split(b"\0", 4)
        data = f[4]
        slot, msg, sender, rcpt = f[:4]
        log.write("%%s %%s <%%s> <%%s>\n" %% (slot.decode(), msg.decode(), sender.decode(), rcpt.decode()))
        log.flush()
        if rcpt.startswith(b"fail"):
            r = b"D550 no such user here (#5.1.1)"
        elif rcpt.startswith(b"defer"):
            r = b"Z451 try later (#4.3.0)"
        else:
            r = b"K250 ok: queued as 12345"
        os.write(1, slot + b"\0" + r + b"\0")
'''

with Instance(t, name="example.test") as q:
    if os.path.exists(q.bin("qmail-rspawn")):
        os.unlink(q.bin("qmail-rspawn"))   # first without one
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    q.start()
    q.queue("Subject: r\n\nx\n", "joe@example.test", ["far@remote.test", "postmaster@example.test"])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "local recipient delivered")
    t.ok(q.wait(lambda: NORSPAWN in q.logtext()), "remote deferral logged with the reason", q.logtext())
    log = q.logtext()
    t.ok(re.search(r"^starting delivery \d+: msg \d+ to remote far@remote\.test$", log, re.M), "remote delivery started")
    n = re.search(r"^new msg (\d+)$", log, re.M).group(1)
    rf = q.path("queue/remote/%d/%s" % (int(n) % 23, n))
    t.ok(os.path.exists(rf) and open(rf, "rb").read() == b"Tfar@remote.test\0", "remote recipient stays queued")
    t.ok(not re.search(r"^end msg %s$" % n, log, re.M), "message not finished")
    time.sleep(2.5)
    t.eq(q.logtext().count(NORSPAWN), 1, "logged once per retry, not in a loop")
    q.send_pid_signal(signal.SIGALRM)
    t.ok(q.wait(lambda: q.logtext().count(NORSPAWN) == 2), "SIGALRM: tried (and logged) once more")
    time.sleep(0.5)
    t.eq(q.logtext().count(NORSPAWN), 2, "exactly once more")
    q.stop()

    # now with a qmail-rspawn
    rec_dir = tempfile.mkdtemp(prefix="nqt-rsp-")
    os.chmod(rec_dir, 0o777)
    rec = os.path.join(rec_dir, "requests")
    q.write("bin/qmail-rspawn", FAKE % rec, mode=0o755, owner="root" if q.mode == "root" else None)
    mark = len(q.logtext())
    q.start()
    q.wait(lambda: "status: local" in q.logtext()[mark:], 5)
    q.send_pid_signal(signal.SIGALRM)
    t.ok(q.wait(lambda: re.search(r"^end msg %s$" % n, q.logtext(), re.M)), "queued remote recipient delivered through qmail-rspawn",
         q.logtext())
    t.ok(re.search(r"^delivery \d+: success: 250_ok:_queued_as_12345/$", q.logtext(), re.M), "remote success logged")
    if q.mode == "root":
        pids = q.pids("qmail-rspawn")
        # the stand-in is a script: find it by its command line instead
        uid = None
        for pid in os.listdir("/proc"):
            try:
                if pid.isdigit() and q.bin("qmail-rspawn").encode() in open("/proc/%s/cmdline" % pid, "rb").read():
                    uid = int(open("/proc/%s/status" % pid).read().split("Uid:")[1].split()[0])
            except OSError:
                pass
        import pwd
        t.eq(uid, pwd.getpwnam("qmailr").pw_uid, "qmail-rspawn runs as qmailr")
    q.queue("Subject: list\n\nx\n", "owner-@lists.test-@[]", ["a@far.test", "failme@far.test"])
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") >= 0 and
                len(re.findall(r"^end msg", q.logtext(), re.M)) >= 2, 15), "mixed remote message done", q.logtext())
    reqs = open(rec).read() if os.path.exists(rec) else ""
    t.ok(re.search(r"^\d+ %s <joe@example.test> <far@remote.test>$" % n, reqs, re.M), "request fields", reqs)
    t.ok("<owner-a=far.test@lists.test> <a@far.test>" in reqs, "VERP sender for a@far.test", reqs)
    t.ok("<owner-failme=far.test@lists.test> <failme@far.test>" in reqs, "VERP sender for failme@far.test")
    t.ok(re.search(r"^delivery \d+: failure: 550_no_such_user_here_\(#5.1.1\)/$", q.logtext(), re.M), "remote failure logged")
    t.ok(re.search(r"^bounce msg \d+ qp \d+$", q.logtext(), re.M), "remote failure bounced")
    q.stop()
    os.unlink(rec)
    os.rmdir(rec_dir)
t.done()
