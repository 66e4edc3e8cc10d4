#!/usr/bin/env python3
# DKIM signing in a single-user instance: qmail-dkimkey, run by the
# owner, leaves the key the owner's and 0400; mail injected there and
# delivered by qmail-send/qmail-rspawn (as the owner) to a sink on
# 127.0.0.152 carries an RSA signature that python3-dkim verifies with
# the printed record; without keys the same mail is not signed.
import os, re, sys
try:
    import dkim
except ImportError:
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dkim is not installed")
    sys.exit(0)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-remote"))
from nqtest import Tap, Instance, TestUser, unique_user, IS_ROOT, run
from remotelib import Sink

t = Tap()
if not IS_ROOT:
    t.skip("single-user instance with a test user", "needs root to create the user")
    t.done()
    sys.exit(0)

u = TestUser(unique_user("dks"))
try:
    with Instance(t, name="single.test", mode="single", owner=u.name) as q:
        env = dict(os.environ, NQMAIL_HOME=q.dir)
        r = run([q.bin("qmail-dkimkey"), "single.test", "s1"], env=env, user=u.name)
        t.eq(r.returncode, 0, "qmail-dkimkey as the owner", r.stderr)
        m = re.match(r'^(\S+)\.\s+IN\s+TXT\s+\((.*)\)\s*$', r.stdout.decode().strip(), re.S)
        rec = "".join(re.findall(r'"([^"]*)"', m.group(2))) if m else ""
        t.ok(m and m.group(1) == "s1._domainkey.single.test" and "p=" in rec, "record printed", r.stdout)
        st = os.stat(q.path("control/dkim/single.test/s1.key"))
        t.ok(st.st_uid == u.uid and st.st_mode & 0o777 == 0o400, "the key is the owner's, 0400")

        with Sink("127.0.0.152", port=2626) as s:
            q.control("smtproutes", ":[127.0.0.152]:2626")
            q.start()
            r = q.inject("From: me@single.test\nTo: someone@far.test\nSubject: single\n\nhello\n")
            t.eq(r.returncode, 0, "qmail-inject", r.stderr)
            t.ok(q.wait(lambda: len(s.messages) >= 1, 20), "delivered remotely", q.logtext())
            data = s.messages[0].data if s.messages else b""
            ok = False
            try:
                ok = dkim.verify(data, dnsfunc=lambda n, timeout=5: rec.encode() if n.decode().rstrip(".") == "s1._domainkey.single.test" else b"")
            except dkim.DKIMException as e:
                t.diag(str(e))
            t.ok(b"DKIM-Signature:" in data and ok, "signed, and python3-dkim verifies it", data[:300])
            os.rename(q.path("control/dkim/single.test"), q.path("control/dkim/off"))
            r = q.inject("From: me@single.test\nTo: someone@far.test\nSubject: unsigned\n\nhello\n")
            t.ok(q.wait(lambda: len(s.messages) >= 2, 20), "second message delivered", q.logtext())
            t.ok(len(s.messages) >= 2 and b"DKIM-Signature:" not in s.messages[1].data, "without keys: not signed")
            q.stop()
finally:
    u.remove()
t.done()
