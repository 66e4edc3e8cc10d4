"""nqtest: helpers for nqmail's system tests.

A system test is an executable that prints TAP. It builds a temporary
instance with scripts/setup.sh from the build under test (NQ_BUILD, default
build/), configures it, starts it, and talks to it only as users and clients
do. Nothing here talks to any address outside this machine, and nothing
queries the machine's resolver.

    from nqtest import Tap, Instance
    t = Tap()
    with Instance(t, name="example.test") as q:
        q.start()
        q.inject("To: x@example.test\n\nhi\n", ["x@example.test"])
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "delivered")
    t.done()
"""
import os, pwd, grp, shutil, signal, subprocess, sys, tempfile, time

TOP = os.environ.get("NQ_TOP") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("NQ_BUILD") or os.path.join(TOP, "build")
IS_ROOT = os.geteuid() == 0


DAEMONS = ("qmail-start", "qmail-send", "qmail-lspawn", "qmail-rspawn", "qmail-clean",
           "qmail-local", "qmail-getpw", "qmail-remote")


def proc_exe(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


def proc_status(pid):
    """/proc/PID/status as a dict of strings ({} when the process is gone)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def proc_uid(pid):
    """Real uid of pid, or None."""
    u = proc_status(pid).get("Uid")
    return int(u.split()[0]) if u else None


def proc_hwm_kb(pid):
    """Peak resident set size (VmHWM) of pid in kB, or None."""
    v = proc_status(pid).get("VmHWM")
    return int(v.split()[0]) if v else None


def proc_stat(pid):
    """ppid, pgrp, sid and comm of pid from /proc/PID/stat, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    return {"comm": comm, "state": rest[0], "ppid": int(rest[1]), "pgrp": int(rest[2]), "sid": int(rest[3])}


def unique_user(tag):
    """A user name unlikely to clash with a parallel test: nqt<tag><pid>."""
    return ("nqt%s%d" % (tag, os.getpid()))[:30]


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name), flush=True)
            # Failures also go to stderr, which prove shows (CI logs).
            print("# failed %d - %s" % (self.n, name), file=sys.stderr, flush=True)
            if diag is not None:
                for line in str(diag).splitlines()[-40:]:
                    print("#   " + line, flush=True)
                    print("#   " + line, file=sys.stderr, flush=True)
        return bool(cond)

    def eq(self, got, want, name, diag=None):
        d = "got:  %r\nwant: %r" % (got, want)
        if diag is not None:
            d += "\n" + (diag.decode("utf-8", "replace") if isinstance(diag, bytes) else str(diag))
        return self.ok(got == want, name, d)

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why), flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line, flush=True)

    def done(self):
        print("1..%d" % self.n, flush=True)
        sys.exit(1 if self.failed else 0)


def run(cmd, input=None, env=None, check=False, timeout=60, user=None, **kw):
    """Run cmd (list); returns CompletedProcess with bytes stdout/stderr.
    user: run as that user (root only) via setuid in the child."""
    pre = None
    if user is not None and IS_ROOT:
        pw = pwd.getpwnam(user)
        def pre():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    if isinstance(input, str):
        input = input.encode()
    return subprocess.run(cmd, input=input, env=env, capture_output=True,
                          timeout=timeout, check=check, preexec_fn=pre, **kw)


def wait(pred, timeout=20.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


class TestUser:
    """A real local user with a 0700 home, created and removed by the test (root only)."""
    def __init__(self, name, base=None):
        self.name = name
        self.home = os.path.join(base or "/home", name)
        subprocess.run(["userdel", "-r", name], capture_output=True)
        subprocess.run(["useradd", "-m", "-d", self.home, "-s", "/bin/sh", name], check=True, capture_output=True)
        os.chmod(self.home, 0o700)
        pw = pwd.getpwnam(name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.home, rel)
        with open(path, "w") as f:
            f.write(text)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)
        return path

    def maildirmake(self, rel="Maildir"):
        """Create ~/rel/{tmp,new,cur}, 0700, owned by the user."""
        top = os.path.join(self.home, rel)
        for s in ("", "tmp", "new", "cur"):
            d = os.path.join(top, s)
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.uid, self.gid)
            os.chmod(d, 0o700)
        return top

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.remove()

    def remove(self):
        # Never pkill by a uid shared with root or another account.
        if self.uid != 0:
            subprocess.run(["pkill", "-U", str(self.uid)], capture_output=True)
        subprocess.run(["userdel", "-r", self.name], capture_output=True)


class Instance:
    """A temporary nqmail instance. mode: 'root' (as root: qmail users and
    modes) or 'single' (as root: the instance is set up and run by the
    unprivileged user `owner`; as non-root: by the caller)."""
    def __init__(self, tap, name="example.test", mode=None, owner=None, keep=False):
        self.t = tap
        self.name = name
        self.mode = mode or ("root" if IS_ROOT else "single")
        self.owner = owner
        self.keep = keep or bool(os.environ.get("NQ_KEEP"))
        base = tempfile.mkdtemp(prefix="nqt-")
        os.chmod(base, 0o755)
        self.base = base
        self.dir = os.path.join(base, "q")
        self.log = os.path.join(base, "send.log")
        self.proc = None
        if self.mode == "single" and IS_ROOT and owner:
            pw = pwd.getpwnam(owner)
            os.chown(base, pw.pw_uid, pw.pw_gid)
        self.setup()

    # --- set-up ---------------------------------------------------------
    def as_owner(self):
        return self.owner if (self.mode == "single" and IS_ROOT) else None

    def setup(self):
        r = run(["sh", os.path.join(TOP, "scripts/setup.sh"), self.dir, BUILD], user=self.as_owner())
        if r.returncode != 0:
            raise RuntimeError("setup.sh failed: %s %s" % (r.stdout.decode(), r.stderr.decode()))
        cf = self.bin("config-fast")
        if os.path.exists(cf):
            r = run([cf, self.name], user=self.as_owner())
            if r.returncode != 0:
                raise RuntimeError("config-fast failed: %s" % r.stderr.decode())
        else:
            for f, v in (("me", self.name), ("locals", self.name), ("rcpthosts", self.name),
                         ("defaultdomain", self.name), ("plusdomain", self.name)):
                self.control(f, v)
            for a in ("postmaster", "mailer-daemon", "root"):
                self.write("alias/.qmail-" + a, "./Maildir/\n")
        self.maildirmake("alias/Maildir")
        # No test may query the machine's resolver: unless a test names its
        # own DNS server, point qmail-remote at a loopback port where
        # nothing answers, so remote lookups fail temporarily and locally.
        if not os.path.exists(self.path("control/dnsservers")):
            self.control("dnsservers", "127.0.0.1:1")
        # Nor may `qmailctl start` listen on the machine's public addresses
        # (a missing listen file means qmail's default, all addresses):
        # empty files turn every listener off until a test names its own.
        for f in ("smtpd-listen", "submission-listen", "smtps-listen", "pop3-listen", "pop3s-listen"):
            if not os.path.exists(self.path("control/" + f)):
                self.write("control/" + f, "", owner="root" if self.mode == "root" else None)

    def bin(self, prog):
        return os.path.join(self.dir, "bin", prog)

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def write(self, rel, text, mode=0o644, owner=None):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w" if isinstance(text, str) else "wb") as f:
            f.write(text)
        os.chmod(p, mode)
        if IS_ROOT:
            who = owner or ("alias" if rel.startswith("alias/") and self.mode == "root" else self.owner)
            if who:
                pw = pwd.getpwnam(who)
                os.chown(p, pw.pw_uid, pw.pw_gid)
        return p

    def control(self, name, text):
        if not text.endswith("\n"):
            text += "\n"
        return self.write("control/" + name, text, owner="root" if self.mode == "root" else None)

    def maildirmake(self, rel, owner=None):
        p = self.path(rel)
        for s in ("", "tmp", "new", "cur"):
            os.makedirs(os.path.join(p, s), exist_ok=True)
            os.chmod(os.path.join(p, s), 0o700)
            if IS_ROOT:
                who = owner or ("alias" if self.mode == "root" and rel.startswith("alias/") else self.owner)
                if who:
                    pw = pwd.getpwnam(who)
                    os.chown(os.path.join(p, s), pw.pw_uid, pw.pw_gid)
        return p

    # --- running ----------------------------------------------------------
    def start(self, defaultdelivery="./Maildir/", logger=None, wrap=None):
        """Start qmail-start directly, logging to self.log.
        logger: argv of a logger program for qmail-start (after
        defaultdelivery); wrap: argv put in front (e.g. strace -f -o F)."""
        logf = open(self.log, "ab")
        pre = None
        if self.as_owner():
            pw = pwd.getpwnam(self.owner)
            def pre():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        cmd = list(wrap or []) + [self.bin("qmail-start"), defaultdelivery] + list(logger or [])
        self.proc = subprocess.Popen(cmd,
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     cwd=self.dir, preexec_fn=pre, start_new_session=True)
        logf.close()
        wait(lambda: "status:" in self.logtext() or self.proc.poll() is not None, 20)
        return self.proc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.send_pid_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def send_pids(self):
        """pids of this instance's qmail-send processes."""
        out = []
        exe = self.bin("qmail-send")
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/exe" % pid) == exe:
                    out.append(int(pid))
            except OSError:
                pass
        return out

    def send_pid_signal(self, sig):
        for pid in self.send_pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def pids(self, prog):
        """pids of processes running this instance's bin/prog."""
        exe = self.bin(prog)
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit() and proc_exe(int(pid)) == exe:
                out.append(int(pid))
        return out

    def session_procs(self):
        """Processes started by the last start(): those in its session
        (and, for each, pid, exe, uid), as a list of dicts."""
        if not self.proc:
            return []
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            st = proc_stat(int(pid))
            if st and st["sid"] == self.proc.pid:
                out.append({"pid": int(pid), "exe": proc_exe(int(pid)), "uid": proc_uid(int(pid)),
                            "ppid": st["ppid"], "comm": st["comm"], "state": st["state"]})
        return out

    def kill_daemons(self, sig=signal.SIGKILL):
        """Send sig to qmail-start's whole session and to every process
        running one of the daemon programs (qmail-send, qmail-lspawn,
        qmail-rspawn, qmail-clean, qmail-local, qmail-getpw, qmail-start)
        of this instance. Injectors (qmail-inject, qmail-queue) are spared."""
        # A process may fork while we look: with SIGKILL, look again until
        # nothing of the instance is left (zombies aside).
        killed = set()
        for _ in range(100 if sig == signal.SIGKILL else 1):
            pids = set(p["pid"] for p in self.session_procs() if p["state"] != "Z")
            for prog in DAEMONS:
                pids.update(self.pids(prog))
            pids.discard(os.getpid())
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            killed |= pids
            if self.proc:
                self.proc.poll()
            time.sleep(0.02)
        if self.proc:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        return sorted(killed)

    def role_ids(self):
        """users/ids as {role: (uid, gid)}."""
        out = {}
        with open(self.path("users/ids")) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[1]:
                    out[parts[0]] = (int(parts[1]), int(parts[2]))
        return out

    def queue_count(self):
        """Number from qmail-qstat's 'messages in queue: N', or None."""
        for line in self.qstat().splitlines():
            if line.startswith("messages in queue:"):
                try:
                    return int(line.split(":", 1)[1])
                except ValueError:
                    return None
        return None

    def queue_files(self, dirs=("pid", "mess", "intd", "todo", "info", "local", "remote", "bounce")):
        """Relative paths of every file under those queue directories."""
        out = []
        for d in dirs:
            top = self.path("queue/" + d)
            for root, _, files in os.walk(top):
                for f in files:
                    out.append(os.path.relpath(os.path.join(root, f), self.path("queue")))
        return sorted(out)

    def logtext(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def inject(self, text, recipients=None, sender=None, user=None, args=None):
        """qmail-inject the message text; recipients None means -t style."""
        cmd = [self.bin("qmail-inject")]
        if sender is not None:
            cmd.append("-f" + sender)
        if args:
            cmd += args
        if recipients:
            cmd += list(recipients)
        return run(cmd, input=text, user=user or self.as_owner())

    def queue(self, message, sender, recipients, user=None):
        """Call qmail-queue directly: message on fd 0, envelope on fd 1."""
        env = b"F" + sender.encode() + b"\0" + b"".join(b"T" + r.encode() + b"\0" for r in recipients) + b"\0"
        if isinstance(message, str):
            message = message.encode()
        rfd, wfd = os.pipe()
        os.write(wfd, env)
        os.close(wfd)
        pre = None
        who = user or self.as_owner()
        if who and IS_ROOT:
            pw = pwd.getpwnam(who)
            def pre():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        p = subprocess.run([self.bin("qmail-queue")], input=message, stdout=rfd,
                           capture_output=False, stderr=subprocess.PIPE, preexec_fn=pre, timeout=60)
        os.close(rfd)
        return p.returncode

    def maildir_files(self, rel):
        p = self.path(rel) if not rel.startswith("/") else rel
        out = []
        for s in ("new", "cur"):
            d = os.path.join(p, s)
            if os.path.isdir(d):
                out += [os.path.join(d, f) for f in sorted(os.listdir(d))]
        return out

    def maildir_count(self, rel):
        return len(self.maildir_files(rel))

    def maildir_texts(self, rel):
        out = []
        for f in self.maildir_files(rel):
            with open(f, "rb") as fh:
                out.append(fh.read().decode("utf-8", "replace"))
        return out

    def qstat(self):
        return run([self.bin("qmail-qstat")]).stdout.decode()

    def wait(self, pred, timeout=20.0):
        return wait(pred, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)
        else:
            self.t.diag("kept instance in " + self.base)
