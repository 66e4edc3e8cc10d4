#!/usr/bin/env python3
# Forged SRS addresses are refused (srs(5) in src/mail/srs.h): at RCPT
# time by qmail-smtpd (rcptcheck_srs in src/mail/rcptcheck.c: 550 5.1.1),
# and by srsreverse (exit 100 with a text that says why): a bad hash, an
# expired time stamp (SRS0 older than control/srsmaxage days, default
# 21), a malformed address, a forged SRS1. Valid ones are accepted and
# srsreverse hands them to qmail-queue with the decoded recipient, the
# sender unchanged and $DTLINE on top. Secret rotation: the first line of
# control/srs signs, every line verifies; a secret removed no longer
# verifies. control/srs is 0640 root:nofiles: alias (srsreverse) and
# qmaild (qmail-smtpd) read it, other users cannot; when qmail-smtpd
# cannot, the privileged qmail-rcptcheck decides. Root instance.
# smoke
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srslib import SRSDOMAIN, srs0, srs1, configure, set_secrets, h, stamp
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run
from smtpdlib import prepare, Server, Raw

t = Tap()
if not IS_ROOT:
    t.skip("SRS refusals", "needs root to create test users")
    t.done()

OLD = "the old secret"
NEW = "the new secret"
D = "example.test"


def rcpt_codes(port, rcpts, sender=""):
    r = Raw(port)
    r.reply()
    r.cmd("EHLO bouncer.test")
    r.cmd("MAIL FROM:<%s>" % sender)
    out = [r.cmd("RCPT TO:<%s>" % a) for a in rcpts]
    r.cmd("QUIT")
    r.close()
    return out


def forge(addr):
    """The same address with one hash character changed."""
    c = addr[5]
    return addr[:5] + ("B" if c != "B" and c != "b" else "C") + addr[6:]


def reverse(q, local, user="alias", sender=""):
    """srsreverse as user, with a qmail-queue that records what it gets."""
    d = tempfile.mkdtemp(prefix="nqt-srs-")
    os.chmod(d, 0o1777)
    fake = os.path.join(d, "qq")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\ncat > %s/mess\ncat 0<&1 > %s/env\nexit 0\n" % (d, d))
    os.chmod(fake, 0o755)
    env = {"PATH": "/usr/bin:/bin", "NQMAIL_HOME": q.dir, "QMAILQUEUE": fake, "SENDER": sender,
           "DEFAULT": local, "DTLINE": "Delivered-To: srs-%s@%s\n" % (local, SRSDOMAIN)}
    r = run([q.bin("srsreverse")], input=b"Subject: b\n\nbody\n", env=env, user=user, cwd="/")
    got = {}
    for n in ("mess", "env"):
        try:
            with open(os.path.join(d, n), "rb") as f:
                got[n] = f.read()
        except FileNotFoundError:
            got[n] = None
    shutil.rmtree(d, ignore_errors=True)
    return r, got


other = TestUser(unique_user("srso"))
try:
    with Instance(t, name=D) as q:
        prepare(q)
        configure(q, [OLD], 9)
        good = srs0(OLD, "alice@sender.test")
        old = srs0(OLD, "alice@sender.test", days_ago=22)
        edge = srs0(OLD, "alice@sender.test", days_ago=21)
        s1 = srs1(OLD, "SRS0=AbCd=XY=o.example=u@hop1.test")
        with Server(q) as s:
            got = rcpt_codes(s.port, [good, good.upper(), forge(good), old, edge, s1, forge(s1),
                                      "SRS0=xxxx=ZZ=a@" + SRSDOMAIN, "SRS0=@" + SRSDOMAIN,
                                      "postmaster@" + SRSDOMAIN])
            codes = [c for c, _ in got]
            t.eq(codes[0], 250, "valid SRS0: 250")
            t.eq(codes[1], 250, "valid SRS0 in upper case: 250 (hash compared without case)")
            t.eq(codes[2], 550, "forged hash: 550")
            t.ok("5.1.1" in got[2][1], "forged hash: 550 5.1.1", got[2][1])
            t.eq(codes[3], 550, "stamp 22 days old: 550 (expired)")
            t.eq(codes[4], 250, "stamp 21 days old: still 250")
            t.eq(codes[5], 250, "valid SRS1: 250")
            t.eq(codes[6], 550, "forged SRS1: 550")
            t.eq(codes[7], 550, "malformed SRS0: 550")
            t.eq(codes[8], 550, "empty SRS0: 550")
            t.eq(codes[9], 250, "an ordinary address at the SRS domain is not SRS's business")

            # srsmaxage shortens the life of an address
            q.control("srsmaxage", "3")
            got = rcpt_codes(s.port, [srs0(OLD, "a@b.test", days_ago=3), srs0(OLD, "a@b.test", days_ago=4)])
            t.eq([c for c, _ in got], [250, 550], "srsmaxage 3: 3 days ok, 4 days expired")
            os.unlink(q.path("control/srsmaxage"))

            # qmail-smtpd (qmaild) may not read control/srs: qmail-rcptcheck does
            p = q.path("control/srs")
            os.chmod(p, 0o600)
            got = rcpt_codes(s.port, [good, forge(good)])
            t.eq([c for c, _ in got], [250, 550], "control/srs 0600 root: the privileged helper refuses the forgery")
            os.chmod(p, 0o640)

            # rotation: new first, old still verifies
            set_secrets(q, [NEW, OLD])
            got = rcpt_codes(s.port, [good, srs0(NEW, "x@y.test"), forge(good)])
            t.eq([c for c, _ in got], [250, 250, 550], "rotation: old and new secrets verify")
            r, qq = reverse(q, good.split("@")[0])
            t.ok(r.returncode == 0 and qq["env"] == b"F\0Talice@sender.test\0\0",
                 "rotation: srsreverse accepts the old secret's address", (r, qq))
            set_secrets(q, [NEW])
            got = rcpt_codes(s.port, [good, srs0(NEW, "x@y.test")])
            t.eq([c for c, _ in got], [550, 250], "old secret removed: its addresses are refused")
            set_secrets(q, [OLD])

        # srsreverse itself
        r, qq = reverse(q, good.split("@")[0], sender="")
        t.eq(r.returncode, 0, "srsreverse as alias: valid address forwarded", r.stderr)
        t.eq(qq["env"], b"F\0Talice@sender.test\0\0", "to the decoded address, null sender kept")
        t.ok(qq["mess"] and qq["mess"].startswith(b"Delivered-To: srs-SRS0=") and qq["mess"].endswith(b"\n\nbody\n"),
             "$DTLINE on top of the message", qq["mess"])
        t.ok(b"forwarded to alice@sender.test" in r.stderr, "says where it went", r.stderr)
        r, qq = reverse(q, s1.split("@")[0], sender="x@y.test")
        t.ok(r.returncode == 0 and qq["env"] == b"Fx@y.test\0TSRS0=AbCd=XY=o.example=u@hop1.test\0\0",
             "SRS1 goes back to the first hop, sender kept", (r, qq))
        r, qq = reverse(q, forge(good).split("@")[0])
        t.ok(r.returncode == 100 and b"hash" in r.stderr and qq["env"] is None, "forged hash: 100, nothing queued", r.stderr)
        r, qq = reverse(q, old.split("@")[0])
        t.ok(r.returncode == 100 and b"expired" in r.stderr and qq["env"] is None, "expired: 100", r.stderr)
        r, qq = reverse(q, "postmaster")
        t.ok(r.returncode == 100 and b"not an SRS address" in r.stderr, "not SRS: 100", r.stderr)
        r, qq = reverse(q, "SRS0=abcd=AA=onlyhost")
        t.ok(r.returncode == 100 and b"malformed" in r.stderr, "malformed: 100", r.stderr)
        r, qq = reverse(q, good.split("@")[0], user=other.name)
        t.ok(r.returncode == 111 and b"control/srs" in r.stderr, "another user cannot read control/srs: 111", r.stderr)
        st = os.stat(q.path("control/srs"))
        t.ok(st.st_mode & 0o777 == 0o640, "control/srs is 0640", oct(st.st_mode))
        os.unlink(q.path("control/srsdomain"))
        r, qq = reverse(q, good.split("@")[0])
        t.ok(r.returncode == 100 and b"SRS is off" in r.stderr, "no srsdomain: SRS off, 100", r.stderr)
finally:
    other.remove()
t.done()
