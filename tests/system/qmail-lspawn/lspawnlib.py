"""lspawnlib: drive qmail-lspawn directly through the spawn protocol
(src/mail/spawn.h) for the tests of qmail-lspawn, qmail-newu and
qmail-getpw: put messages into queue/mess as qmail-queue would, write
delivery records, read the reports."""
import os, pwd, select, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nqtest  # noqa: E402


def put_message(q, text):
    """Put text into q's queue as message N (N = inode of mess/S/N); returns N."""
    mess = q.path("queue/mess")
    tmp = os.path.join(mess, "tmp.%d" % os.getpid())
    with open(tmp, "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    n = os.stat(tmp).st_ino
    dst = os.path.join(mess, str(n % 23), str(n))
    os.rename(tmp, dst)
    os.chmod(dst, 0o644)
    if nqtest.IS_ROOT:
        who = "qmailq" if q.mode == "root" else q.owner
        if who:
            pw = pwd.getpwnam(who)
            os.chown(dst, pw.pw_uid, pw.pw_gid)
    return n


def fake_local(q, script=None):
    """Replace DIR/bin/qmail-local by a script that prints, on one line,
    its uid, gid and groups, then each argument after a '|', and exits with
    the code named by an extension "exitNNN", else 0. qmail-lspawn delivers
    in-process unless told otherwise, so from now on Lspawn(q) runs it with
    QMAILLOCAL and QMAILGETPW naming DIR/bin/qmail-local and
    DIR/bin/qmail-getpw: both are then run as programs, per delivery and
    per lookup, where a test can replace or wrap them."""
    script = script or r'''#!/bin/sh
printf '%s %s %s' "$(id -u)" "$(id -g)" "$(id -G | tr ' ' ,)"
for a in "$@"; do printf '|%s' "$a"; done
printf '\n'
case "$6" in exit*) exit "${6#exit}" ;; esac
exit 0
'''
    p = q.bin("qmail-local")
    with open(p + ".new", "w") as f:
        f.write(script)
    os.chmod(p + ".new", 0o755)
    os.rename(p + ".new", p)
    q.lspawn_env = {"QMAILLOCAL": p, "QMAILGETPW": q.bin("qmail-getpw")}


class Lspawn:
    """A running qmail-lspawn of instance q (as the owner in single mode)."""
    def __init__(self, q, defaultdelivery="./Maildir/", env=None):
        pre = None
        who = q.as_owner()
        if who:
            pw = pwd.getpwnam(who)
            def pre():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        e = dict(os.environ)
        e.pop("NQMAIL_HOME", None)
        e.update(getattr(q, "lspawn_env", {}))
        if env:
            e.update(env)
        self.p = subprocess.Popen([q.bin("qmail-lspawn"), defaultdelivery],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=pre, env=e, cwd="/")
        self.pending = b""

    def send(self, slot, msg, sender, rcpt):
        rec = b"%d\0%d\0" % (slot, msg) + sender.encode() + b"\0" + rcpt.encode() + b"\0"
        self.p.stdin.write(rec)
        self.p.stdin.flush()

    def reports(self, n, timeout=30):
        """Read n reports; returns {slot: (status, text)}."""
        out = {}
        end = time.time() + timeout
        while len(out) < n and time.time() < end:
            while True:
                parts = self.pending.split(b"\0", 2)
                if len(parts) < 3:
                    break
                out[int(parts[0])] = (parts[1][:1].decode(), parts[1][1:].decode("utf-8", "replace"))
                self.pending = parts[2]
            if len(out) >= n:
                break
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, end - time.time()))
            if not r:
                break
            data = os.read(self.p.stdout.fileno(), 65536)
            if not data:
                break
            self.pending += data
        return out

    def one(self, slot, msg, sender, rcpt, timeout=30):
        """Run one delivery and return (status, text)."""
        self.send(slot, msg, sender, rcpt)
        return self.reports(1, timeout).get(slot, ("?", "no report"))

    def close(self, timeout=30):
        """End of input: qmail-lspawn finishes and exits; returns
        (exit code, remaining stdout, stderr)."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rest = self.p.stdout.read()
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rest = b""
        return self.p.returncode, self.pending + rest, self.p.stderr.read()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def fields(text):
    """What the fake qmail-local printed: {"uid", "gid", "groups", "args"}.
    Its one line ends in a newline, which the report shows as '/'."""
    if text.endswith("/"):
        text = text[:-1]
    parts = text.split("|")
    ids = parts[0].split(" ")
    if len(ids) != 3:
        return {"uid": None, "gid": None, "groups": None, "args": parts}
    return {"uid": int(ids[0]), "gid": int(ids[1]), "groups": ids[2], "args": parts[1:]}
