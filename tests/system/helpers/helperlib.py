"""helperlib: what the tests of the dot-qmail helpers and the userland
programs share (issue 6).

Box(tap, tag) is a root-mode test instance with one real local user
(home 0700, ~/Maildir made), started with the instance's bin/ first in
PATH, as qmailctl starts it, so .qmail lines can name the helpers
without a path. deliver() sends a message through qmail-queue and
waits until the queue is empty again.

peak_rss(argv, data, env) runs one program with data on its standard
input and returns (exit code, stdout, stderr, peak RSS in kB of that
program alone): strace holds the program for a moment when it calls
exit_group, long enough to read VmHWM from /proc. (ru_maxrss would
count the memory of the Python process that forked it.)
"""
import os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import nqtest  # noqa: E402
from nqtest import Tap, Instance, TestUser, run, unique_user, IS_ROOT, BUILD  # noqa: E402,F401

NAME = "example.test"


BUILD = os.path.abspath(BUILD)     # tests may run programs from another directory


def bin_(prog):
    return os.path.join(BUILD, "bin", prog)


def files_in(d):
    out = []
    for s in ("new", "cur"):
        p = os.path.join(d, s)
        if os.path.isdir(p):
            out += [os.path.join(p, f) for f in sorted(os.listdir(p))]
    return out


def texts_in(d):
    return [open(f, "rb").read() for f in files_in(d)]


class Box:
    """A started root instance and a local user. Use with `with`."""
    def __init__(self, tap, tag, users=1):
        self.t = tap
        self.users = [TestUser(unique_user(tag + str(i))) for i in range(users)]
        self.u = self.users[0]
        for u in self.users:
            u.maildirmake("Maildir")
        self.q = None

    def __enter__(self):
        try:
            self.q = Instance(self.t, name=NAME)
            self.q.__enter__()
        except Exception:
            self.cleanup_users()
            raise
        return self

    def start(self):
        path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        if not path.startswith(self.q.path("bin") + ":"):
            os.environ["PATH"] = self.q.path("bin") + ":" + path
        self.q.start()

    def __exit__(self, *a):
        try:
            if self.q:
                self.q.__exit__(*a)
        finally:
            self.cleanup_users()

    def cleanup_users(self):
        for u in self.users:
            u.remove()

    def addr(self, ext="", u=None):
        u = u or self.u
        return "%s%s@%s" % (u.name, ("-" + ext) if ext else "", NAME)

    def dotqmail(self, ext, text, u=None, mode=0o644):
        u = u or self.u
        return u.write(".qmail" + (("-" + ext) if ext else ""), text, mode)

    def maildir(self, u=None, rel="Maildir"):
        return texts_in(os.path.join((u or self.u).home, rel))

    def alias_maildir(self):
        return texts_in(self.q.path("alias/Maildir"))

    def send(self, message, rcpts, sender="sender@example.org"):
        if isinstance(message, str):
            message = message.encode()
        return self.q.queue(message, sender, rcpts)

    def idle(self, timeout=60):
        """Wait until the queue is empty (every delivery done or bounced)."""
        return self.q.wait(lambda: self.q.queue_count() == 0, timeout)

    def deliver(self, message, rcpts, sender="sender@example.org", timeout=60):
        rc = self.send(message, rcpts, sender)
        return rc == 0 and self.idle(timeout)

    def check_bounce(self, ext, token, texts, what, sender, untouched=("Maildir",)):
        """A message with token, sent by sender to user-ext whose .qmail
        program fails permanently, comes back as one bounce in the
        sender's ./Back/ Maildir carrying each of texts after the failed
        address, as a permanent error; nothing reached the Maildirs in
        untouched (the .qmail lines after the program, the forward's
        target)."""
        t = self.t
        t.ok(self.deliver(b"Subject: s\n\n" + token + b"\n", [self.addr(ext)], sender=sender),
             "message to user-%s done" % ext, self.q.logtext())
        got = [x for x in self.maildir(rel="Back") if token in x]
        t.eq(len(got), 1, "%s: one bounce in the sender's Maildir" % ext, self.q.logtext())
        if got:
            m = got[0]
            t.ok(m.startswith(b"Return-Path: <>\n") and b"\nSubject: failure notice\n" in m,
                 "%s: it is a bounce" % ext, m[:400])
            t.ok(all(("<%s>:\n%s" % (self.addr(ext), x)).encode() in m for x in texts),
                 "%s: the bounce carries %s" % (ext, what), m[:2000])
            t.ok(b"This is a permanent error" in m, "%s: as a permanent error" % ext, m[:2000])
        t.ok(not any(token in x for d in untouched for x in self.maildir(rel=d)),
             "%s: nothing forwarded, ./Maildir/ not reached" % ext)

    def wait_for(self, pred, timeout=30):
        return self.q.wait(pred, timeout)


def qlenv(u, local, ext="", sender="sender@example.org", host=NAME, extra=None):
    """The environment qmail-local gives a program (qmail-command(8))."""
    rcpt = "%s@%s" % (local, host)
    env = {
        "PATH": os.path.join(BUILD, "bin") + ":/usr/bin:/bin",
        "SENDER": sender, "NEWSENDER": sender, "RECIPIENT": rcpt,
        "USER": u, "HOME": "/nonexistent", "HOST": host, "LOCAL": local, "EXT": ext,
        "DTLINE": "Delivered-To: %s\n" % rcpt,
        "RPLINE": "Return-Path: <%s>\n" % sender,
        "UFLINE": "From %s Thu Jan  1 00:00:00 1970\n" % (sender or "MAILER-DAEMON"),
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if extra:
        env.update(extra)
    return env


def _children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = nqtest.proc_stat(int(d))
        if st and st["ppid"] == pid:
            out.append(int(d))
    return out


def peak_rss(argv, data, env, hold=2.0, cwd=None, stdin_file=True):
    """Run argv with data on stdin (a seekable file, as qmail-local gives
    it); returns (code, stdout, stderr, peak kB or None)."""
    holdus = int(hold * 1000000)
    cmd = ["strace", "-o", "/dev/null", "-e", "trace=exit_group",
           "-e", "inject=exit_group:delay_enter=%d" % holdus] + list(argv)
    f = tempfile.TemporaryFile()
    f.write(data)
    f.seek(0)
    p = subprocess.Popen(cmd, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    f.close()
    kb = None
    # The traced program is strace's child once it has exec'd argv[0]
    # (before that it is a copy of strace); sample until it has exited.
    exe = os.path.realpath(argv[0])
    end = time.time() + 60
    while p.poll() is None and time.time() < end:
        for pid in _children(p.pid):
            if nqtest.proc_exe(pid) == exe:
                v = nqtest.proc_hwm_kb(pid)
                if v is not None:
                    kb = v if kb is None else max(kb, v)
        time.sleep(0.005)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err, kb


def big_message(size, kind="body"):
    """A message of about size bytes: a long header line or a long body."""
    if kind == "header":
        return b"X-Huge: " + b"h" * size + b"\nSubject: big\nFrom: a@example.org\n\nbody\n"
    line = b"x" * 76 + b"\n"
    n = size // len(line) + 1
    return b"From: a@example.org\nSubject: big\n\n" + line * n


def run_file(cmd, data, env, timeout=60):
    """Run cmd with data on stdin as a seekable file (qmail-local gives a
    program the message that way); returns CompletedProcess."""
    f = tempfile.TemporaryFile()
    f.write(data.encode() if isinstance(data, str) else data)
    f.seek(0)
    try:
        return subprocess.run(cmd, stdin=f, capture_output=True, env=env, timeout=timeout)
    finally:
        f.close()
