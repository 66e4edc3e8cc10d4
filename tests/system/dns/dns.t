#!/usr/bin/env python3
# src/mail/dns.c against a real DNS server (dnsmasq on loopback, named in
# control/dnsservers; the machine's resolver is never asked): MX lists,
# A, AAAA, CNAME chains, null MX, NXDOMAIN (permanent), NODATA, SERVFAIL
# (temporary), an answer too big for UDP retried over TCP, the formats of
# control/dnsservers (addr:port, [v6]:port, several servers, the first
# not answering) and a malformed line. The lookups are made by the
# dns unit test binary's tool mode (tests/unit/dns.c).
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-remote"))
from nqtest import Tap, BUILD
from remotelib import Dns, free_port

t = Tap()
TOOL = os.path.join(BUILD, "tests", "unit", "dns.t")
home = tempfile.mkdtemp(prefix="nqt-dnsh-")
os.makedirs(os.path.join(home, "control"))
big = os.path.join(home, "big.hosts")
with open(big, "w") as f:
    for i in range(150):
        f.write("10.9.%d.%d big.test\n" % (i // 200, i % 200 + 1))


def servers(text):
    with open(os.path.join(home, "control", "dnsservers"), "w") as f:
        f.write(text)


def look(kind, name, trace=False):
    cmd = [TOOL, kind, name]
    if trace:
        cmd = ["strace", "-f", "-e", "trace=socket", "-o", os.path.join(home, "trace")] + cmd
    p = subprocess.run(cmd, capture_output=True, env=dict(os.environ, NQMAIL_HOME=home), timeout=60)
    return p.stdout.decode().strip().splitlines()


RECORDS = ["mx-host=example.test,mx1.example.test,10", "mx-host=example.test,mx2.example.test,20",
           "host-record=mx1.example.test,127.0.0.5,fd00::5", "host-record=mx2.example.test,127.0.0.6",
           "cname=alias.test,mid.test", "cname=mid.test,mx1.example.test",
           "mx-host=nomail.test,.,0", "host-record=plain.test,127.0.0.7",
           "addn-hosts=" + big]
try:
    with Dns(RECORDS, servfail=("broken.test",), v6=True) as d:
        servers(d.server_line() + "\n")
        t.eq(sorted(look("mx", "example.test")), ["10 mx1.example.test", "20 mx2.example.test"], "MX records")
        t.eq(look("a", "mx1.example.test"), ["127.0.0.5"], "A")
        t.eq(look("aaaa", "mx1.example.test"), ["fd00::5"], "AAAA")
        t.eq(look("a", "alias.test"), ["127.0.0.5"], "A through a chain of two CNAMEs")
        t.eq(look("mx", "alias.test"), ["nodata"], "MX of a CNAME whose target has none: no data")
        t.eq(look("mx", "nomail.test"), ["0 ."], "null MX")
        t.eq(look("mx", "plain.test"), ["nodata"], "a name without MX: no data")
        t.eq(look("mx", "nx.test"), ["nx"], "NXDOMAIN")
        r = look("mx", "broken.test")
        t.ok(len(r) == 1 and r[0].startswith("soft:"), "SERVFAIL is temporary", r)
        if shutil.which("strace"):
            r = look("a", "big.test", trace=True)
            tr = open(os.path.join(home, "trace")).read()
            t.ok(len(r) == 64 and "SOCK_STREAM" in tr, "an answer too big for UDP comes over TCP (64 kept)", (len(r), tr[-500:]))
        else:
            t.skip("truncated answer retried over TCP", "no strace")
        # formats of control/dnsservers
        servers("[::1]:%d\n" % d.port)
        t.eq(look("a", "plain.test"), ["127.0.0.7"], "an IPv6 server written [::1]:port")
        servers("# comment\n127.0.0.1:%d\n%s\n" % (free_port(), d.server_line()))
        t.eq(look("a", "plain.test"), ["127.0.0.7"], "the first server does not answer: the next one does")
        servers("127.0.0.1:99999\n")
        r = look("a", "plain.test")
        t.ok(len(r) == 1 and r[0].startswith("soft:") and "dnsservers" in r[0], "a malformed line is an error, said so", r)
        t.ok("query[A] plain.test" in d.log(), "the queries reached our dnsmasq", d.log()[-300:])
finally:
    shutil.rmtree(home, ignore_errors=True)
t.done()
