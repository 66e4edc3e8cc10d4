"""remotelib: peers for qmail-remote's tests: scripted SMTP sinks and a
dnsmasq on loopback.

Sinks listen on PORT (2525), not 25: other tests start qmail-smtpd on
*:25 through qmailctl at the same time, and a wildcard listener there
would take (or refuse) our connections. The tests route every MX lookup
to that port with control/smtproutes's "::2525" (MX, another port);
MXROUTE is that line.

    sink = Sink("127.0.0.12")                # port 25 by default
    sink.start()
    ... deliver ...
    sink.messages   -> [Msg(mailfrom, rcpts, data, tls)]
    sink.sessions   -> [Session(cmds, ...)]
    sink.stop()

A Sink answers as a scripted server: greeting, EHLO extensions, replies
per command (functions of the argument), TLS with a given certificate,
AUTH, and misbehaviour (silent, slow, dropping in the middle of DATA,
data injected after the STARTTLS reply). It counts messages the way a
real server would: each "\\r\\n.\\r\\n" ends one.

Dns starts dnsmasq on a free port of 127.0.0.1 with the records given, so
tests never touch the machine's resolver.
"""
import os, socket, ssl, subprocess, tempfile, threading, time, base64, signal


PORT = 2525
MXROUTE = "::%d" % PORT
LIVE = []   # sinks started and not stopped


def settle_all():
    for s in list(LIVE):
        s.settle()


class Msg:
    def __init__(self, mailfrom, rcpts, data, tls, params):
        self.mailfrom, self.rcpts, self.data, self.tls, self.params = mailfrom, rcpts, data, tls, params

    def __repr__(self):
        return "Msg(%r, %r, %d bytes, tls=%r)" % (self.mailfrom, self.rcpts, len(self.data), self.tls)


class Session:
    def __init__(self):
        self.cmds = []          # command lines as received (str)
        self.pipelined = False  # RCPT was already buffered when MAIL was answered
        self.tls = False
        self.auth = None        # (user, password) seen
        self.closed_by_client = False
        self.peer = None        # the client's address


class Sink:
    def __init__(self, host, port=PORT, greeting="220 sink.test ESMTP", ext=("PIPELINING", "SIZE 10000000", "8BITMIME"),
                 mail=None, rcpt=None, data="354 go ahead", final="250 ok: queued as 1234",
                 helo=None, ehlo=None, silent=False, slow=0, drop_in_data=False, cert=None,
                 starttls_inject=False, auth=None, tls_ext=None, delay_mail=0.0, quit_delay=0, tls_fail=False, auth_mechs="PLAIN LOGIN"):
        self.host, self.port = host, port
        self.greeting = greeting
        self.ext = list(ext)
        self.tls_ext = list(tls_ext) if tls_ext is not None else None
        self.mail = mail or (lambda a: "250 ok")
        self.rcpt = rcpt or (lambda a: "250 ok")
        self.data = data
        self.final = final
        self.helo = helo or (lambda a: "250 sink.test")
        self.ehlo = ehlo            # function(arg) -> reply or None for the normal one
        self.silent = silent
        self.slow = slow
        self.drop_in_data = drop_in_data
        self.cert = cert            # PEM file with key and certificate: offer STARTTLS
        self.starttls_inject = starttls_inject
        self.tls_fail = tls_fail    # answer STARTTLS, then talk garbage instead of TLS
        self.auth = auth            # (user, password) accepted; AUTH offered after TLS
        self.auth_mechs = auth_mechs
        self.auth_also = []         # more (user, password) pairs accepted
        self.tls_setup = None       # function(server SSLContext) called before each handshake
        self.delay_mail = delay_mail
        self.messages = []
        self.sessions = []
        self.connections = 0
        self.active = 0
        self.raw = []               # bytes after each DATA, as received
        self.lock = threading.Lock()
        self.sock = None
        self.stopping = False
        self.threads = []

    # -- life -------------------------------------------------------------
    def start(self):
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, self.port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        t = threading.Thread(target=self.loop, daemon=True)
        t.start()
        self.threads.append(t)
        LIVE.append(self)
        return self

    def stop(self):
        self.settle()
        self.stopping = True
        for t in self.threads[:1]:
            t.join(2)
        try:
            self.sock.close()
        except OSError:
            pass
        if self in LIVE:
            LIVE.remove(self)

    def settle(self, timeout=10):
        """Wait until no connection is being served."""
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if not self.active:
                    return True
            time.sleep(0.01)
        return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def loop(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.active += 1
            t = threading.Thread(target=self.serve, args=(c,), daemon=True)
            t.start()

    # -- one connection -----------------------------------------------------
    def serve(self, c):
        s = Session()
        try:
            s.peer = c.getpeername()[0]
        except OSError:
            pass
        with self.lock:
            self.sessions.append(s)
        c.settimeout(30)
        io = _Conn(c)
        try:
            self.talk(io, s)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                io.close()
            except OSError:
                pass
            with self.lock:
                self.active -= 1

    def talk(self, io, s):
        if self.silent:
            time.sleep(self.silent if isinstance(self.silent, (int, float)) and self.silent is not True else 30)
            return
        if self.slow:
            time.sleep(self.slow)
        io.send(self.greeting + "\r\n")
        if not self.greeting.startswith("2"):
            # a refusing server still answers QUIT, then closes
            line = io.line()
            if line is not None:
                s.cmds.append(line)
                io.send("221 bye\r\n")
            return
        mailfrom, rcpts, params = None, [], ""
        while True:
            line = io.line()
            if line is None:
                return
            s.cmds.append(line)
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb == "EHLO":
                r = self.ehlo(arg) if self.ehlo else None
                if r is None:
                    ext = self.tls_ext if (s.tls and self.tls_ext is not None) else list(self.ext)
                    if self.cert and not s.tls:
                        ext.append("STARTTLS")
                    if self.auth and s.tls:
                        ext.append("AUTH " + self.auth_mechs)
                    lines = ["sink.test hello"] + ext
                    r = "\r\n".join(("250-" if i < len(lines) - 1 else "250 ") + l for i, l in enumerate(lines))
                io.send(r + "\r\n")
            elif verb == "HELO":
                io.send(self.helo(arg) + "\r\n")
            elif verb == "STARTTLS" and self.cert and not s.tls:
                if self.tls_fail:
                    io.send("220 go ahead\r\n")
                    time.sleep(0.2)
                    io.send("this is not TLS\r\n" * 20)
                    return
                if self.starttls_inject:
                    io.send("220 go ahead\r\n250 injected\r\n")
                    time.sleep(1)
                    return
                io.send("220 go ahead\r\n")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.cert)
                if self.tls_setup:
                    self.tls_setup(ctx)
                io.starttls(ctx)
                s.tls = True
            elif verb == "AUTH" and self.auth:
                parts = arg.split()
                if parts[0].upper() == "PLAIN":
                    blob = parts[1] if len(parts) > 1 else None
                    if blob is None:
                        io.send("334 \r\n")
                        blob = io.line()
                    f = base64.b64decode(blob).split(b"\0")
                    user, pw = f[1].decode(), f[2].decode()
                else:
                    io.send("334 VXNlcm5hbWU6\r\n")
                    user = base64.b64decode(io.line()).decode()
                    io.send("334 UGFzc3dvcmQ6\r\n")
                    pw = base64.b64decode(io.line()).decode()
                s.auth = (user, pw)
                if (user, pw) == tuple(self.auth) or (user, pw) in self.auth_also:
                    io.send("235 ok\r\n")
                else:
                    io.send("535 5.7.8 bad credentials\r\n")
            elif verb == "MAIL":
                if self.delay_mail:
                    time.sleep(self.delay_mail)
                    s.pipelined = s.pipelined or io.buffered(b"RCPT")
                a = arg[5:] if arg.upper().startswith("FROM:") else arg
                addr, _, params = a.partition(">")
                addr = addr.lstrip("<")
                r = self.mail(addr)
                if r.startswith("2"):
                    mailfrom, rcpts = addr, []
                io.send(r + "\r\n")
            elif verb == "RCPT":
                a = arg[3:] if arg.upper().startswith("TO:") else arg
                addr = a.strip().lstrip("<").split(">")[0]
                r = self.rcpt(addr)
                if r.startswith("2"):
                    rcpts.append(addr)
                io.send(r + "\r\n")
            elif verb == "DATA":
                if mailfrom is None or not rcpts:
                    io.send("503 no valid recipients\r\n")
                    continue
                io.send(self.data + "\r\n")
                if not self.data.startswith("3"):
                    continue
                data = io.until_dot(drop=self.drop_in_data)
                if data is None:
                    return
                with self.lock:
                    self.raw.append(data)
                    self.messages.append(Msg(mailfrom, rcpts, data, s.tls, params.strip()))
                io.send(self.final + "\r\n")
                mailfrom, rcpts = None, []
            elif verb == "RSET":
                mailfrom, rcpts = None, []
                io.send("250 ok\r\n")
            elif verb == "NOOP":
                io.send("250 ok\r\n")
            elif verb == "QUIT":
                s.closed_by_client = True
                io.send("221 bye\r\n")
                return
            else:
                io.send("502 unimplemented\r\n")

    def count_terminators(self):
        return len(self.messages)


class _Conn:
    """Buffered lines over a socket that can switch to TLS."""
    def __init__(self, c):
        self.c = c
        self.buf = b""

    def send(self, s):
        self.c.sendall(s.encode() if isinstance(s, str) else s)

    def fill(self):
        b = self.c.recv(65536)
        if not b:
            return False
        self.buf += b
        return True

    def line(self):
        while b"\n" not in self.buf:
            if not self.fill():
                return None
        l, _, self.buf = self.buf.partition(b"\n")
        return l.rstrip(b"\r").decode("utf-8", "replace")

    def buffered(self, what):
        self.c.setblocking(False)
        try:
            try:
                self.fill()
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
        finally:
            self.c.setblocking(True)
            self.c.settimeout(30)
        return what in self.buf

    def until_dot(self, drop=False):
        """The message data up to the first CRLF.CRLF (the terminator
        excluded, the final CRLF included). drop: close half-way."""
        got = b""
        while True:
            i = self.buf.find(b"\r\n.\r\n")
            if self.buf.startswith(b".\r\n") and not got:
                self.buf = self.buf[3:]
                return b""
            if i >= 0:
                data = self.buf[:i + 2]
                self.buf = self.buf[i + 5:]
                return data
            if drop and len(self.buf) > 10:
                return None
            if not self.fill():
                return None

    def starttls(self, ctx):
        if self.buf:
            raise ValueError("pipelined data before TLS")
        self.c = ctx.wrap_socket(self.c, server_side=True)

    def close(self):
        self.c.close()


class Dns:
    """dnsmasq on 127.0.0.1:<free port>, authoritative for the names given.
    records: list of dnsmasq options without the leading "--", e.g.
    "mx-host=example.test,mx1.example.test,10", "host-record=mx1.example.test,127.0.0.5".
    local: domains answered NXDOMAIN/NODATA when not listed (default test)."""
    def __init__(self, records, local=("test",), servfail=(), v6=False):
        self.dir = tempfile.mkdtemp(prefix="nqt-dns-")
        self.port = free_port()
        self.proc = None
        self.fail_sock = None
        args = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
                "--port=%d" % self.port, "--listen-address=127.0.0.1", "--bind-interfaces",
                ] + (["--listen-address=::1"] if v6 else []) + [
                "--user=root", "--group=root", "--cache-size=0",
                "--pid-file=" + os.path.join(self.dir, "pid"), "--log-queries",
                "--log-facility=" + os.path.join(self.dir, "log")]
        for d in local:
            args.append("--local=/%s/" % d)
        if servfail:
            # an upstream that answers every query with SERVFAIL
            self.fail_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.fail_sock.bind(("127.0.0.1", 0))
            fport = self.fail_sock.getsockname()[1]
            threading.Thread(target=self._servfail, daemon=True).start()
            for d in servfail:
                args.append("--server=/%s/127.0.0.1#%d" % (d, fport))
        for r in records:
            args.append("--" + r)
        self.args = args

    def _servfail(self):
        while True:
            try:
                q, a = self.fail_sock.recvfrom(4096)
            except OSError:
                return
            if len(q) < 12:
                continue
            r = q[:2] + bytes([0x81, 0x82]) + q[4:6] + b"\0\0\0\0\0\0" + q[12:]
            try:
                self.fail_sock.sendto(r, a)
            except OSError:
                return

    def start(self):
        # The port was free when chosen; another test may take it (UDP or
        # TCP) before dnsmasq binds it: then again on another port.
        for attempt in range(10):
            try:
                return self._start()
            except RuntimeError as e:
                if "Address already in use" not in str(e) or attempt == 9:
                    raise
                self.port = free_port()
                self.args = [a if not a.startswith("--port=") else "--port=%d" % self.port for a in self.args]

    def _start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # ready when it answers
        end = time.time() + 10
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: %s" % self.proc.stderr.read().decode())
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(0.2)
                s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x06\x00\x01", ("127.0.0.1", self.port))
                s.recvfrom(512)
                s.close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dnsmasq did not answer")

    def server_line(self):
        return "127.0.0.1:%d" % self.port

    def log(self):
        try:
            return open(os.path.join(self.dir, "log")).read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.fail_sock:
            self.fail_sock.close()
        subprocess.run(["rm", "-rf", self.dir])

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


def openssl(*args, cwd=None):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name="ca"):
    """A CA in d: name.key, name.pem."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".pem",
            "-subj", "/CN=nqmail test " + name, "-days", "30", cwd=d)
    return os.path.join(d, name + ".pem")


def make_cert(d, name, dns, ca="ca", days=30, self_signed=False):
    """A server certificate for the DNS names or IP addresses in dns,
    signed by ca (or by itself); returns the path of a PEM holding the
    key and the chain. days=-1 makes one that expired."""
    san = ",".join(("IP:" if x.replace(".", "").isdigit() or ":" in x else "DNS:") + x for x in dns)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\n" % san)
    if self_signed:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".crt",
                "-subj", "/CN=" + dns[0], "-days", str(days), "-addext", "subjectAltName=" + san, cwd=d)
    else:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + dns[0], cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-set_serial", str(abs(hash(name)) % 100000 + 2), "-days", str(days), "-extfile", name + ".ext",
                "-out", name + ".crt", cwd=d)
    out = os.path.join(d, name + ".pem")
    with open(out, "w") as f:
        f.write(open(os.path.join(d, name + ".key")).read() + open(os.path.join(d, name + ".crt")).read())
    os.chmod(out, 0o644)
    return out


def free_port():
    """A port of 127.0.0.1 free for both UDP and TCP (dnsmasq takes both)."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            t.close()
            s.close()


def free_tcp_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def parse_reports(out):
    """qmail-remote's output as a list of (letter, text)."""
    reps = []
    for part in out.split(b"\0")[:-1]:
        if part:
            reps.append((chr(part[0]), part[1:].decode("utf-8", "replace")))
        else:
            reps.append(("", ""))
    return reps


def remote(q, host, sender, recips, message, env_extra=None, timeout=120):
    """Run the instance's qmail-remote directly (as root: as qmailr) with
    message on fd 0; returns (reports, CompletedProcess)."""
    import nqtest
    env = dict(os.environ)
    env["NQMAIL_HOME"] = q.dir
    if env_extra:
        env.update(env_extra)
    user = None
    if nqtest.IS_ROOT:
        user = "qmailr" if q.mode == "root" else q.owner
    if isinstance(message, str):
        message = message.encode()
    f = tempfile.TemporaryFile()
    f.write(message)
    f.seek(0)
    pre = None
    if user:
        import pwd
        pw = pwd.getpwnam(user)

        def pre():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    start = time.time()
    p = subprocess.run([q.bin("qmail-remote"), host, sender] + list(recips), stdin=f,
                       capture_output=True, env=env, timeout=timeout, preexec_fn=pre)
    p.elapsed = time.time() - start
    f.close()
    settle_all()
    return parse_reports(p.stdout), p


def _serve_forever(host, port, outfile):
    """python3 remotelib.py sink HOST PORT OUTFILE: a Sink in its own
    process (e.g. inside a network namespace), appending one JSON line per
    message (and per session: peer address) to OUTFILE until SIGTERM."""
    import json
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    s = Sink(host, port=int(port))
    seen = [0, 0]
    s.start()
    with open(outfile, "a") as f:
        f.write(json.dumps({"ready": True}) + "\n")
        f.flush()
        while not done.wait(0.05):
            with s.lock:
                new_m = s.messages[seen[0]:]
                new_s = s.sessions[seen[1]:]
                seen[0] += len(new_m)
                seen[1] += len(new_s)
            for x in new_s:
                f.write(json.dumps({"session": x.peer}) + "\n")
            for m in new_m:
                f.write(json.dumps({"from": m.mailfrom, "rcpts": m.rcpts, "data": m.data.decode("utf-8", "replace")}) + "\n")
            f.flush()
    s.stop()


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 5 and sys.argv[1] == "sink":
        _serve_forever(sys.argv[2], sys.argv[3], sys.argv[4])


class SignedZone:
    """A DNSSEC-signed zone served by two Debian unbound processes on
    127.0.0.1: an authoritative one (auth-zone with the zone signed by
    ldns-signzone) and a validating resolver whose only trust anchor is
    the zone's key and whose only upstream is the first. records: zone
    file lines relative to the zone; corrupt: owner names whose RRSIGs
    are spoiled after signing (a bogus signature). anchor=False starts the
    resolver without the trust anchor: it answers, but never with AD."""
    def __init__(self, zone, records, corrupt=(), anchor=True):
        self.zone = zone
        self.dir = tempfile.mkdtemp(prefix="nqt-dnssec-")
        self.auth_port, self.port = free_port(), free_port()
        self.procs = []
        d = self.dir
        with open(os.path.join(d, zone), "w") as f:
            f.write("$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300\n@ IN NS ns\nns IN A 127.0.0.1\n"
                    % (zone, zone, zone))
            for r in records:
                f.write(r + "\n")

        def run(*cmd):
            return subprocess.run(list(cmd), cwd=d, check=True, capture_output=True).stdout.decode().strip()
        ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone)
        zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", zone)
        run("ldns-signzone", "-f", zone + ".signed", zone, zsk, ksk)
        if corrupt:
            lines = open(os.path.join(d, zone + ".signed")).read().splitlines()
            for i, l in enumerate(lines):
                f = l.split()
                if len(f) > 4 and f[3] == "RRSIG" and f[0].rstrip(".") in [c + "." + zone for c in corrupt]:
                    sig = f[-1]
                    f[-1] = ("A" if sig[0] != "A" else "B") + sig[1:]
                    lines[i] = "\t".join(f)
            with open(os.path.join(d, zone + ".signed"), "w") as out:
                out.write("\n".join(lines) + "\n")
        common = ('server:\n  interface: 127.0.0.1\n  port: %d\n  username: ""\n  chroot: ""\n  directory: "%s"\n'
                  '  use-syslog: no\n  logfile: "%s/%s.log"\n  do-daemonize: no\n  access-control: 127.0.0.0/8 allow\n'
                  '  local-zone: "test." nodefault\n  verbosity: 1\n')
        with open(os.path.join(d, "auth.conf"), "w") as f:
            f.write(common % (self.auth_port, d, d, "auth"))
            f.write('auth-zone:\n  name: "%s"\n  zonefile: "%s/%s.signed"\n  for-downstream: yes\n  for-upstream: no\n' % (zone, d, zone))
        with open(os.path.join(d, "res.conf"), "w") as f:
            f.write(common % (self.port, d, d, "res"))
            f.write('  do-not-query-localhost: no\n  module-config: "validator iterator"\n'
                    '  local-zone: "." refuse\n  local-zone: "%s." transparent\n  val-log-level: 2\n' % zone)
            if anchor:
                f.write('  trust-anchor-file: "%s/%s.ds"\n' % (d, ksk))
            f.write('stub-zone:\n  name: "%s"\n  stub-addr: 127.0.0.1@%d\n' % (zone, self.auth_port))

    def start(self):
        for conf, port in (("auth.conf", self.auth_port), ("res.conf", self.port)):
            p = subprocess.Popen(["unbound", "-d", "-c", os.path.join(self.dir, conf)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.procs.append(p)
            end = time.time() + 10
            while time.time() < end:
                if p.poll() is not None:
                    raise RuntimeError("unbound exited: %s" % p.stderr.read().decode())
                try:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.settimeout(0.2)
                    s.sendto(b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x01", ("127.0.0.1", port))
                    s.recvfrom(512)
                    s.close()
                    break
                except OSError:
                    time.sleep(0.05)
        return self

    def server_line(self):
        return "127.0.0.1:%d" % self.port

    def log(self):
        try:
            return open(os.path.join(self.dir, "res.log")).read()
        except OSError:
            return ""

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        subprocess.run(["rm", "-rf", self.dir])

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()


def spki_sha256(certfile):
    """The SHA-256 of a certificate's public key (TLSA selector 1, type 1)."""
    pub = subprocess.run(["openssl", "x509", "-in", certfile, "-noout", "-pubkey"], capture_output=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, capture_output=True, check=True).stdout
    import hashlib
    return hashlib.sha256(der).hexdigest()


def cert_sha256(certfile):
    """The SHA-256 of a whole certificate in DER (TLSA selector 0, type 1)."""
    der = subprocess.run(["openssl", "x509", "-in", certfile, "-outform", "DER"], capture_output=True, check=True).stdout
    import hashlib
    return hashlib.sha256(der).hexdigest()
