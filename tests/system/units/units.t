#!/usr/bin/env python3
# qmailctl units: one nqmail-KIND@LINE.service per line of the *-listen
# files (LINE escaped exactly as systemd-escape does it), plus
# nqmail-send.service; the QMQP rules compiled first. Without systemd it
# only prints them. With systemd (a systemctl stand-in that records its
# calls, NQ_SYSTEMD=1) it enables and starts each, and stops and disables
# a listener instance no line asks for any more, but never a
# socket-activated session; a wrong line changes nothing (exit 111).
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmailctl"))
from nqtest import Tap, Instance, run
from ctl import ctl, out

t = Tap()

SYSTEMCTL = r'''#!/bin/sh
# stand-in for the test: records each call; list-units prints $NQ_FAKE/loaded
printf '%s\n' "$*" >> "$NQ_FAKE/calls"
case "$1" in
list-units) cat "$NQ_FAKE/loaded" 2>/dev/null ;;
esac
exit 0
'''


def escape(line):
    r = run(["systemd-escape", line])
    return r.stdout.decode().strip() if r.returncode == 0 else None


with Instance(t, name="units.example.test") as q:
    fake = os.path.join(q.base, "fake")
    os.mkdir(fake)
    os.chmod(q.base, 0o755)
    os.chmod(fake, 0o777)
    lines = {"smtpd": ["127.0.0.1:25", "[::1]:25"], "submission": ["[fe80::1%lo]:587"],
             "qmqp": ["127.0.0.1:628"], "qmtp": ["127.0.0.1:209"]}
    for k, ls in lines.items():
        q.control(k + "-listen", "\n".join(ls))
    want = ["nqmail-send.service"]
    for k in ("smtpd", "submission", "qmtp", "qmqp"):   # the order of qmailctl's kinds
        for l in lines[k]:
            e = escape(l) or l.replace("[", "\\x5b").replace("]", "\\x5d").replace("%", "\\x25")
            want.append("nqmail-%s@%s.service" % (k, e))

    r = ctl(q, "units", {"NQ_FAKE": fake})
    got = r.stdout.decode().split()
    t.eq(r.returncode, 0, "units without systemd exits 0", out(r))
    t.eq(got, want, "one unit per listen line, named as systemd-escape names them", out(r))
    if os.path.isdir("/run/systemd/system"):
        t.skip("without systemd", "systemd runs here")
    else:
        t.ok("systemd does not run here" in out(r), "and says it enabled nothing", out(r))
    t.ok(os.path.exists(q.path("control/tcp.qmqp.cdb")), "the QMQP rules were compiled for the QMQP listener")

    with open(q.bin("systemctl"), "w") as f:
        f.write(SYSTEMCTL)
    os.chmod(q.bin("systemctl"), 0o755)
    with open(os.path.join(fake, "loaded"), "w") as f:
        f.write("nqmail-smtpd@10.0.0.1:25.service loaded active running nqmail smtpd listener\n"
                "nqmail-smtpd@127.0.0.1:25.service loaded active running nqmail smtpd listener\n"
                "nqmail-smtpd-accept@3-127.0.0.1:25-127.0.0.1:4000.service loaded active running session\n")
    env = {"NQ_SYSTEMD": "1", "NQ_FAKE": fake}
    r = ctl(q, "units", env)
    t.eq(r.returncode, 0, "units with systemd exits 0", out(r))
    calls = open(os.path.join(fake, "calls")).read().splitlines()
    t.eq([c for c in calls if c.startswith("enable")], ["enable --now " + u for u in want],
         "each unit enabled and started", calls)
    t.eq([c for c in calls if c.startswith("disable")], ["disable --now nqmail-smtpd@10.0.0.1:25.service"],
         "the listener of a line that went away stopped and disabled, no session touched", calls)
    t.ok("nqmail-smtpd@10.0.0.1:25.service is no longer" in out(r), "and qmailctl says so", out(r))

    os.unlink(os.path.join(fake, "calls"))
    q.control("qmtp-listen", "localhost:209")
    r = ctl(q, "units", env)
    t.eq(r.returncode, 111, "a listen line that is not an address: exit 111", out(r))
    t.ok("localhost:209" in out(r), "naming the line", out(r))
    t.ok(not os.path.exists(os.path.join(fake, "calls")), "and systemctl is not called")
t.done()
