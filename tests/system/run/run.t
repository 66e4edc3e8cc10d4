#!/usr/bin/env python3
# make run (scripts/run.sh): creates the demo instance, names it, starts
# it with SMTP, submission and POP3 on loopback ports (nothing else
# listens), and prints how to send a message (qmail-inject, swaks over
# SMTP, swaks and Python's smtplib through submission with a qmail-vuser
# login), where it lands and how to read it with Python's poplib (STLS,
# the same login); following those instructions delivers each message
# there and reads the last one back. Run again while it runs: it
# restarts, on the same ports. Under a parent that keeps the qmail users
# out it explains.
import os, re, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmailctl"))
from nqtest import Tap, IS_ROOT, TOP, BUILD, run, wait
from ctl import instance_procs, listening


class Dir:
    """Just enough of an Instance for instance_procs()."""
    def __init__(self, d):
        self.dir = d


t = Tap()
RUN = os.path.join(TOP, "scripts/run.sh")
base = tempfile.mkdtemp(prefix="nqt-")
d = os.path.join(base, "run")
env = dict(os.environ, DEMO_NAME="demo.run.test")
try:
    os.chmod(base, 0o755)
    r = run(["sh", RUN, d, BUILD], env=env, timeout=120)
    o = r.stdout.decode("utf-8", "replace")
    t.eq(r.returncode, 0, "run.sh exits 0")
    if r.returncode:
        t.diag(o + r.stderr.decode("utf-8", "replace"))
    t.eq(open(os.path.join(d, "control/me")).read(), "demo.run.test\n", "the demo instance is named")
    m = re.search(r"^\s*(echo .*\| (\S+/bin/qmail-inject) (\S+))$", o, re.M)
    t.ok(m and m.group(2) == os.path.join(d, "bin/qmail-inject") and m.group(3) == "postmaster@demo.run.test",
         "it prints the command that injects a message", o)
    t.ok(os.path.join(d, "alias/Maildir/new/") in o, "it says where the message lands")
    r2 = run([os.path.join(d, "bin/qmailctl"), "stat"])
    t.eq(r2.returncode, 0, "the instance runs")
    new = os.path.join(d, "alias/Maildir/new")
    if m:
        r3 = run(["sh", "-c", m.group(1)])
        t.eq(r3.returncode, 0, "the printed command works")
        t.ok(wait(lambda: len(os.listdir(new)) == 1, 30), "and the message lands where it said")

    smtp = open(os.path.join(d, "control/smtpd-listen")).read().split()
    sub = open(os.path.join(d, "control/submission-listen")).read().split()
    t.ok(len(smtp) == 1 and smtp[0].startswith("127.0.0.1:") and len(sub) == 1 and sub[0].startswith("127.0.0.1:"),
         "SMTP and submission on loopback", (smtp, sub))
    pop = open(os.path.join(d, "control/pop3-listen")).read().split()
    t.ok(len(pop) == 1 and pop[0].startswith("127.0.0.1:"), "POP3 on loopback", pop)
    t.eq(open(os.path.join(d, "control/smtps-listen")).read().strip(), "", "SMTPS off")
    t.eq(open(os.path.join(d, "control/pop3s-listen")).read().strip(), "", "POP3S off")
    ports = [int(x.rsplit(":", 1)[1]) for x in smtp + sub + pop]
    t.eq([listening(p) for p in ports], [{"127.0.0.1"}] * 3, "they listen there, and only there")
    cmds = re.findall(r"^\s*((?:swaks|python3 -c) .*)$", o, re.M)
    pops = [c for c in cmds if "poplib" in c]
    cmds = [c for c in cmds if "poplib" not in c]
    t.ok(len(cmds) == 3 and any("--auth-password" in c for c in cmds) and any("smtplib" in c for c in cmds),
         "it prints swaks for SMTP and swaks and smtplib for submission, with the password", o)
    t.ok(any(("--server " + smtp[0]) in c and "--auth" not in c for c in cmds) if smtp else False,
         "swaks over SMTP names the SMTP port", cmds)
    for i, c in enumerate(cmds):
        r3 = run(["sh", "-c", c], timeout=60)
        t.eq(r3.returncode, 0, "printed command %d works: %s" % (i + 1, c.split()[0]), r3.stdout + r3.stderr)
        t.ok(wait(lambda: len(os.listdir(new)) == 2 + i, 30), "and its message lands where it said")
    t.ok(len(pops) == 1 and ("poplib.POP3(\"127.0.0.1\", %s)" % pop[0].rsplit(":", 1)[1]) in pops[0] and
         ".stls(" in pops[0] and "demo@demo.run.test" in pops[0], "it prints a poplib line: STLS, the demo login", pops)
    if pops:
        r3 = run(["sh", "-c", pops[0]], timeout=60)
        got = r3.stdout.decode("utf-8", "replace")
        t.ok(r3.returncode == 0 and "Subject: hello" in got and "hi" in got.split("\n"),
             "the poplib line reads the last message back", r3.stdout + r3.stderr)
        t.eq((len(os.listdir(new)), len(os.listdir(os.path.join(d, "alias/Maildir/cur")))), (0, 4),
             "POP3's QUIT moved the messages from new/ to cur/")
    r = run(["sh", RUN, d, BUILD], env=env, timeout=120)
    t.eq(r.returncode, 0, "run.sh again while it runs (restart)")
    t.eq(run([os.path.join(d, "bin/qmailctl"), "stat"]).returncode, 0, "still running")
    t.eq(open(os.path.join(d, "control/smtpd-listen")).read().split(), smtp, "on the same SMTP port")
    t.eq(open(os.path.join(d, "control/pop3-listen")).read().split(), pop, "on the same POP3 port")
    r = run([os.path.join(d, "bin/qmailctl"), "stop"])
    t.eq(r.returncode, 0, "qmailctl stop")
    t.ok(wait(lambda: not instance_procs(Dir(d)), 10), "nothing left running")

    if IS_ROOT:
        closed = os.path.join(base, "closed")
        os.mkdir(closed, 0o700)
        r = run(["sh", RUN, os.path.join(closed, "run"), BUILD], env=env)
        e = r.stderr.decode()
        t.eq(r.returncode, 100, "under a 0700 parent run.sh fails")
        t.ok("PREFIX=" in e and closed in e, "and explains what to do", e)
finally:
    run([os.path.join(d, "bin/qmailctl"), "stop"]) if os.path.exists(os.path.join(d, "bin/qmailctl")) else None
    shutil.rmtree(base, ignore_errors=True)
t.done()
