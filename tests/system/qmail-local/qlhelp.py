"""qlhelp: running qmail-local directly, without a running qmail.

Recipient(tag) is the user a delivery is for. As root it is a real
TestUser (home 0700, created and removed here) and qmail-local runs under
its uid, as qmail-lspawn would run it. As an ordinary user it is the caller
with a temporary 0700 home. Either way the message goes in on fd 0 as a
seekable file, as qmail-lspawn gives it.
"""
import os, pwd, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nqtest  # noqa: E402

QL = os.path.join(nqtest.BUILD, "bin", "qmail-local")
MDM = os.path.join(nqtest.BUILD, "bin", "maildirmake")


class Recipient:
    def __init__(self, tag):
        self.tu = None
        if nqtest.IS_ROOT:
            self.tu = nqtest.TestUser("nql" + tag)
            self.name, self.home = self.tu.name, self.tu.home
            self.uid, self.gid = self.tu.uid, self.tu.gid
        else:
            self.home = tempfile.mkdtemp(prefix="nql-home-")
            os.chmod(self.home, 0o700)
            self.name = pwd.getpwuid(os.getuid()).pw_name
            self.uid, self.gid = os.getuid(), os.getgid()

    def path(self, rel):
        return os.path.join(self.home, rel)

    def write(self, rel, text, mode=0o644):
        p = self.path(rel)
        with open(p, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        os.chmod(p, mode)
        if nqtest.IS_ROOT:
            os.chown(p, self.uid, self.gid)
        return p

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def unlink(self, rel):
        try:
            os.unlink(self.path(rel))
        except FileNotFoundError:
            pass

    def preexec(self, extra=None):
        def pre():
            if nqtest.IS_ROOT:
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
            if extra:
                extra()
        return pre

    def maildirmake(self, rel):
        r = subprocess.run([MDM, rel], cwd=self.home, preexec_fn=self.preexec(), capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("maildirmake failed: %r" % r.stderr)
        return self.path(rel)

    def maildir(self, rel="Maildir"):
        """Contents of the messages in rel/new, oldest name first."""
        d = self.path(os.path.join(rel, "new"))
        out = []
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f), "rb") as fh:
                out.append(fh.read())
        return out

    def clear_maildir(self, rel="Maildir"):
        for sub in ("new", "cur", "tmp"):
            d = self.path(os.path.join(rel, sub))
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))

    def deliver(self, message, local=None, dash="", ext="", domain="example.test",
                sender="sender@example.org", default="./Maildir/", opts=(), env=None,
                extra_pre=None, bin=None, timeout=60, popen=False):
        """Run qmail-local; returns (exit code, stdout text, stderr text)."""
        if local is None:
            local = self.name + (dash + ext if ext else "")
        mf = tempfile.TemporaryFile()
        mf.write(message.encode() if isinstance(message, str) else message)
        mf.flush()
        mf.seek(0)
        cmd = [bin or QL] + list(opts) + ["--", self.name, self.home, local, dash, ext, domain, sender, default]
        if env is None:
            env = {"PATH": "/usr/bin:/bin"}
        # sanitizer settings of the harness (scripts/check.sh) reach the program
        env = dict(env)
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ and k not in env:
                env[k] = os.environ[k]
        if popen:
            p = subprocess.Popen(cmd, stdin=mf, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=env, preexec_fn=self.preexec(extra_pre))
            mf.close()
            return p
        r = subprocess.run(cmd, stdin=mf, capture_output=True, env=env, timeout=timeout,
                           preexec_fn=self.preexec(extra_pre))
        mf.close()
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    def remove(self):
        if self.tu:
            self.tu.remove()
        else:
            shutil.rmtree(self.home, ignore_errors=True)


MESSAGE = "From: a@example.org\nTo: b@example.test\nSubject: test\n\nline one\nFrom the start\n>From quoted\nlast line\n"
