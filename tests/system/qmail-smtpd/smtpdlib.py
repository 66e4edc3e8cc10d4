"""smtpdlib: helpers for the qmail-smtpd tests.

A test makes an nqtest.Instance, calls prepare(q) (the privileges setup
gives the SMTP helpers, the state directory), starts qmail-smtpd under
tcpserver on a free loopback port with Server(q, ...), and talks to it with
smtplib or with Raw (a socket that reads whole SMTP replies). Without
qmail-send running, what qmail-smtpd queued stays in the queue, and
queued(q) reads it back (envelope and message bytes).

tcpserver always runs with -H -R -l so that no test queries a resolver.
"""
import grp, os, pwd, re, shutil, signal, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import IS_ROOT, run, wait  # noqa: E402

SPLIT = 23
HERE = os.path.dirname(os.path.abspath(__file__))


def prepare(q):
    """What setup.sh gives (or, until it does, what these tests give) the
    SMTP service: qmail-rcptcheck set-uid root and checkpassword set-gid
    shadow in a root instance, and DIR/state/smtpd owned by qmaild."""
    state = q.path("state/smtpd")
    os.makedirs(state, exist_ok=True)
    os.chmod(q.path("state"), 0o755)
    os.chmod(state, 0o700)
    if q.mode == "root":
        ids = q.role_ids()
        os.chown(state, *ids["qmaild"])
        rc = q.bin("qmail-rcptcheck")
        os.chown(rc, 0, ids["qmailq"][1])
        os.chmod(rc, 0o4711)
        cp = q.bin("checkpassword")
        if os.path.exists(cp):
            try:
                sg = grp.getgrnam("shadow").gr_gid
            except KeyError:
                sg = 0
            os.chown(cp, 0, sg)
            os.chmod(cp, 0o2755)
    elif IS_ROOT and q.owner:
        pw = pwd.getpwnam(q.owner)
        os.chown(q.path("state"), pw.pw_uid, pw.pw_gid)
        os.chown(state, pw.pw_uid, pw.pw_gid)


def free_port(family=socket.AF_INET, addr="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((addr, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def make_cert(path, cn="example.test"):
    """A self-signed certificate and its key in one PEM file."""
    d = tempfile.mkdtemp(prefix="nqcert-")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=" + cn, "-keyout", d + "/key.pem", "-out", d + "/cert.pem"],
                       check=True, capture_output=True)
        with open(path, "wb") as out:
            for f in ("cert.pem", "key.pem"):
                with open(os.path.join(d, f), "rb") as fh:
                    out.write(fh.read())
    finally:
        shutil.rmtree(d, ignore_errors=True)
    os.chmod(path, 0o640)
    return path


class TcpServer:
    """tcpserver (-H -R: no DNS) on a free loopback port running argv, as
    the instance's owner for a single-user instance; its log, and a stop
    that also kills the sessions still running (they stay in tcpserver's
    session, setuid or not). Subclasses call _start."""

    def _start(self, q, addr, name, tcpargs, argv, env):
        self.q = q
        self.addr = addr
        self.logpath = os.path.join(q.base, "%s-%d.log" % (name, id(self)))
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if "NQ_BUILD" in os.environ:
            base["NQ_BUILD"] = os.environ["NQ_BUILD"]
        base.update(env or {})
        pre = None
        if q.as_owner():
            pw = pwd.getpwnam(q.owner)

            def pre():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        for _ in range(20):
            self.port = free_port(fam, addr)
            log = open(self.logpath, "ab")
            self.proc = subprocess.Popen(
                ["tcpserver", "-H", "-R", "-l", "localhost"] + list(tcpargs) + [addr, str(self.port)] + list(argv),
                env=base, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=pre, start_new_session=True)
            log.close()
            if wait(lambda: self._up(fam) or self.proc.poll() is not None, 10) and self.proc.poll() is None:
                return
        raise RuntimeError("tcpserver did not start: " + self.log())

    def _up(self, fam):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.settimeout(1)
            s.connect((self.addr, self.port))
            s.close()
            return True
        except OSError:
            return False

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.getsid(int(pid)) == self.proc.pid:
                        os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


class Server(TcpServer):
    """tcpserver running DIR/bin/qmail-smtpd on a free loopback port.
    env: extra environment (RELAYCLIENT, SUBMISSION, ...); args: the
    qmail-smtpd arguments (a checkpassword command line)."""

    def __init__(self, q, env=None, args=(), addr="127.0.0.1", limit=400, prog="qmail-smtpd"):
        if q.mode == "root":
            ids = q.role_ids()
            ug = ["-u", str(ids["qmaild"][0]), "-g", str(ids["qmaild"][1])]
        else:
            ug = []
        self._start(q, addr, "smtpd", ["-c", str(limit), "-b", "200"] + ug, [q.bin(prog)] + list(args), env)


class Raw:
    """A plain socket speaking SMTP by hand."""

    def __init__(self, port, addr="127.0.0.1", timeout=20):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.s = socket.create_connection((addr, port), timeout=timeout) if fam == socket.AF_INET \
            else socket.socket(fam, socket.SOCK_STREAM)
        if fam != socket.AF_INET:
            self.s.settimeout(timeout)
            self.s.connect((addr, port))
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            if not d:
                return None
            self.buf += d
        i = self.buf.index(b"\n") + 1
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln.decode("utf-8", "replace")

    def reply(self):
        """One whole reply: (code, text of all lines) or (None, '') at EOF."""
        lines = []
        while True:
            ln = self.line()
            if ln is None:
                return (None, "".join(lines))
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                break
        try:
            return (int(lines[0][:3]), "".join(lines))
        except ValueError:
            return (None, "".join(lines))

    def cmd(self, c):
        self.send(c + "\r\n")
        return self.reply()

    def rest(self, timeout=3):
        """Everything until the server closes (or timeout)."""
        self.s.settimeout(timeout)
        out = self.buf
        self.buf = b""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    break
                out += d
        except OSError:
            pass
        return out.decode("utf-8", "replace")

    def closed(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except OSError:
            return False

    def starttls(self, server_hostname=None):
        """Wrap the socket in TLS (after a 220 to STARTTLS). Bytes already
        received and not read are dropped, as a careful client does."""
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.buf = b""
        self.s = ctx.wrap_socket(self.s, server_hostname=server_hostname)
        return self.s

    def close(self):
        self.s.close()


class Message:
    def __init__(self, num, envelope, data):
        self.num = num
        self.data = data
        self.sender = None
        self.rcpts = []
        for r in envelope.split(b"\0"):
            if r.startswith(b"F") and self.sender is None:
                self.sender = r[1:].decode("utf-8", "replace")
            elif r.startswith(b"T"):
                self.rcpts.append(r[1:].decode("utf-8", "replace"))
        i = data.find(b"\n\n")
        self.head = (data if i < 0 else data[:i + 1]).decode("utf-8", "replace")
        self.body = b"" if i < 0 else data[i + 2:]

    def received(self):
        return re.findall(r"^Received:.*(?:\n[ \t].*)*", self.head, re.M)


def queued(q):
    """Messages waiting in queue/todo (qmail-send not running)."""
    todo = q.path("queue/todo")
    out = []
    for name in sorted(os.listdir(todo), key=int):
        num = int(name)
        try:
            with open(os.path.join(todo, name), "rb") as f:
                env = f.read()
            with open(q.path("queue/mess/%d/%d" % (num % SPLIT, num)), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        out.append(Message(num, env, data))
    return out


def _unlink(path):
    # A qmail-queue still finishing (or cleaning up after a refused
    # message) may remove its own file first: that is not an error here.
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def clear(q):
    """Empty the queue (qmail-send not running)."""
    for d in ("todo", "intd", "pid"):
        p = q.path("queue/" + d)
        for n in os.listdir(p):
            _unlink(os.path.join(p, n))
    for s in range(SPLIT):
        p = q.path("queue/mess/%d" % s)
        for n in os.listdir(p):
            _unlink(os.path.join(p, n))


def queue_empty(q):
    """No message file anywhere in the queue (a half-written one included)."""
    return [f for f in q.queue_files(("pid", "mess", "intd", "todo"))] == []


def session(port, sender, rcpts, body, helo="client.test", addr="127.0.0.1"):
    """One plain SMTP transaction with smtplib; returns the exception or
    None, and the DATA reply."""
    import smtplib
    s = smtplib.SMTP(addr, port, local_hostname=helo, timeout=30)
    try:
        s.ehlo()
        s.mail(sender)
        for r in rcpts:
            code, _ = s.rcpt(r)
        return s.data(body)
    finally:
        try:
            s.quit()
        except Exception:
            pass


class Sink:
    """A minimal SMTP server on loopback that accepts everything and
    records (sender, recipients, data): where a relayed message would go
    (control/smtproutes points every remote domain here)."""

    def __init__(self):
        import threading
        self.got = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop_ = False
        self.th = threading.Thread(target=self._loop, daemon=True)
        self.th.start()

    def _loop(self):
        import threading
        while not self.stop_:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            # a thread per session, as a real server: a client may keep
            # its session open for a next message (qmail-rspawn does)
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            self._serve(c)
        except OSError:
            pass
        finally:
            c.close()

    def _serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 sink ESMTP\r\n")
        sender, rcpts = None, []
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                c.sendall(b"250 sink\r\n")
            elif cmd.startswith(b"MAIL"):
                sender, rcpts = line.strip()[10:], []
                c.sendall(b"250 ok\r\n")
            elif cmd.startswith(b"RCPT"):
                rcpts.append(line.strip()[8:].decode("utf-8", "replace").strip("<>"))
                c.sendall(b"250 ok\r\n")
            elif cmd == b"DATA":
                c.sendall(b"354 go\r\n")
                data = b""
                while True:
                    l = f.readline()
                    if not l or l == b".\r\n":
                        break
                    data += l
                self.got.append((sender, rcpts, data))
                c.sendall(b"250 ok\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 ok\r\n")

    def close(self):
        self.stop_ = True
        self.sock.close()
