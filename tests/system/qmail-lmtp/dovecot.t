#!/usr/bin/env python3
# qmail-lmtp against Debian's Dovecot LMTP server, started by the test with
# a configuration of its own in a temporary directory (base_dir, a
# passwd-file user database, Maildirs under the directory, LMTP on a unix
# socket there and on 127.0.0.1:free port, ssl=no, a log file): no system
# service is touched. An nqmail hub delivers the virtual domain dove.test
# (virtualdomains dove.test:alias-dove) with the line
#   | qmail-lmtp -r "$DEFAULT@$HOST" unix:BASE/run/lmtp
# in alias/.qmail-dove-default, and dove2.test through a list whose first
# server is dead, over TCP. Checked: the bytes in Dovecot's Maildir
# (Dovecot's Return-Path, qmail-local's Delivered-To, then the message as
# queued, dot lines and 8-bit bytes intact); an unknown user bounces with
# Dovecot's 5xx text; with Dovecot stopped the message stays queued
# (deferral logged with the reason), and after Dovecot is back and ALRM
# it is delivered.
import os, pwd, re, shutil, signal, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT, wait

t = Tap()
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
if not os.path.exists(DOVECOT) or not os.path.exists("/usr/lib/dovecot/lmtp"):
    t.skip("qmail-lmtp with Dovecot", "needs dovecot-core and dovecot-lmtpd (scripts/deps.sh)")
    t.done()
    sys.exit(0)
if not IS_ROOT:
    t.skip("qmail-lmtp with Dovecot", "Dovecot's master must start as root")
    t.done()
    sys.exit(0)


def log(q):
    """qmail-send's log, with the spaces it wrote as _ given back."""
    return q.logtext().replace("_", " ")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Dovecot:
    """A private Dovecot that speaks LMTP only; mail for USER@dove.test is
    stored as the unprivileged uid of `nobody` in BASE/mail/USER@dove.test."""

    def __init__(self, users):
        self.base = tempfile.mkdtemp(prefix="nqt-dove-")
        os.chmod(self.base, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.base, "dovecot.conf")
        self.log = os.path.join(self.base, "dovecot.log")
        self.sock = os.path.join(self.base, "run", "lmtp")
        nobody = pwd.getpwnam("nobody")
        for d in ("run", "state", "mail"):
            os.mkdir(os.path.join(self.base, d))
        with open(os.path.join(self.base, "passwd"), "w") as f:
            for u in users:
                home = os.path.join(self.base, "mail", u)
                os.mkdir(home)
                os.chown(home, nobody.pw_uid, nobody.pw_gid)
                f.write("%s:{PLAIN}x:%d:%d::%s::\n" % (u, nobody.pw_uid, nobody.pw_gid, home))
        with open(self.conf, "w") as f:
            f.write("""base_dir = {b}/run
state_dir = {b}/state
log_path = {b}/dovecot.log
protocols = lmtp
ssl = no
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
auth_username_format = %Lu
# the message as qmail-lmtp gave it, behind Dovecot's Return-Path only
lmtp_add_received_header = no
lmtp_hdr_delivery_address = none
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {b}/passwd
}}
userdb {{
  driver = passwd-file
  args = {b}/passwd
}}
mail_location = maildir:~/Maildir
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {p}
  }}
}}
""".format(b=self.base, p=self.port))

    def start(self):
        # The master stays in the background with our descriptors: give
        # it a file, not a pipe we would wait on.
        out = os.path.join(self.base, "start.out")
        with open(out, "ab") as f:
            r = subprocess.run([DOVECOT, "-c", self.conf], stdin=subprocess.DEVNULL, stdout=f, stderr=f, timeout=30)
        ok = r.returncode == 0 and wait(lambda: os.path.exists(self.sock) and self.answers(), 15)
        return ok, open(out, errors="replace").read() + self.logtext()

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                return s.recv(100).startswith(b"220")
        except OSError:
            return False

    def stop(self):
        subprocess.run([DOVECOT, "-c", self.conf, "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        gone = wait(lambda: not os.path.exists(os.path.join(self.base, "run", "master.pid")) and not self.answers(), 15)
        if not gone:
            self.kill()
        return gone

    def kill(self):
        try:
            with open(os.path.join(self.base, "run", "master.pid")) as f:
                os.kill(int(f.read().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def logtext(self):
        try:
            return open(self.log, errors="replace").read()
        except OSError:
            return ""

    def mails(self, user):
        d = os.path.join(self.base, "mail", user, "Maildir", "new")
        if not os.path.isdir(d):
            return []
        out = []
        for n in sorted(os.listdir(d)):
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
        return out

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


dove = Dovecot(["joe@dove.test", "ann@dove.test"])
try:
    ok, why = dove.start()
    t.ok(ok, "a private Dovecot answers LMTP on its socket and on 127.0.0.1:%d" % dove.port, why)
    if not ok:
        t.done()
        sys.exit(0)
    with Instance(t, name="mx.example.test") as q:
        lmtp = q.bin("qmail-lmtp")
        dead = free_port()
        q.control("virtualdomains", "dove.test:alias-dove\ndove2.test:alias-dtcp\n")
        q.write("alias/.qmail-dove-default", '|%s -r "$DEFAULT@$HOST" unix:%s\n' % (lmtp, dove.sock))
        q.write("alias/.qmail-dtcp-default", '|%s -r "$DEFAULT@dove.test" 127.0.0.1:%d 127.0.0.1:%d\n'
                % (lmtp, dead, dove.port))
        q.start()
        sender = "postmaster@mx.example.test"

        # The bytes, through the unix socket.
        body = ("From: a@mx.example.test\nTo: joe@dove.test\nSubject: lmtp-token-1\n\n"
                "first line\n.\n.leading dot\n..two dots\nd\xe9j\xe0 8-bit\n\nlast line\n").encode("latin-1")
        t.eq(q.queue(body, sender, ["joe@dove.test"]), 0, "a message to joe@dove.test queued")
        t.ok(wait(lambda: len(dove.mails("joe@dove.test")) == 1, 30), "Dovecot stored it in joe's Maildir",
             q.logtext() + dove.logtext())
        got = (dove.mails("joe@dove.test") or [b""])[0]
        want = re.compile(rb"Return-Path: <postmaster@mx\.example\.test>\n"
                          rb"Delivered-To: alias-dove-joe@dove\.test\n"
                          rb"Received: \(qmail \d+ invoked by uid \d+\); [^\n]+\n" + re.escape(body) + rb"\Z")
        t.ok(want.match(got) is not None,
             "Dovecot's Return-Path, qmail-local's Delivered-To, then the message byte for byte", got)
        t.ok(wait(lambda: re.search(r"delivery \d+: success: .*qmail-lmtp: unix:%s: delivered: 250 "
                                    % re.escape(dove.sock.replace("_", " ")), log(q)) is not None, 10),
             "qmail-send logs the success with Dovecot's reply", log(q))

        # A list: the dead first server is passed over, TCP to Dovecot.
        t.eq(q.queue("Subject: lmtp-token-2\n\nvia tcp\n", sender, ["ann@dove2.test"]), 0, "a message to ann@dove2.test queued")
        t.ok(wait(lambda: len(dove.mails("ann@dove.test")) == 1, 30), "delivered over TCP after the dead server",
             q.logtext())
        t.ok(wait(lambda: re.search(r"success: .*127\.0\.0\.1:%d: unable to connect" % dead, log(q)) is not None, 10),
             "the dead server is named in the log", log(q))

        # An unknown user: a bounce with Dovecot's text.
        before = q.maildir_count("alias/Maildir")
        t.eq(q.queue("Subject: lmtp-token-3\n\nnobody\n", sender, ["nobody@dove.test"]), 0, "a message to nobody@dove.test queued")
        t.ok(wait(lambda: q.maildir_count("alias/Maildir") > before, 30), "a bounce comes back to the sender", q.logtext())
        bounce = "".join(m for m in q.maildir_texts("alias/Maildir") if "lmtp-token-3" in m)
        t.ok("nobody@dove.test" in bounce and "RCPT TO refused: 550 5.1.1" in bounce and "User doesn't exist" in bounce,
             "the bounce carries Dovecot's 5xx reply", bounce)

        # Dovecot down: the message waits in the queue, then goes.
        t.ok(dove.stop(), "Dovecot stopped")
        t.eq(q.queue("Subject: lmtp-token-4\n\nlater\n", sender, ["joe@dove.test"]), 0, "a message queued while Dovecot is down")
        t.ok(wait(lambda: re.search(r"deferral: .*qmail-lmtp: unix:%s: unable to connect" % re.escape(dove.sock.replace("_", " ")),
                                    log(q)) is not None, 30),
             "qmail-send logs a deferral with qmail-lmtp's reason", log(q))
        t.ok(q.queue_count() >= 1 and len(dove.mails("joe@dove.test")) == 1, "the message stays queued, nothing delivered")
        ok, why = dove.start()
        t.ok(ok, "Dovecot started again", why)
        q.send_pid_signal(signal.SIGALRM)
        t.ok(wait(lambda: any(b"lmtp-token-4" in m for m in dove.mails("joe@dove.test")), 30),
             "after ALRM the queued message reaches joe's Maildir", q.logtext())
        t.ok(wait(lambda: q.queue_count() == 0, 20), "and leaves the queue")
        q.stop()
finally:
    dove.cleanup()
t.done()
