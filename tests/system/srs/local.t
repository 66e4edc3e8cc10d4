#!/usr/bin/env python3
# qmail-local's side of SRS, run directly (srs(5), src/mail/local.c),
# with a qmail-queue stand-in that records every run's envelope: a .qmail
# forwarding both to a remote and to a local address queues two copies,
# the remote one with the SRS0 sender (Python's hmac computes it), the
# local one with the original; a program line sees the SRS sender in
# $NEWSENDER. Run as a user who cannot read control/srs (0640
# root:nofiles), qmail-local defers a forward that leaves our domains
# (111, "Unable to read control/srs") but not one that stays, nor one
# whose sender is never rewritten (a bounce, a sender of ours).
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srslib import srs0, configure
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run

t = Tap()
if not IS_ROOT:
    t.skip("qmail-local and SRS", "needs root to create test users")
    t.done()

SECRET = "local secret"
D = "example.test"
spool = tempfile.mkdtemp(prefix="nqt-srsl-")
os.chmod(spool, 0o1777)
FAKE = os.path.join(spool, "qq")
with open(FAKE, "w") as f:
    f.write("#!/bin/sh\ncat > /dev/null\nexec 3<&1\n{ cat <&3; printf '|'; } >> %s/env\nexit 0\n" % spool)
os.chmod(FAKE, 0o755)


def envs():
    try:
        with open(os.path.join(spool, "env"), "rb") as f:
            data = f.read()
        os.unlink(os.path.join(spool, "env"))
    except FileNotFoundError:
        return []
    return [x for x in data.split(b"|") if x]


def local(q, u, ext, sender, as_user):
    env = {"PATH": "/usr/bin:/bin", "NQMAIL_HOME": q.dir, "QMAILQUEUE": FAKE}
    with tempfile.TemporaryFile() as m:
        m.write(b"Subject: x\n\nbody\n")
        m.seek(0)
        r = run([q.bin("qmail-local"), "--", u.name, u.home, "%s-%s" % (u.name, ext), "-", ext, D, sender,
                 "./Maildir/"], env=env, stdin=m, user=u.name if as_user else None)
    return r


u = TestUser(unique_user("srsl"))
try:
    with Instance(t, name=D) as q:
        configure(q, [SECRET], 9)
        u.maildirmake("Maildir")
        u.write(".qmail-mix", "&friend@remote.test\n&%s-box@%s\n" % (u.name, D))
        u.write(".qmail-out", "&friend@remote.test\n")
        u.write(".qmail-in", "&%s-box@%s\n" % (u.name, D))
        u.write(".qmail-prog", "|echo \"$NEWSENDER\" > %s/newsender\n" % spool)

        # with the secret (as root, as qmail-lspawn's child is before it
        # becomes the user)
        r = local(q, u, "mix", "alice@sender.test", False)
        got = envs()
        t.eq(r.returncode, 0, "mixed forwards delivered", r.stdout + r.stderr)
        t.eq(sorted(got), sorted([b"Falice@sender.test\0T%s-box@%s\0\0" % (u.name.encode(), D.encode()),
                                  b"F%s\0Tfriend@remote.test\0\0" % srs0(SECRET, "alice@sender.test").encode()]),
             "two qmail-queue runs: local copy with the sender, remote copy with SRS0")
        r = local(q, u, "prog", "bob@sender.test", False)
        with open(os.path.join(spool, "newsender")) as f:
            ns = f.read().strip()
        t.eq(ns, srs0(SECRET, "bob@sender.test"), "a program sees the SRS0 sender in $NEWSENDER")
        r = local(q, u, "out", "", False)
        t.eq(envs(), [b"F\0Tfriend@remote.test\0\0"], "a bounce forwarded keeps the null sender")

        # without the secret (as the user)
        r = local(q, u, "out", "alice@sender.test", True)
        t.ok(r.returncode == 111 and b"Unable to read control/srs" in r.stdout and not envs(),
             "user without the secret: a forward that leaves is deferred", r.stdout + r.stderr)
        r = local(q, u, "in", "alice@sender.test", True)
        t.ok(r.returncode == 0 and envs() == [b"Falice@sender.test\0T%s-box@%s\0\0" % (u.name.encode(), D.encode())],
             "user without the secret: a forward that stays is delivered", r.stdout + r.stderr)
        r = local(q, u, "out", "", True)
        t.ok(r.returncode == 0 and envs() == [b"F\0Tfriend@remote.test\0\0"],
             "user without the secret: a bounce goes on unchanged", r.stdout + r.stderr)
        r = local(q, u, "out", "carol@" + D, True)
        t.ok(r.returncode == 0 and envs() == [b"Fcarol@%s\0Tfriend@remote.test\0\0" % D.encode()],
             "user without the secret: a sender of ours goes on unchanged", r.stdout + r.stderr)

        # SRS off: nothing changes
        os.unlink(q.path("control/srsdomain"))
        r = local(q, u, "out", "alice@sender.test", True)
        t.ok(r.returncode == 0 and envs() == [b"Falice@sender.test\0Tfriend@remote.test\0\0"],
             "SRS off: the sender is kept", r.stdout + r.stderr)
finally:
    u.remove()
    shutil.rmtree(spool, ignore_errors=True)
t.done()
