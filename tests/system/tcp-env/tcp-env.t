#!/usr/bin/env python3
# tcp-env: with a TCP connection on standard input it sets PROTO,
# TCPLOCALIP/PORT, TCPREMOTEIP/PORT, TCPLOCALHOST/TCPREMOTEHOST (from the
# host table) and TCPREMOTEINFO (from the client's ident server, RFC
# 1413; -R skips it; junk in the answer is dropped), then runs the
# program; with PROTO=TCP already set it runs it at once; anything else
# on standard input is 111.
# Host names come from /etc/hosts only: the program runs in a private
# mount namespace where /etc/hosts and nsswitch.conf are ours, so no
# resolver is ever asked.
import os, socket, subprocess, sys, tempfile, threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, run, IS_ROOT

t = Tap()
TE = bin_("tcp-env")
if not IS_ROOT:
    t.skip("tcp-env", "needs root for a private mount namespace and the ident port")
    t.done()
tmp = tempfile.mkdtemp(prefix="nqt-te-")
hosts, nss = os.path.join(tmp, "hosts"), os.path.join(tmp, "nss")
with open(hosts, "w") as f:
    f.write("127.0.0.1 localhost\n127.0.0.7 server.example.test\n127.0.0.8 client.example.test\n")
with open(nss, "w") as f:
    f.write("hosts: files\n")
CLIENT = "127.0.0.8"


def ident_server(answer):
    """A one-shot ident server on CLIENT:113; returns (thread, queries)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((CLIENT, 113))
    s.listen(1)
    s.settimeout(10)
    got = []

    def serve():
        try:
            c, _ = s.accept()
            q = c.recv(100)
            got.append(q)
            ports = q.decode().strip()
            c.sendall(answer.replace(b"PORTS", ports.encode()))
            c.close()
        except OSError:
            pass
        s.close()
    th = threading.Thread(target=serve)
    th.start()
    return th, got


def through(args, env=None):
    """Accept a connection from CLIENT and run tcp-env on it; returns
    (exit code, environment dict, client port, server port)."""
    ls = socket.socket()
    ls.bind(("127.0.0.7", 0))
    ls.listen(1)
    c = socket.socket()
    c.bind((CLIENT, 0))
    c.connect(ls.getsockname())
    a, _ = ls.accept()
    cmd = ["unshare", "-m", "sh", "-c",
           'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"',
           "sh", hosts, nss, TE] + args + ["env", "-0"]
    r = subprocess.run(cmd, stdin=a, capture_output=True, env=env or {"PATH": "/usr/bin:/bin"}, timeout=60)
    out = {}
    for item in r.stdout.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            out[k.decode()] = v.decode()
    cport, sport = c.getsockname()[1], ls.getsockname()[1]
    a.close(); c.close(); ls.close()
    return r.returncode, out, cport, sport, r.stderr


th, q = ident_server(b"PORTS : USERID : UNIX : joe\r\n")
code, e, cport, sport, err = through(["-t5"])
th.join()
t.eq(code, 0, "tcp-env ran the program", err)
t.eq({k: e.get(k) for k in ("PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT")},
     {"PROTO": "TCP", "TCPLOCALIP": "127.0.0.7", "TCPLOCALPORT": str(sport), "TCPREMOTEIP": CLIENT,
      "TCPREMOTEPORT": str(cport)}, "addresses and ports")
t.eq((e.get("TCPLOCALHOST"), e.get("TCPREMOTEHOST")), ("server.example.test", "client.example.test"),
     "host names from the host table")
t.eq(q, [("%d , %d\r\n" % (cport, sport)).encode()], "the ident query names the ports as RFC 1413 says")
t.eq(e.get("TCPREMOTEINFO"), "joe", "TCPREMOTEINFO from the ident answer")

th, q = ident_server(b"PORTS : USERID : UNIX : jo\x1b[2Je\r\n")
code, e, cport, sport, err = through(["-t5"])
th.join()
t.eq(e.get("TCPREMOTEINFO"), "jo", "control characters in the answer end the name")

code, e, cport, sport, err = through(["-R"], env={"PATH": "/usr/bin:/bin", "TCPREMOTEINFO": "stale"})
t.ok(code == 0 and "TCPREMOTEINFO" not in e, "-R: no ident query, a stale TCPREMOTEINFO removed", e)
code, e, cport, sport, err = through(["-t1"])
t.ok(code == 0 and "TCPREMOTEINFO" not in e, "no ident server: TCPREMOTEINFO unset", e)

r = run([TE, "-R", "env", "-0"], input=b"", env={"PATH": "/usr/bin:/bin", "PROTO": "TCP", "TCPREMOTEIP": "192.0.2.1"})
t.ok(r.returncode == 0 and b"TCPREMOTEIP=192.0.2.1\0" in r.stdout, "PROTO=TCP: the variables are trusted as set")
r = run([TE, "-R", "env"], input=b"", env={"PATH": "/usr/bin:/bin"})
t.ok(r.returncode == 111 and b"tcp-env:" in r.stderr, "standard input not a socket: 111", r.stderr)
r = run([TE], input=b"", env={"PATH": "/usr/bin:/bin"})
t.eq(r.returncode, 100, "no program: usage, 100")
t.done()
