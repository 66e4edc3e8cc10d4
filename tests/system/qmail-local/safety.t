#!/usr/bin/env python3
# qmail-local: what it refuses: loops (Delivered-To), writable or sticky
# homes, writable .qmail files, and extensions that try to leave the home
# directory or reach a shell.
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient, MESSAGE
from nqtest import Tap, IS_ROOT

t = Tap()
r = Recipient("sf")
outside = tempfile.mkdtemp(prefix="nql-outside-")
os.chmod(outside, 0o755)
try:
    r.maildirmake("Maildir")
    me = "%s@example.test" % r.name

    # 1. loops
    LOOP = "This message is looping: it already has my Delivered-To line. (#5.4.6)\n"
    rc, out, err = r.deliver("Received: x\nDelivered-To: %s\nSubject: s\n\nbody\n" % me)
    t.eq((rc, out), (100, LOOP), "our Delivered-To in the header: bounced")
    rc, out, err = r.deliver("delivered-to: %s\n\nbody\n" % me)
    t.eq(rc, 100, "field name compared without case")
    rc, out, err = r.deliver("Delivered-To: other@example.test\nDelivered-To: %s.x\n\nbody\n" % me)
    t.eq(rc, 0, "other Delivered-To lines are not loops")
    rc, out, err = r.deliver("Subject: s\n\nDelivered-To: %s\n" % me)
    t.eq(rc, 0, "the line in the body is not a loop")
    rc, out, err = r.deliver("Delivered-To: %s\n\nbody\n" % me, opts=["-n"])
    t.eq(rc, 0, "-n does not read the message")
    rc, out, err = r.deliver(("X-Long: " + "a" * 100000 + "\n") * 3 + "Delivered-To: %s\n\nbody\n" % me)
    t.eq(rc, 100, "found after long header lines")
    n_before = len(r.maildir())

    # 2. home directory modes
    os.chmod(r.home, 0o702)
    rc, out, err = r.deliver(MESSAGE)
    t.eq((rc, out), (111, "Uh-oh: home directory is writable. (#4.7.0)\n"), "world-writable home: 111")
    os.chmod(r.home, 0o770)
    rc, out, err = r.deliver(MESSAGE)
    t.eq(rc, 0, "group-writable home is allowed (conf-patrn 002)")
    n_before += 1
    os.chmod(r.home, 0o1700)
    rc, out, err = r.deliver(MESSAGE)
    t.eq((rc, out), (111, "Home directory is sticky: user is editing his .qmail file. (#4.2.1)\n"),
         "sticky home: 111")
    rc, out, err = r.deliver(MESSAGE, opts=["-n"])
    t.eq((rc, out), (0, "Warning: home directory is sticky.\nmaildir ./Maildir/\ndid 1+0+0\n"),
         "sticky home with -n: a warning")
    os.chmod(r.home, 0o700)
    t.eq(len(r.maildir()), n_before, "nothing delivered while deferred")

    # 3. .qmail modes
    r.write(".qmail", "./Maildir/\n", mode=0o646)
    rc, out, err = r.deliver(MESSAGE)
    t.eq((rc, out), (111, "Uh-oh: .qmail file is writable. (#4.7.0)\n"), "world-writable .qmail: 111")
    r.write(".qmail-ww-default", "./Maildir/\n", mode=0o666)
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="ww-x")
    t.eq(rc, 111, "world-writable .qmail-ww-default: 111")
    r.unlink(".qmail")
    r.unlink(".qmail-ww-default")
    if IS_ROOT:
        # an unreadable .qmail defers (qmail: it cannot tell what the user wants)
        r.write(".qmail-secret", "./Maildir/\n", mode=0o000)
        rc, out, err = r.deliver(MESSAGE, dash="-", ext="secret")
        t.ok(rc == 111 and "Unable to open .qmail-secret" in out, "unreadable .qmail: 111", out)
        r.unlink(".qmail-secret")

    # 4. extensions never leave the home nor reach a shell
    # Traps: a program .qmail outside the home, one in a subdirectory of
    # the home, and a ".qmail-.." directory that ".." tricks would need.
    marker = os.path.join(outside, "pwned")
    with open(os.path.join(outside, ".qmail-evil"), "w") as f:
        f.write("|touch %s\n" % marker)
    os.chmod(os.path.join(outside, ".qmail-evil"), 0o644)
    os.mkdir(r.path(".qmail-sub"))
    os.mkdir(r.path(".qmail-.."))
    for d in (".qmail-sub", ".qmail-.."):
        if IS_ROOT:
            os.chown(r.path(d), r.uid, r.gid)
    r.write(".qmail-sub/evil", "|touch %s\n" % marker)
    r.write(".qmail-default", "|echo \"$DEFAULT\" >> default.out\n")
    rel = os.path.relpath(outside, r.home)
    exts = ["sub/evil", "../" + rel + "/.qmail-evil", ".." + "/.." * 8 + outside + "/.qmail-evil",
            "x/../../" + rel + "/evil", ".qmail", "..", ";id;", "$(touch %s)" % marker,
            "`touch %s`" % marker, "a;touch %s" % marker]
    for ext in exts:
        r.unlink("default.out")
        rc, out, err = r.deliver(MESSAGE, dash="-", ext=ext)
        got = r.read("default.out").decode() if os.path.exists(r.path("default.out")) else None
        t.ok(rc == 0 and got == ext + "\n" and not os.path.exists(marker),
             "ext %r: handled by .qmail-default, nothing run" % ext, "rc %d out %r got %r" % (rc, out, got))
    # with no .qmail-default, the same extensions bounce
    r.unlink(".qmail-default")
    ok = True
    for ext in exts:
        rc, out, err = r.deliver(MESSAGE, dash="-", ext=ext)
        ok = ok and rc == 100 and "no mailbox" in out
    t.ok(ok and not os.path.exists(marker), "without .qmail-default they bounce, nothing run")
    t.ok(not os.path.exists(r.path("pwned")), "no marker in the home either")
finally:
    r.remove()
    shutil.rmtree(outside, ignore_errors=True)
t.done()
