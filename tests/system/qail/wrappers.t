#!/usr/bin/env python3
# qail, elq, pinq: maildir2mbox first, then Mail, elm or pine with the
# same arguments; when maildir2mbox fails the reader is not started.
# The readers are stand-ins put first in PATH that record what they see.
# smoke
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, run

t = Tap()
base = tempfile.mkdtemp(prefix="nqt-qail-")
try:
    fake = os.path.join(base, "bin")
    os.makedirs(fake)
    for reader in ("Mail", "elm", "pine"):
        with open(os.path.join(fake, reader), "w") as f:
            f.write("#!/bin/sh\necho \"%s $*\" > \"$TRACE\"\ngrep -c '^From ' \"$MAIL\" >> \"$TRACE\"\nexit 7\n"
                    % reader)
        os.chmod(os.path.join(fake, reader), 0o755)
    for wrapper, reader in (("qail", "Mail"), ("elq", "elm"), ("pinq", "pine")):
        d = os.path.join(base, wrapper)
        for s in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(d, "Maildir", s))
        for i in range(3):
            with open(os.path.join(d, "Maildir/new/17000000%02d.M1P1.host" % i), "w") as f:
                f.write("Subject: %d\n\nbody\n" % i)
        env = {"PATH": fake + ":/usr/bin:/bin", "MAILDIR": os.path.join(d, "Maildir"),
               "MAIL": os.path.join(d, "mbox"), "MAILTMP": os.path.join(d, "mbox.tmp"),
               "TRACE": os.path.join(d, "trace")}
        r = run([bin_(wrapper), "-f", "x y"], env=env)
        trace = open(env["TRACE"]).read() if os.path.exists(env["TRACE"]) else ""
        t.eq((r.returncode, trace), (7, "%s -f x y\n3\n" % reader),
             "%s: mail moved to $MAIL, then %s ran with the arguments (its exit code kept)" % (wrapper, reader))
        t.eq(os.listdir(os.path.join(d, "Maildir/new")), [], "%s: the Maildir is empty" % wrapper)
        os.unlink(env["TRACE"])
        env["MAILDIR"] = os.path.join(d, "missing")
        r = run([bin_(wrapper)], env=env)
        t.ok(r.returncode == 111 and not os.path.exists(env["TRACE"]),
             "%s: maildir2mbox fails: 111, %s not started" % (wrapper, reader))
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
