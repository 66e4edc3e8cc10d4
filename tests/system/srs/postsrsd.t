#!/usr/bin/env python3
# Our SRS against an independent implementation: postsrsd (Debian's,
# libsrs2's algorithm in its own code), run privately on loopback ports
# with the same secret and SRS domain. For a set of senders, the sender
# qmail-local gives a forwarded copy (captured by a qmail-queue stand-in)
# is exactly the one postsrsd's forward table gives, SRS0 and SRS1 alike,
# and both leave the same senders alone (a bounce, one of our domains,
# one at the SRS domain); postsrsd's reverse table decodes our addresses,
# and srsreverse decodes postsrsd's to the same address.
import os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.parse
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from srslib import SRSDOMAIN, configure
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run, wait
from remotelib import free_tcp_port

t = Tap()
POSTSRSD = shutil.which("postsrsd") or "/usr/sbin/postsrsd"
if not IS_ROOT:
    t.skip("postsrsd comparison", "needs root to create test users")
    t.done()
if not os.access(POSTSRSD, os.X_OK):
    t.skip("postsrsd comparison", "postsrsd is not installed (scripts/deps.sh installs it)")
    t.done()

SECRET = "shared with postsrsd"
D = "example.test"
SENDERS = ["alice@sender.test", "Mixed.Case@Sender.TEST", "a.b+c-d@x.y.example",
           "SRS0=AbCd=XY=o.example=u@hop1.test", "srs0+wxyz=AA=o.example=v@hop1.test",
           "SRS1=zzzz=hop1.test==AbCd=XY=o.example=u@hop2.test"]
KEPT = ["bob@" + D, "x@" + SRSDOMAIN]

tmp = tempfile.mkdtemp(prefix="nqt-psrs-")
os.chmod(tmp, 0o1777)
FAKE = os.path.join(tmp, "qq")
with open(FAKE, "w") as f:
    f.write("#!/bin/sh\ncat > /dev/null\nexec 3<&1\ncat <&3 > %s/env\nexit 0\n" % tmp)
os.chmod(FAKE, 0o755)


def table(port, key):
    """One Postfix tcp_table lookup: (code, decoded value)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(("get %s\n" % urllib.parse.quote(key, safe="@=+-./")).encode())
    data = b""
    while not data.endswith(b"\n"):
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    code, _, val = data.decode().strip().partition(" ")
    return int(code), urllib.parse.unquote(val)


def ours(q, u, sender):
    """The envelope sender qmail-local gives the copy forwarded to friend@remote.test."""
    try:
        os.unlink(os.path.join(tmp, "env"))
    except FileNotFoundError:
        pass
    env = {"PATH": "/usr/bin:/bin", "NQMAIL_HOME": q.dir, "QMAILQUEUE": FAKE}
    with tempfile.TemporaryFile() as m:
        m.write(b"Subject: x\n\nbody\n")
        m.seek(0)
        r = run([q.bin("qmail-local"), "--", u.name, u.home, u.name + "-out", "-", "out", D, sender, "./Maildir/"],
                env=env, stdin=m)
    try:
        with open(os.path.join(tmp, "env"), "rb") as f:
            e = f.read()
    except FileNotFoundError:
        return None, r
    return e[1:e.index(b"\0")].decode(), r


def reverse(q, local):
    try:
        os.unlink(os.path.join(tmp, "env"))
    except FileNotFoundError:
        pass
    env = {"PATH": "/usr/bin:/bin", "NQMAIL_HOME": q.dir, "QMAILQUEUE": FAKE, "SENDER": "", "DEFAULT": local,
           "DTLINE": "Delivered-To: x\n"}
    r = run([q.bin("srsreverse")], input=b"Subject: b\n\nbody\n", env=env, user="alias", cwd="/")
    try:
        with open(os.path.join(tmp, "env"), "rb") as f:
            e = f.read()
        os.unlink(os.path.join(tmp, "env"))
    except FileNotFoundError:
        return None, r
    return e[e.index(b"\0T") + 2:-2].decode(), r


u = TestUser(unique_user("psrs"))
pss = None
try:
    secfile = os.path.join(tmp, "secret")
    with open(secfile, "w") as f:
        f.write(SECRET + "\n")
    fport, rport = free_tcp_port(), free_tcp_port()
    while rport == fport:
        rport = free_tcp_port()
    pss = subprocess.Popen([POSTSRSD, "-s" + secfile, "-d" + SRSDOMAIN, "-X" + D, "-l127.0.0.1", "-4",
                            "-f%d" % fport, "-r%d" % rport], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def up():
        try:
            socket.create_connection(("127.0.0.1", rport), timeout=1).close()
            return True
        except OSError:
            return False
    t.ok(wait(up, 10), "postsrsd runs on loopback")

    with Instance(t, name=D) as q:
        configure(q, [SECRET], 9)
        u.write(".qmail-out", "&friend@remote.test\n")
        for s in SENDERS:
            mine, r = ours(q, u, s)
            code, theirs = table(fport, s)
            t.ok(code == 200 and mine == theirs, "forward of %s: ours is postsrsd's" % s,
                 (mine, code, theirs, r.stdout))
            code, back = table(rport, mine or "")
            want = s
            if s.upper().startswith("SRS0") or s.upper().startswith("SRS1"):
                want = None     # SRS1: postsrsd goes back to the first hop, as we do
            t.ok(code == 200 and (want is None or back == want), "postsrsd reverses our %s" % mine, (code, back))
            dec, r = reverse(q, theirs.split("@")[0])
            code, pback = table(rport, theirs)
            t.ok(dec is not None and dec == pback, "srsreverse decodes postsrsd's %s as postsrsd does" % theirs,
                 (dec, pback, r.stderr))
        for s in KEPT:
            mine, r = ours(q, u, s)
            code, theirs = table(fport, s)
            t.ok(mine == s and (code != 200 or theirs == s), "%s kept by both" % s, (mine, code, theirs))
        mine, r = ours(q, u, "")
        t.eq(mine, "", "the null sender kept")
finally:
    if pss:
        pss.terminate()
        try:
            pss.wait(5)
        except subprocess.TimeoutExpired:
            pss.kill()
            pss.wait()
    u.remove()
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
