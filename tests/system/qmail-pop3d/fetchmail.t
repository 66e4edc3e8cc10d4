#!/usr/bin/env python3
# fetchmail (Debian's) pulls mail from qmail-popup/qmail-pop3d into a
# local mbox, as root: a system user over STLS (fetchmail upgrades by
# itself when STLS is offered), and a virtual user of users/vpasswd
# (qmail-vuser add login account home) over implicit TLS (POP3S). The
# mbox holds each message's bytes; the Maildir is empty afterwards
# (fetchmail deleted what it fetched, at QUIT); a second run finds
# nothing; the session ran as the virtual user's account, in its home.
import mailbox, os, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pop3lib import Pop3Server, make_cert, prepare, put_message, set_password
from nqtest import Tap, Instance, TestUser, IS_ROOT, run, unique_user

t = Tap()
if not IS_ROOT:
    t.skip("fetchmail", "needs root (system users, qmail-popup as root)")
    t.done()
if not shutil.which("fetchmail"):
    t.skip("fetchmail", "fetchmail is not installed (scripts/deps.sh installs it)")
    t.done()

MSGS = [
    b"From: a@example.test\nTo: b@example.test\nSubject: first\n\nHello\n.dot line\nFrom the start\n",
    b"From: c@example.test\r\nSubject: second\r\n\r\nCRLF text\r\n",
    b"Subject: third\n\n" + b"x" * 5000 + b"\n" + b"line\n" * 2000,
]

MDA = """#!/bin/sh
# append the message on standard input to $1 as an mbox entry
{ echo "From fetchmail@localhost Thu Jan  1 00:00:00 1970"; sed 's/^\\(>*From \\)/>\\1/'; echo; } >> "$1"
"""


def fetch(who, port, login, password, extra, workdir):
    """Run fetchmail as the local user who; returns (CompletedProcess, mbox path)."""
    mbox = os.path.join(workdir, "mbox")
    mda = os.path.join(workdir, "mda.sh")
    with open(mda, "w") as f:
        f.write(MDA)
    os.chmod(mda, 0o755)
    rc = os.path.join(workdir, "fetchmailrc")
    with open(rc, "w") as f:
        f.write('set no bouncemail\n'
                'poll 127.0.0.1 with proto POP3 and port %d\n'
                '  user "%s" there with password "%s" is "%s" here\n'
                '  options fetchall nokeep %s\n'
                '  mda "%s %s"\n' % (port, login, password, who.name, extra, mda, mbox))
    os.chmod(rc, 0o600)
    for p in (rc, mda, workdir):
        os.chown(p, who.uid, who.gid)
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "FETCHMAILHOME": workdir, "LC_ALL": "C"}
    try:
        r = run(["fetchmail", "-f", rc, "--nosyslog", "--nodetach", "-v", "--nosslcertck"],
                env=env, user=who.name, timeout=40)
    except subprocess.TimeoutExpired as e:
        r = subprocess.CompletedProcess(e.cmd, -1, e.stdout or b"", (e.stderr or b"") + b"timeout")
    return r, mbox


def bodies(mbox):
    if not os.path.exists(mbox):
        return []
    return [m.as_bytes() for m in mailbox.mbox(mbox)]


def check(label, r, mbox, want, maildir):
    got = bodies(mbox)
    t.eq(r.returncode, 0, label + ": fetchmail exits 0", r.stdout + r.stderr)
    t.eq(len(got), len(want), label + ": every message in the mbox")
    for i, w in enumerate(want):
        # mbox: From_ escaping undone by the parser; fetchmail may add
        # its own Received/Status header lines and line ends are LF.
        g = got[i] if i < len(got) else b""
        body = w.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
        subj = [ln for ln in w.replace(b"\r\n", b"\n").split(b"\n") if ln.startswith(b"Subject:")][0]
        t.ok(subj in g and body.rstrip(b"\n") in g.replace(b"\n>From ", b"\nFrom "),
             "%s: message %d arrived whole" % (label, i + 1), g[:400])
    t.eq(os.listdir(maildir + "/new") + os.listdir(maildir + "/cur"), [], label + ": the Maildir is empty afterwards")


u = TestUser(unique_user("pf"))
v = TestUser(unique_user("pv"))      # the account virtual users run as
try:
    set_password(u.name, "fetch secret")
    md = u.maildirmake()
    for i, m in enumerate(MSGS):
        put_message(md, "100000000%d.F%d.host" % (i, i), m, owner=(u.uid, u.gid))
    vhome = os.path.join(v.home, "joe")
    os.makedirs(vhome)
    os.chown(vhome, v.uid, v.gid)
    vmd = v.maildirmake("joe/Maildir")
    for i, m in enumerate(MSGS[:2]):
        put_message(vmd, "200000000%d.V%d.host" % (i, i), m, owner=(v.uid, v.gid))

    with Instance(t, name="example.test") as q:
        prepare(q)
        make_cert(q.path("control/servercert.pem"), "pop.example.test")
        r = run([q.bin("qmail-vuser"), "add", "joe@virt.test", v.name, vhome], input="virtual secret\n")
        t.eq(r.returncode, 0, "qmail-vuser add joe@virt.test account home", r.stderr)

        work = os.path.join(u.home, "fm")
        os.makedirs(work)
        with Pop3Server(q) as s:
            r, mbox = fetch(u, s.port, u.name, "fetch secret", "", work)
            t.ok(b"STLS" in r.stdout + r.stderr, "fetchmail used STLS", r.stdout[-2000:])
            check("system user over STLS", r, mbox, MSGS, md)
            r2, _ = fetch(u, s.port, u.name, "fetch secret", "", work)
            t.eq(r2.returncode, 1, "a second run: nothing to fetch (exit 1)", r2.stdout + r2.stderr)
            t.eq(len(bodies(mbox)), len(MSGS), "and the mbox is unchanged")

        vwork = os.path.join(v.home, "fm")
        os.makedirs(vwork)
        with Pop3Server(q, env={"POP3S": "1"}) as s:
            r, mbox = fetch(v, s.port, "joe@virt.test", "virtual secret", "ssl", vwork)
            check("virtual user over POP3S", r, mbox, MSGS[:2], vmd)
            os.makedirs(vwork + "2")
            r, _ = fetch(v, s.port, "joe@virt.test", "wrong secret", "ssl", vwork + "2")
            t.ok(r.returncode not in (0, 1), "a wrong password: fetchmail reports an error", r.stdout + r.stderr)
            t.ok("authentication failed for joe@virt.test from 127.0.0.1" in s.log(), "the failure is logged", s.log())
finally:
    u.remove()
    v.remove()
t.done()
