#!/usr/bin/env python3
# A real milter from Debian: OpenDKIM (package opendkim) in signing mode,
# started here as an unprivileged test user with its own configuration
# and key in a temporary directory, listening on a loopback port. A
# message sent to qmail-smtpd from 127.0.0.1 (one of OpenDKIM's internal
# hosts) with From: in the signing domain is delivered to a Maildir with
# OpenDKIM's DKIM-Signature field in it, and python3-dkim verifies that
# signature against the public key (given to it directly: no DNS). A
# message from another domain is delivered unsigned.
import base64, os, pwd, shutil, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from milterlib import prepare, Server, use, send
from nqtest import Tap, Instance, TestUser, unique_user, IS_ROOT, wait
from smtpdlib import free_port

t = Tap()
if not shutil.which("opendkim") and not os.path.exists("/usr/sbin/opendkim"):
    t.skip("opendkim", "package opendkim is not installed (scripts/deps.sh installs it)")
    t.done()
    sys.exit(0)
try:
    import dkim
except ImportError:
    # python3-dkim is Debian's, for /usr/bin/python3, which may not be
    # the first python3 on PATH
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    dkim = None

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
work = tempfile.mkdtemp(prefix="nqt-odkim-")
os.chmod(work, 0o755)
proc = None
user = None
try:
    if IS_ROOT:
        user = TestUser(unique_user("odk"))
    key = os.path.join(work, "sel.private")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(pub).decode()
    port = free_port()
    conf = os.path.join(work, "opendkim.conf")
    with open(conf, "w") as f:
        f.write("Syslog no\nBackground no\nMode s\nDomain example.test\nSelector sel\n"
                "KeyFile %s\nSocket inet:%d@127.0.0.1\nCanonicalization relaxed/simple\n"
                "InternalHosts 127.0.0.1\nRequireSafeKeys false\nPidFile %s/pid\n" % (key, port, work))
    pre = None
    if user:
        pw = pwd.getpwnam(user.name)
        os.chown(work, pw.pw_uid, pw.pw_gid)
        os.chown(key, pw.pw_uid, pw.pw_gid)

        def pre():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    os.chmod(key, 0o600)
    errlog = open(os.path.join(work, "err"), "wb")
    t0 = time.time()
    proc = subprocess.Popen([OPENDKIM, "-f", "-x", conf], stdout=errlog, stderr=errlog,
                            preexec_fn=pre, start_new_session=True)

    def listening():
        import socket
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()
    up = wait(lambda: listening() or proc.poll() is not None, 10) and proc.poll() is None
    t.ok(up, "opendkim started (%.1f s)" % (time.time() - t0), open(os.path.join(work, "err")).read())
    if not up:
        raise SystemExit(1)
    if user:
        t.eq(pwd.getpwuid(int(open("/proc/%d/status" % proc.pid).read().split("Uid:")[1].split()[0])).pw_name,
             user.name, "opendkim runs as the test user")

    with Instance(t, name="example.test") as q:
        prepare(q)
        q.control("rcpthosts", "example.test\n")
        q.write("alias/.qmail-default", "./Maildir/\n")
        use(q, "inet:127.0.0.1:%d" % port)
        q.start()
        with Server(q) as s:
            body = ("From: Alice <alice@example.test>\nTo: postmaster@example.test\nSubject: signed by a milter\n"
                    "Date: Sun, 29 Nov 2026 20:00:00 +0000\nMessage-ID: <m1@example.test>\n\n"
                    "Hello,\n.this line started with a dot\n\nbye\n")
            got = send(s.port, sender="alice@example.test", body=body)
            t.eq(got["data"], 250, "message accepted", got["text"])
            t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "delivered to the Maildir")
            texts = q.maildir_texts("alias/Maildir")
            data = texts[0] if texts else ""
            if isinstance(data, bytes):
                data = data.decode("utf-8", "replace")
            t.ok("DKIM-Signature:" in data and "d=example.test" in data and "s=sel" in data,
                 "OpenDKIM's DKIM-Signature field is in the delivered message", data[:1500])
            if dkim:
                raw = data.replace("\r\n", "\n").replace("\n", "\r\n").encode()
                ok = dkim.verify(raw, dnsfunc=lambda n, timeout=5: record.encode()
                                 if n.decode().rstrip(".") == "sel._domainkey.example.test" else b"")
                t.ok(ok, "python3-dkim verifies the signature over the delivered bytes")
            else:
                t.skip("python3-dkim verification", "python3-dkim not installed")
            t.ok("milter inet:127.0.0.1:%d: adds header field DKIM-Signature" % port in s.log(), "qmail-smtpd logged the change",
                 s.log()[-1000:])

            got = send(s.port, sender="bob@other.test",
                       body="From: bob@other.test\nSubject: not ours\n\nhi\n")
            t.eq(got["data"], 250, "a message from another domain accepted")
            t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 2), "and delivered")
            texts = [x if isinstance(x, str) else x.decode("utf-8", "replace") for x in q.maildir_texts("alias/Maildir")]
            other = [x for x in texts if "not ours" in x]
            t.ok(other and "DKIM-Signature:" not in other[0], "not signed (not OpenDKIM's domain)")
finally:
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if user:
        user.remove()
    shutil.rmtree(work, ignore_errors=True)
t.done()
