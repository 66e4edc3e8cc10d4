"""pop3lib: helpers for the POP3 tests (qmail-popup, qmail-pop3d).

Pop3Server(q, ...) runs "qmail-popup HOST DIR/bin/checkpassword
DIR/bin/qmail-pop3d Maildir" under tcpserver on a free loopback port, as
root in a root instance (qmail-popup's place), as the owner in a
single-user one. tcpserver runs with -H -R -l so that nothing queries a
resolver. Raw is a socket that reads POP3 lines, for what poplib hides
(pipelining, STLS with bytes behind it, garbage).
"""
import os, socket, ssl, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-smtpd"))
from nqtest import IS_ROOT, wait  # noqa: E402
from smtpdlib import TcpServer, free_port, make_cert, prepare  # noqa: E402,F401


def noverify():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def set_password(user, password):
    subprocess.run(["chpasswd"], input=("%s:%s\n" % (user, password)).encode(), check=True)


def put_message(maildir, name, data, sub="new", owner=None):
    """Deliver data (bytes or str) as maildir/sub/name the Maildir way:
    written in tmp/, then renamed into place."""
    if isinstance(data, str):
        data = data.encode()
    tmp = os.path.join(maildir, "tmp", name)
    p = os.path.join(maildir, sub, name)
    with open(tmp, "wb") as f:
        f.write(data)
    if owner is not None and IS_ROOT:
        os.chown(tmp, owner[0], owner[1])
    os.rename(tmp, p)
    return p


class Pop3Server(TcpServer):
    """tcpserver running qmail-popup on a free loopback port.
    env: extra environment (POP3S, POP3PLAINLOOPBACK, APOP ...)."""

    def __init__(self, q, env=None, addr="127.0.0.1", maildir="Maildir", hostname="pop.example.test"):
        self._start(q, addr, "pop3", ["-c", "100", "-b", "50"],
                    [q.bin("qmail-popup"), hostname, q.bin("checkpassword"), q.bin("qmail-pop3d"), maildir], env)


class Raw:
    """A POP3 client socket, byte by byte."""

    def __init__(self, port, addr="127.0.0.1", tls=False, timeout=15):
        s = socket.create_connection((addr, port), timeout=timeout)
        if tls:
            s = noverify().wrap_socket(s)
        self.s = s
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            try:
                d = self.s.recv(65536)
            except (OSError, ssl.SSLError):
                d = b""
            if not d:
                r, self.buf = self.buf, b""
                return r
            self.buf += d
        i = self.buf.index(b"\r\n")
        r, self.buf = self.buf[:i], self.buf[i + 2:]
        return r

    def cmd(self, c):
        self.send(c + "\r\n")
        return self.line()

    def multi(self):
        """Lines of a multi-line body, up to the terminating '.'."""
        out = []
        while True:
            ln = self.line()
            if ln == b".":
                return out
            if ln == b"" and not self.buf and self.closed_now():
                return out
            out.append(ln)

    def closed_now(self):
        return False

    def starttls(self):
        self.s = noverify().wrap_socket(self.s)
        self.buf = b""

    def closed(self, timeout=10):
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(4096)
                if not d:
                    return True
                self.buf += d
        except (OSError, ssl.SSLError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
