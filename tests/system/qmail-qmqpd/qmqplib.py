"""qmqplib: helpers for the QMQP and QMTP tests (qmail-qmqpd, qmail-qmqpc,
qmail-qmtpd).

Servers run under tcpserver -H -R on free loopback ports through
smtpdlib.Server (the qmail-smtpd tests' helper: the same tcpserver line,
as qmaild in a root instance). Without qmail-send running, what a server
queued stays in queue/todo and smtpdlib.queued() reads it back.

Netstrings are built and read by hand here, independently of
src/lib/netstring.c, so the tests check the C code against the
definition rather than against itself.
"""
import os, socket, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-smtpd"))
from nqtest import wait  # noqa: E402,F401
from smtpdlib import Server, queued, clear, queue_empty, free_port  # noqa: E402,F401


def ns(b):
    """The netstring of bytes b."""
    if isinstance(b, str):
        b = b.encode()
    return str(len(b)).encode() + b":" + b + b","


def qmqp_request(message, sender, rcpts):
    if isinstance(message, str):
        message = message.encode()
    return ns(ns(message) + ns(sender) + b"".join(ns(r) for r in rcpts))


def qmtp_package(message, sender, rcpts, fmt=b"\n"):
    if isinstance(message, str):
        message = message.encode()
    return ns(fmt + message) + ns(sender) + ns(b"".join(ns(r) for r in rcpts))


class Conn:
    """A plain TCP connection that reads netstrings."""

    def __init__(self, port, addr="127.0.0.1", timeout=20):
        self.s = socket.create_connection((addr, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def shut(self):
        """Half-close: the server sees the end of our data."""
        self.s.shutdown(socket.SHUT_WR)

    def _more(self):
        try:
            d = self.s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            return False
        if not d:
            return False
        self.buf += d
        return True

    def netstring(self):
        """The next netstring's bytes, or None at the end of input or on
        anything that is not a netstring."""
        while b":" not in self.buf:
            if not self._more():
                return None
        n, _, rest = self.buf.partition(b":")
        if not n.isdigit():
            return None
        n = int(n)
        while len(rest) < n + 1:
            if not self._more():
                return None
            n2, _, rest = self.buf.partition(b":")
        if rest[n:n + 1] != b",":
            return None
        self.buf = rest[n + 1:]
        return rest[:n]

    def replies(self, count):
        out = []
        for _ in range(count):
            r = self.netstring()
            if r is None:
                break
            out.append(r.decode("utf-8", "replace"))
        return out

    def closed(self, timeout=30):
        """True when the server closed the connection without sending."""
        self.s.settimeout(timeout)
        if self.buf:
            return False
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except OSError:
            return False

    def close(self):
        self.s.close()


def qmqp(port, data, shut=True):
    """Send data as one QMQP session; the reply netstring (str) or None."""
    c = Conn(port)
    try:
        c.send(data)
        if shut:
            c.shut()
        r = c.netstring()
        return None if r is None else r.decode("utf-8", "replace")
    finally:
        c.close()
