#!/usr/bin/env python3
# IPv6 delivery (issue 5): the test makes a network namespace joined to
# this one by a veth pair with ULA addresses (fd00:5:N::1 here, ::2 over
# there), runs a sink in it on [fd00:5:N::2]:25, and dnsmasq gives the
# exchanger only that AAAA record. qmail-remote reaches it, from the
# address in control/outgoingip6; an exchanger whose AAAA is our own side
# of the pair is ourselves (#5.4.6); an exchanger with an unreachable
# AAAA and a working A is reached over IPv4. Everything made is removed.
import json, os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, IS_ROOT
from remotelib import Dns, Sink, remote, PORT

t = Tap()
HERE = os.path.dirname(os.path.abspath(__file__))
if not IS_ROOT or subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
    t.skip("IPv6 through a network namespace", "needs root and ip netns")
    t.done()

k = os.getpid() % 60000
ns = "nqt6-%d" % os.getpid()
vh, vn = "nq6h%d" % k, "nq6n%d" % k
mine, theirs = "fd00:5:%x::1" % k, "fd00:5:%x::2" % k
out = "/tmp/%s.sink" % ns
sink = None


def sh(*cmd):
    return subprocess.run(list(cmd), capture_output=True)


def events():
    try:
        return [json.loads(l) for l in open(out)]
    except (OSError, ValueError):
        return []


try:
    sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", vh, "type", "veth", "peer", "name", vn)
    sh("ip", "link", "set", vn, "netns", ns)
    sh("ip", "-6", "addr", "add", mine + "/64", "dev", vh, "nodad")
    sh("ip", "link", "set", vh, "up")
    sh("ip", "-n", ns, "-6", "addr", "add", theirs + "/64", "dev", vn, "nodad")
    sh("ip", "-n", ns, "link", "set", vn, "up")
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    sink = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, os.path.join(HERE, "remotelib.py"), "sink", theirs, "25", out])
    ready = False
    for _ in range(100):
        if os.path.exists(out) and os.path.getsize(out):
            ready = True
            break
        time.sleep(0.05)
    t.ok(ready, "sink listening in the namespace")
    # the link may need a moment before it passes packets
    import socket
    for _ in range(50):
        try:
            socket.create_connection((theirs, 25), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(0.3)
    with open(out, "w"):
        pass       # forget the probe's session

    DNS = ["mx-host=v6.test,mx.v6.test,10", "host-record=mx.v6.test," + theirs,
           "mx-host=me6.test,mx.me6.test,10", "host-record=mx.me6.test," + mine,
           "mx-host=dual.test,mx.dual.test,10", "host-record=mx.dual.test,fd00:dead:%x::9,127.0.0.85" % k]
    with Instance(t, name="example.test") as q, Dns(DNS) as d:
        q.control("dnsservers", d.server_line())
        q.control("outgoingip6", "[%s]" % mine)
        q.control("smtproutes", "dual.test::%d" % PORT)     # port 25 is only the namespace's
        reps, _ = remote(q, "v6.test", "joe@example.test", ["a@v6.test"], "Subject: six\n\nover IPv6\n")
        t.eq([l for l, _ in reps], ["r", "K"], "delivered over IPv6", reps)
        t.ok(reps and reps[-1][1].startswith(theirs + " accepted message."), "the report names the IPv6 address", reps)
        time.sleep(0.3)
        ev = events()
        msgs = [e for e in ev if "rcpts" in e]
        t.ok(len(msgs) == 1 and msgs[0]["rcpts"] == ["a@v6.test"] and "over IPv6" in msgs[0]["data"], "the sink has it", ev)
        peers = [e["session"] for e in ev if "session" in e]
        t.ok(peers and all(p == mine for p in peers), "from control/outgoingip6", peers)
        reps, _ = remote(q, "me6.test", "joe@example.test", ["a@me6.test"], "Subject: me\n\nx\n")
        t.ok(len(reps) == 1 and reps[0][0] == "D" and "#5.4.6" in reps[0][1], "our own IPv6 address as best MX: #5.4.6", reps)
        with Sink("127.0.0.85") as s:
            reps, _ = remote(q, "dual.test", "joe@example.test", ["a@dual.test"], "Subject: dual\n\nx\n")
            t.ok([l for l, _ in reps] == ["r", "K"] and len(s.messages) == 1, "unreachable AAAA, then the A record", reps)
finally:
    if sink:
        sink.terminate()
        try:
            sink.wait(5)
        except subprocess.TimeoutExpired:
            sink.kill()
    sh("ip", "link", "del", vh)
    sh("ip", "netns", "del", ns)
    try:
        os.unlink(out)
    except OSError:
        pass
t.done()
