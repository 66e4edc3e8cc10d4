#!/usr/bin/env python3
# setup's refusals and options: a parent directory that keeps the qmail
# users out (0700) is refused with a clear message and nothing is created;
# a directory name with shell metacharacters is refused; SENDMAIL_LINKS=1
# (under LINK_ROOT) links sendmail and mailq, keeping another MTA's
# sendmail aside; BOOT_RC=1 installs DIR/rc and an upgrade keeps an edited one.
import os, shutil, stat, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, IS_ROOT, TOP, BUILD, run

t = Tap()
SETUP = os.path.join(TOP, "scripts/setup.sh")
base = tempfile.mkdtemp(prefix="nqt-")
try:
    if IS_ROOT:
        closed = os.path.join(base, "closed")
        os.mkdir(closed, 0o700)
        os.chmod(closed, 0o700)
        target = os.path.join(closed, "sub", "q")
        r = run(["sh", SETUP, target, BUILD])
        err = r.stderr.decode()
        t.eq(r.returncode, 100, "a 0700 parent is refused with exit 100")
        t.ok(closed in err and "keeps the qmail users out" in err and "chmod o+x" in err,
             "the message names the directory and the fix", err)
        t.ok(not os.path.exists(os.path.join(closed, "sub")), "nothing is created")
    else:
        t.skip("0700 parent refused", "only root instances check parents")

    os.chmod(base, 0o755)
    r = run(["sh", SETUP, os.path.join(base, "bad name"), BUILD])
    t.eq(r.returncode, 100, "a directory name with a space is refused")
    t.ok(not os.path.exists(os.path.join(base, "bad name")), "and not created")

    if IS_ROOT:
        root = os.path.join(base, "root")
        os.makedirs(os.path.join(root, "usr/sbin"))
        with open(os.path.join(root, "usr/sbin/sendmail"), "w") as f:
            f.write("another MTA\n")
        d = os.path.join(base, "q")
        env = dict(os.environ, SENDMAIL_LINKS="1", LINK_ROOT=root, BOOT_RC="1")
        r = run(["sh", SETUP, d, BUILD], env=env)
        t.eq(r.returncode, 0, "setup with SENDMAIL_LINKS=1 BOOT_RC=1")
        for link, target in (("usr/sbin/sendmail", "bin/sendmail"), ("usr/lib/sendmail", "bin/sendmail"),
                             ("usr/bin/mailq", "bin/qmail-qread")):
            p = os.path.join(root, link)
            t.ok(os.path.islink(p) and os.readlink(p) == os.path.join(d, target),
                 "/%s -> DIR/%s" % (link, target), os.path.islink(p) and os.readlink(p))
        t.eq(open(os.path.join(root, "usr/sbin/sendmail.before-nqmail")).read(), "another MTA\n",
             "the other MTA's sendmail is kept as sendmail.before-nqmail")
        rc = os.path.join(d, "rc")
        t.ok(os.path.exists(rc) and os.stat(rc).st_mode & 0o111 and d in open(rc).read(),
             "DIR/rc installed, executable, for DIR")
        with open(rc, "a") as f:
            f.write("# edited\n")
        r = run(["sh", SETUP, d, BUILD], env=env)
        t.eq(r.returncode, 0, "setup again with the options")
        t.ok(open(rc).read().endswith("# edited\n"), "an edited DIR/rc is kept")
        t.ok(os.path.islink(os.path.join(root, "usr/sbin/sendmail")), "links still in place")
    else:
        t.skip("SENDMAIL_LINKS and BOOT_RC", "needs root")
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
