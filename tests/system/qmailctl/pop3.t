#!/usr/bin/env python3
# qmailctl's POP3 listeners, the contract of issue 6: control/pop3-listen
# with 127.0.0.1:PORT and [::1]:PORT and pop3s-listen with one line;
# `qmailctl start` (daemontools) listens on exactly those (/proc/net/tcp,
# tcp6), tcpserver as root; a message injected for a local user lands in
# its Maildir and poplib RETRs it through both addresses as a qmail-vuser
# login after STLS, the setup certificate verifying for the instance's
# name; USER is refused before TLS; POP3S speaks TLS at once; a failed
# login is in the listener's multilog with the client's address; restart
# applies a changed pop3-listen; stop leaves nothing. A single-user
# instance: no POP3 by default (missing files), then the owner's tcpserver
# on its line, control/pop3plainloopback letting a loopback client log in
# without TLS to the demo-style login (home DIR/alias), direct mode.
import os, poplib, re, shutil, socket, ssl, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, TestUser, IS_ROOT, run, wait, proc_uid, unique_user
from ctl import ctl, out, cleanup, instance_procs, free_port, listening

t = Tap()
if not IS_ROOT:
    t.skip("qmailctl's POP3 listeners", "needs root (a system user, POP3 as root)")
    t.done()
if not shutil.which("svscan") or not shutil.which("tcpserver"):
    t.skip("qmailctl's POP3 listeners", "needs daemontools and ucspi-tcp")
    t.done()
NAME = "pop3.example.test"
PASS = "a pop3 passphrase"


def both_free():
    """A port free on 127.0.0.1 and on ::1."""
    for _ in range(50):
        p = free_port()
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", p))
            return p
        except OSError:
            pass
        finally:
            s.close()
    raise RuntimeError("no port free on both loopback addresses")


def tcpservers(q):
    return [p for p in instance_procs(q) if p[1] == "tcpserver"]


def cert_only(pem, path):
    """The certificate block of servercert.pem, as a CA file for ssl."""
    text = open(pem).read()
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", text, re.S)
    with open(path, "w") as f:
        f.write(m.group(0) if m else "")
    return path


def fetch(host, port, user, password, ctx=None, implicit=False, dele=False):
    """Log in (STLS first unless ctx is None), RETR every message; the
    bodies as bytes, or the exception's text."""
    try:
        if implicit:
            p = poplib.POP3_SSL(host, port, context=ctx, timeout=30)
        else:
            p = poplib.POP3(host, port, timeout=30)
            if ctx is not None:
                p.host = NAME   # the name stls() checks the certificate against
                p.stls(ctx)
        p.user(user)
        p.pass_(password)
        n = p.stat()[0]
        got = [b"\n".join(p.retr(i)[1]) for i in range(1, n + 1)]
        if dele:
            for i in range(1, n + 1):
                p.dele(i)
        p.quit()
        return got
    except Exception as e:
        return repr(e)


def greeting(host, port):
    raw = socket.create_connection((host, port), timeout=5)
    try:
        raw.settimeout(2)
        return raw.recv(100)
    except socket.timeout:
        return b""
    finally:
        raw.close()


u = TestUser(unique_user("cp3"))
tmp = tempfile.mkdtemp(prefix="nqt-ca-")
try:
    md = u.maildirmake()
    with Instance(t, name=NAME) as q:
        try:
            p, ps = both_free(), free_port()
            q.control("pop3-listen", "# both loopbacks\n127.0.0.1:%d\n[::1]:%d\n" % (p, p))
            q.control("pop3s-listen", "127.0.0.1:%d" % ps)
            r = run([q.bin("qmail-vuser"), "add", "joe@" + NAME, u.name], input=PASS + "\n")
            t.eq(r.returncode, 0, "qmail-vuser add joe@NAME with the user's account", r.stderr)

            r = ctl(q, "start")
            t.eq(r.returncode, 0, "qmailctl start", out(r))
            t.eq(listening(p), {"127.0.0.1", "[::1]"}, "POP3 listens on 127.0.0.1:PORT and [::1]:PORT")
            t.eq(listening(ps), {"127.0.0.1"}, "POP3S listens on its line")
            ts = tcpservers(q)
            t.eq(len(ts), 3, "one tcpserver per line, no more (no default 110/995, no SMTP)", ts)
            t.ok(ts and all(proc_uid(x[0]) == 0 for x in ts), "tcpserver runs as root (checkpassword switches users)", ts)
            for d in ("pop3-127.0.0.1-%d" % p, "pop3-::1-%d" % p, "pop3s-127.0.0.1-%d" % ps):
                run_text = open(q.path("service/%s/run" % d)).read() if os.path.exists(q.path("service/%s/run" % d)) else ""
                t.ok("bin/qmail-popup" in run_text and "bin/qmail-pop3d Maildir" in run_text, "service/%s/run runs the POP3 chain" % d)
            r = ctl(q, "stat")
            t.eq(r.returncode, 0, "stat: every service up", out(r))
            t.ok("pop3 listener on [::1]:%d" % p in out(r) and "pop3s listener on 127.0.0.1:%d" % ps in out(r),
                 "stat names the listeners", out(r))

            # A message for the user, through the queue, into ~/Maildir.
            r = q.inject("Subject: pop-token\n\npop-token body\n", [u.name + "@" + NAME])
            t.eq(r.returncode, 0, "qmail-inject to the user", r.stderr)
            t.ok(wait(lambda: len(os.listdir(md + "/new")) == 1, 30), "delivered to the user's Maildir")

            pem = q.path("control/servercert.pem")
            ctx = ssl.create_default_context(cafile=cert_only(pem, os.path.join(tmp, "ca.pem")))
            noverify = ssl._create_unverified_context()
            got = fetch("127.0.0.1", p, "joe@" + NAME, PASS, ctx)
            t.ok(isinstance(got, list) and len(got) == 1 and b"pop-token body" in got[0],
                 "127.0.0.1: STLS (certificate verified for NAME), login, RETR of the delivered message", got)
            t.ok(os.listdir(md + "/new") == [] and len(os.listdir(md + "/cur")) == 1, "QUIT moved it from new/ to cur/")
            got = fetch("::1", p, "joe@" + NAME, PASS, noverify)
            t.ok(isinstance(got, list) and len(got) == 1 and b"pop-token body" in got[0], "[::1]: the same", got)

            # No password before TLS.
            try:
                c = poplib.POP3("127.0.0.1", p, timeout=30)
                caps = c.capa()
                c.user("joe@" + NAME)
                t.ok(False, "USER before STLS is refused", caps)
                c.quit()
            except poplib.error_proto as e:
                t.ok("STLS" in caps and "USER" not in caps, "USER before STLS is refused; CAPA offers STLS", (caps, e))

            # POP3S: TLS from the first byte.
            t.eq(greeting("127.0.0.1", ps), b"", "POP3S: no plain-text greeting")
            got = fetch("127.0.0.1", ps, "joe@" + NAME, PASS, noverify, implicit=True, dele=True)
            t.ok(isinstance(got, list) and len(got) == 1 and b"pop-token body" in got[0], "POP3S: login, RETR, DELE", got)
            t.eq(os.listdir(md + "/cur") + os.listdir(md + "/new"), [], "deleted at QUIT")

            # A failed login: logged by multilog with the client's address.
            got = fetch("127.0.0.1", p, "joe@" + NAME, "wrong", noverify)
            t.ok(isinstance(got, str) and "AUTH" in got, "a wrong password: -ERR [AUTH]", got)
            logf = q.path("log/pop3-127.0.0.1-%d/current" % p)
            t.ok(wait(lambda: os.path.exists(logf) and
                      b"authentication failed for joe@%s from 127.0.0.1" % NAME.encode() in open(logf, "rb").read(), 10),
                 "the failure is in log/pop3-127.0.0.1-PORT/current with the client's address")
            if os.path.exists(logf):
                t.ok(open(logf, "rb").read().startswith(b"@4000"), "multilog's TAI64N stamps")

            # A changed pop3-listen: restart applies it.
            q.control("pop3-listen", "[::1]:%d" % p)
            r = ctl(q, "restart")
            t.eq(r.returncode, 0, "restart", out(r))
            t.eq(listening(p), {"[::1]"}, "restart leaves POP3 on the remaining line only")
            t.ok(not os.path.exists(q.path("service/pop3-127.0.0.1-%d" % p)), "the old service directory is gone")
            t.eq(listening(ps), {"127.0.0.1"}, "POP3S still there")

            r = ctl(q, "stop")
            t.eq(r.returncode, 0, "stop", out(r))
            t.ok(wait(lambda: not instance_procs(q), 10), "nothing of the instance after stop", instance_procs(q))
            t.eq([listening(x) for x in (p, ps)], [set(), set()], "nothing listens")
        finally:
            cleanup(q)
finally:
    u.remove()
    shutil.rmtree(tmp, ignore_errors=True)

# A single-user instance, started directly.
DIRECT = {"NQ_NO_DAEMONTOOLS": "1"}
o = TestUser(unique_user("cp3o"))
try:
    with Instance(t, name=NAME, mode="single", owner=o.name) as q:
        try:
            for f in ("pop3-listen", "pop3s-listen"):
                os.unlink(q.path("control/" + f))
            r = ctl(q, "start", DIRECT)
            t.eq(r.returncode, 0, "single-user: start without pop3-listen files", out(r))
            t.eq(tcpservers(q), [], "single-user: no POP3 listener by default")
            ctl(q, "stop", DIRECT)

            p = free_port()
            q.control("pop3-listen", "127.0.0.1:%d" % p)
            q.control("pop3plainloopback", "1")
            r = run([q.bin("qmail-vuser"), "add", "demo@" + NAME, o.name, q.path("alias")],
                    input=PASS + "\n", user=o.name)
            t.eq(r.returncode, 0, "single-user: qmail-vuser add with the owner's account and home DIR/alias", r.stderr)
            r = ctl(q, "start", DIRECT)
            t.eq(r.returncode, 0, "single-user: start with pop3-listen", out(r))
            ts = tcpservers(q)
            t.ok(len(ts) == 1 and proc_uid(ts[0][0]) == o.uid, "single-user: one tcpserver, as the owner", ts)
            t.eq(listening(p), {"127.0.0.1"}, "single-user: on its line")
            r = q.inject("Subject: single-pop\n\nsingle-pop body\n", ["postmaster@" + NAME])
            t.ok(wait(lambda: any("single-pop body" in m for m in q.maildir_texts("alias/Maildir")), 30),
                 "single-user: delivered to alias/Maildir")
            got = fetch("127.0.0.1", p, "demo@" + NAME, PASS)
            t.ok(isinstance(got, list) and len(got) == 1 and b"single-pop body" in got[0],
                 "single-user: pop3plainloopback: plain USER/PASS from loopback, RETR", got)
            r = ctl(q, "stop", DIRECT)
            t.eq(r.returncode, 0, "single-user: stop")
            t.ok(wait(lambda: not instance_procs(q), 10), "single-user: nothing left", instance_procs(q))
        finally:
            cleanup(q, DIRECT)
finally:
    o.remove()
t.done()
