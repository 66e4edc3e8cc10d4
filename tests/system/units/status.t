#!/usr/bin/env python3
# qmailctl status under systemd, with systemctl and journalctl stand-ins
# in DIR/bin (first in qmailctl's PATH) and NQ_SYSTEMD=1, since the test
# machine's init is not systemd: only units loaded from a file naming the
# instance are shown, each with its state, the working process's pid, uid
# and uptime (qmail-send itself for nqmail-send.service), its last journal
# line, and the socket's connection count; the listeners are the
# instances of the nqmail-KIND@.service templates that the *-listen files
# name (nqmail-smtpd@127.0.0.1:2525.service); exit 0 while nqmail-send is
# active, 3 when it is not. Without systemd, the units are not looked at.
import os, pwd, re, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmailctl"))
from nqtest import Tap, Instance, IS_ROOT, wait
from ctl import ctl, out

t = Tap()

SYSTEMCTL = r'''#!/bin/sh
# stand-in for the test: systemctl show -p PROP --value UNIT
[ "$1" = show ] || exit 1
f="$NQ_FAKE/$5"
[ -f "$f" ] || { [ "$3" = FragmentPath ] && echo; exit 0; }
sed -n "s|^$3=||p" "$f"
'''
JOURNALCTL = r'''#!/bin/sh
# stand-in for the test: journalctl ... -u UNIT
eval "u=\${$#}"
[ -f "$NQ_FAKE/$u" ] && sed -n 's|^Journal=||p' "$NQ_FAKE/$u"
exit 0
'''

with Instance(t, name="sd.example.test") as q:
    sleeper = None
    try:
        fake = os.path.join(q.base, "fake")
        os.mkdir(fake)
        os.chmod(q.base, 0o755)
        os.chmod(fake, 0o755)
        for name, text in (("systemctl", SYSTEMCTL), ("journalctl", JOURNALCTL)):
            with open(q.bin(name), "w") as f:
                f.write(text)
            os.chmod(q.bin(name), 0o755)
        q.control("smtpd-listen", "127.0.0.1:2525")
        q.control("pop3-listen", "127.0.0.1:1110")
        q.control("smtps-listen", "127.0.0.1:4465")
        q.start()
        t.ok(wait(lambda: len(q.send_pids()) == 1, 10), "qmail-send runs")
        ids = q.role_ids()
        user = "qmaild" if q.mode == "root" else q.as_owner()
        def pre():
            if IS_ROOT:
                pw = pwd.getpwnam(user)
                os.setgroups([]); os.setgid(pw.pw_gid); os.setuid(pw.pw_uid)
        sleeper = subprocess.Popen(["sleep", "120"], preexec_fn=pre)
        other = os.path.join(q.base, "other.service")
        with open(other, "w") as f:
            f.write("[Service]\nExecStart=/srv/elsewhere/bin/qmail-start\n")
        sd = q.path("boot/systemd")
        units = {
            "nqmail-send.service": "FragmentPath=%s/nqmail-send.service\nActiveState=active\nSubState=running\n"
                                   "MainPID=%d\nJournal=2026-11-29T10:00:00+0000 host qmail-send[1]: status: local 0/10 remote 0/20\n"
                                   % (sd, q.proc.pid),
            "nqmail-smtpd@127.0.0.1:2525.service": "FragmentPath=%s/nqmail-smtpd@.service\nActiveState=active\nSubState=running\n"
                                    "MainPID=%d\nJournal=2026-11-29T10:00:01+0000 host nqmail-smtpd[2]: tcpserver: status: 0/100\n"
                                    % (sd, sleeper.pid),
            "nqmail-smtpd-accept.socket": "FragmentPath=%s/nqmail-smtpd-accept.socket\nActiveState=active\nSubState=listening\nNConnections=2\n" % sd,
            "nqmail-pop3@127.0.0.1:1110.service": "FragmentPath=%s\nActiveState=active\nSubState=running\nMainPID=%d\n" % (other, sleeper.pid),
        }
        def write_units():
            for u, text in units.items():
                with open(os.path.join(fake, u), "w") as f:
                    f.write(text)
        write_units()
        env = {"NQ_SYSTEMD": "1", "NQ_FAKE": fake}
        time.sleep(1.1)

        r = ctl(q, "status", env)
        o = out(r)
        t.eq(r.returncode, 0, "status exits 0 while nqmail-send.service is active", o)
        t.ok("nqmail-send.service: active (running) under systemd" in o, "nqmail-send.service's state", o)
        send = q.send_pids()
        m = re.search(r"^  nqmail-send\.service: pid (\d+), uid (\d+) \((\S+)\), uptime (\d+) s", o, re.M)
        t.ok(m and send and int(m.group(1)) == send[0], "the pid shown is qmail-send's", o)
        t.ok(m and int(m.group(2)) == ids["qmails"][0], "with qmails' uid", o)
        t.ok(m and 1 <= int(m.group(4)) < 120, "and its uptime", o)
        t.ok("  nqmail-send.service: last log: 2026-11-29T10:00:00+0000 host qmail-send[1]: status: local 0/10 remote 0/20" in o,
             "the last journal line", o)
        m = re.search(r"^  nqmail-smtpd@127\.0\.0\.1:2525\.service: pid (\d+), uid (\d+) \((\S+)\)", o, re.M)
        t.ok(m and int(m.group(1)) == sleeper.pid and int(m.group(2)) == pwd.getpwnam(user).pw_uid,
             "the listener's pid and uid", o)
        t.ok("nqmail-smtpd-accept.socket: active (listening) under systemd, 2 connections now" in o, "the socket and its connections", o)
        t.ok("nqmail-pop3" not in o, "a unit of another instance is left out", o)
        t.ok("nqmail-smtps" not in o, "a unit systemd has not loaded is left out", o)

        units["nqmail-send.service"] = "FragmentPath=%s/nqmail-send.service\nActiveState=inactive\nSubState=dead\nMainPID=0\n" % sd
        write_units()
        r = ctl(q, "status", env)
        t.eq(r.returncode, 3, "status exits 3 when nqmail-send.service is not active", out(r))
        t.ok("nqmail-send.service: inactive (dead) under systemd" in out(r), "and says so", out(r))

        r = ctl(q, "status", {"NQ_FAKE": fake})
        if not os.path.isdir("/run/systemd/system"):
            t.ok("systemd" not in out(r) and "down (not started)" in out(r),
                 "without systemd the units are not looked at", out(r))
    finally:
        if sleeper:
            sleeper.kill()
            sleeper.wait()
        q.stop()
t.done()
