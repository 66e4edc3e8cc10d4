#!/usr/bin/env python3
# tcp-env: with a TCP connection on standard input it sets PROTO,
# TCPLOCALIP/PORT, TCPREMOTEIP/PORT, TCPLOCALHOST/TCPREMOTEHOST and
# TCPREMOTEINFO (from the client's ident server, RFC 1413; -r asks, the
# default, -R skips it; junk in the answer is dropped), then runs the
# program; with PROTO=TCP already set it runs it at once; anything else
# on standard input is 111.
# Host names come from DNS PTR records through the instance's
# control/dnsservers (dnsmasq on loopback, a non-standard port), forward-
# confirmed as tcpserver -p does: a PTR whose name does not lead back to
# the address is not believed. The program runs in a private mount
# namespace whose /etc/hosts names the same addresses differently and
# whose resolv.conf points nowhere, so a name from the host table or the
# system's resolver would show.
# smoke
import os, shutil, socket, subprocess, sys, tempfile, threading
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-remote"))
from helperlib import Tap, bin_, run, IS_ROOT
from remotelib import Dns

t = Tap()
TE = bin_("tcp-env")
if not IS_ROOT:
    t.skip("tcp-env", "needs root for a private mount namespace and the ident port")
    t.done()
if not shutil.which("dnsmasq"):
    t.ok(False, "dnsmasq is installed (scripts/deps.sh installs it)")
    t.done()
tmp = tempfile.mkdtemp(prefix="nqt-te-")
# an instance of our own: bin/tcp-env finds control/ beside its bin/
inst = os.path.join(tmp, "q")
os.makedirs(os.path.join(inst, "bin"))
os.makedirs(os.path.join(inst, "control"))
ITE = os.path.join(inst, "bin", "tcp-env")
shutil.copy2(TE, ITE)
hosts, nss, resolv = (os.path.join(tmp, n) for n in ("hosts", "nss", "resolv"))
with open(hosts, "w") as f:
    f.write("127.0.0.1 localhost\n127.0.0.7 hosts-server.test\n127.0.0.8 hosts-client.test\n"
            "127.0.0.9 hosts-liar.test\n::1 hosts-six.test\n")
with open(nss, "w") as f:
    f.write("hosts: files dns\n")
with open(resolv, "w") as f:
    f.write("nameserver 192.0.2.53\noptions timeout:1 attempts:1\n")
CLIENT = "127.0.0.8"
RECORDS = ["host-record=server.example.test,127.0.0.7",      # A and PTR
           "host-record=client.example.test,127.0.0.8",
           "host-record=six.example.test,::1",
           # a PTR claiming a name whose address is another one
           "ptr-record=9.0.0.127.in-addr.arpa,liar.example.test",
           "host-record=liar.example.test,127.0.0.10"]


def ident_server(answer, addr=CLIENT):
    """A one-shot ident server on addr:113; returns (thread, queries)."""
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 113))
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


def through(args, env=None, client=CLIENT, server="127.0.0.7", prog=ITE):
    """Accept a connection from client to server and run tcp-env on it;
    returns (exit code, environment dict, client port, server port, stderr)."""
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    ls = socket.socket(fam)
    ls.bind((server, 0))
    ls.listen(1)
    c = socket.socket(fam)
    c.bind((client, 0))
    c.connect(ls.getsockname()[:2])
    a, _ = ls.accept()
    cmd = ["unshare", "-m", "sh", "-c",
           'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && '
           'mount --bind "$3" /etc/resolv.conf && shift 3 && exec "$@"',
           "sh", hosts, nss, resolv, prog] + args + ["env", "-0"]
    r = subprocess.run(cmd, stdin=a, capture_output=True, env=env or {"PATH": "/usr/bin:/bin"}, timeout=60)
    out = {}
    for item in r.stdout.split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            out[k.decode()] = v.decode()
    cport, sport = c.getsockname()[1], ls.getsockname()[1]
    a.close(); c.close(); ls.close()
    return r.returncode, out, cport, sport, r.stderr


def names(e):
    return (e.get("TCPLOCALHOST"), e.get("TCPREMOTEHOST"))


try:
    with Dns(RECORDS, local=("test", "127.in-addr.arpa", "ip6.arpa"), v6=True) as d:
        with open(os.path.join(inst, "control", "dnsservers"), "w") as f:
            f.write(d.server_line() + "\n")

        th, q = ident_server(b"PORTS : USERID : UNIX : joe\r\n")
        code, e, cport, sport, err = through(["-t5"])
        th.join()
        t.eq(code, 0, "tcp-env ran the program", err)
        t.eq({k: e.get(k) for k in ("PROTO", "TCPLOCALIP", "TCPLOCALPORT", "TCPREMOTEIP", "TCPREMOTEPORT")},
             {"PROTO": "TCP", "TCPLOCALIP": "127.0.0.7", "TCPLOCALPORT": str(sport), "TCPREMOTEIP": CLIENT,
              "TCPREMOTEPORT": str(cport)}, "addresses and ports")
        t.eq(names(e), ("server.example.test", "client.example.test"),
             "host names from DNS PTR records, forward-confirmed (not the host table's)")
        t.eq(q, [("%d , %d\r\n" % (cport, sport)).encode()], "the ident query names the ports as RFC 1413 says")
        t.eq(e.get("TCPREMOTEINFO"), "joe", "TCPREMOTEINFO from the ident answer")
        log = d.log()
        t.ok("query[PTR] 8.0.0.127.in-addr.arpa" in log and "query[A] client.example.test" in log,
             "tcp-env asked our dnsmasq (control/dnsservers) for the PTR, then the A record", log[-600:])

        code, e, _, _, err = through(["-R"], client="127.0.0.9")
        t.ok(code == 0 and "TCPREMOTEHOST" not in e and e.get("TCPREMOTEIP") == "127.0.0.9",
             "a PTR name whose A record is another address: TCPREMOTEHOST unset", (e, err))
        t.ok("query[A] liar.example.test" in d.log(), "... after asking for that name's address",
             d.log()[-600:])
        code, e, _, _, err = through(["-R"], client="127.0.0.11")
        t.ok(code == 0 and "TCPREMOTEHOST" not in e and e.get("TCPLOCALHOST") == "server.example.test",
             "no PTR record: TCPREMOTEHOST unset", (e, err))
        code, e, _, _, err = through(["-R"], client="::1", server="::1")
        t.eq((code, e.get("TCPREMOTEIP"), names(e)), (0, "::1", ("six.example.test", "six.example.test")),
             "IPv6: the ip6.arpa PTR, confirmed by AAAA", err)

        # NQMAIL_HOME names the instance when the program is not in one
        code, e, _, _, err = through(["-R"], prog=TE, env={"PATH": "/usr/bin:/bin", "NQMAIL_HOME": inst})
        t.eq(names(e), ("server.example.test", "client.example.test"), "NQMAIL_HOME's control/dnsservers", err)
        with open(os.path.join(inst, "control", "dnsservers"), "w") as f:
            f.write("127.0.0.1:99999\n")
        code, e, _, _, err = through(["-R"])
        t.ok(code == 111 and b"dnsservers" in err, "a malformed control/dnsservers: 111, said so", (code, err))
        # d.server_line() back for the remaining runs
        with open(os.path.join(inst, "control", "dnsservers"), "w") as f:
            f.write(d.server_line() + "\n")

        th, q = ident_server(b"PORTS : USERID : UNIX : jo\x1b[2Je\r\n")
        code, e, cport, sport, err = through(["-t5"])
        th.join()
        t.eq(e.get("TCPREMOTEINFO"), "jo", "control characters in the answer end the name")
        th, q = ident_server(b"PORTS : USERID : UNIX : ann\r\n")
        code, e, cport, sport, err = through(["-r", "-t5"])
        th.join()
        t.eq(e.get("TCPREMOTEINFO"), "ann", "-r asks the ident server")

        code, e, cport, sport, err = through(["-R"], env={"PATH": "/usr/bin:/bin", "TCPREMOTEINFO": "stale"})
        t.ok(code == 0 and "TCPREMOTEINFO" not in e, "-R: no ident query, a stale TCPREMOTEINFO removed", e)
        code, e, cport, sport, err = through(["-t1"])
        t.ok(code == 0 and "TCPREMOTEINFO" not in e, "no ident server: TCPREMOTEINFO unset", e)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

r = run([TE, "-R", "env", "-0"], input=b"", env={"PATH": "/usr/bin:/bin", "PROTO": "TCP", "TCPREMOTEIP": "192.0.2.1"})
t.ok(r.returncode == 0 and b"TCPREMOTEIP=192.0.2.1\0" in r.stdout, "PROTO=TCP: the variables are trusted as set")
r = run([TE, "-R", "env"], input=b"", env={"PATH": "/usr/bin:/bin"})
t.ok(r.returncode == 111 and b"tcp-env:" in r.stderr, "standard input not a socket: 111", r.stderr)
r = run([TE], input=b"", env={"PATH": "/usr/bin:/bin"})
t.eq(r.returncode, 100, "no program: usage, 100")
t.done()
