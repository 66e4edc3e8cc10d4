#!/usr/bin/env python3
# maildirmake: creates DIR/{tmp,new,cur}, mode 0700 whatever the umask,
# refuses an existing DIR, and the result takes a qmail-local delivery.
# smoke
import os, shutil, stat, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nqtest
from nqtest import Tap

t = Tap()
MDM = os.path.join(nqtest.BUILD, "bin", "maildirmake")
QL = os.path.join(nqtest.BUILD, "bin", "qmail-local")
base = tempfile.mkdtemp(prefix="nqt-mdm-")
os.chmod(base, 0o700)
try:
    d = os.path.join(base, "Maildir")
    r = subprocess.run([MDM, d], capture_output=True, preexec_fn=lambda: os.umask(0))
    t.eq((r.returncode, r.stderr), (0, b""), "maildirmake exits 0 silently")
    for sub in ("", "tmp", "new", "cur"):
        st = os.stat(os.path.join(d, sub))
        t.ok(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700,
             "%s is a directory, mode 0700 (umask 0)" % (sub or "DIR"), oct(st.st_mode))
    t.eq(sorted(os.listdir(d)), ["cur", "new", "tmp"], "exactly tmp, new, cur")
    d2 = os.path.join(base, "Strict")
    r = subprocess.run([MDM, d2], capture_output=True, preexec_fn=lambda: os.umask(0o777))
    t.ok(r.returncode == 0 and all(stat.S_IMODE(os.stat(os.path.join(d2, s)).st_mode) == 0o700
                                   for s in ("", "tmp", "new", "cur")), "mode 0700 even with umask 0777")

    # an existing directory is refused and left alone
    open(os.path.join(d, "new", "keep"), "w").close()
    r = subprocess.run([MDM, d], capture_output=True)
    t.ok(r.returncode == 111 and b"maildirmake: unable to make" in r.stderr and b"exists" in r.stderr,
         "existing DIR: 111 with a message", r.stderr)
    t.ok(os.path.exists(os.path.join(d, "new", "keep")), "existing Maildir untouched")
    r = subprocess.run([MDM, os.path.join(base, "no", "such")], capture_output=True)
    t.eq(r.returncode, 111, "missing parent: 111")
    r = subprocess.run([MDM], capture_output=True)
    t.ok(r.returncode == 100 and b"usage" in r.stderr, "no argument: usage, 100")

    # qmail-local delivers into it
    os.unlink(os.path.join(d, "new", "keep"))
    with tempfile.TemporaryFile() as m:
        m.write(b"Subject: hi\n\nbody\n")
        m.seek(0)
        r = subprocess.run([QL, "--", "u", base, "u", "", "", "example.test", "s@example.org", "./Maildir/"],
                           stdin=m, capture_output=True)
    t.ok(r.returncode == 0 and len(os.listdir(os.path.join(d, "new"))) == 1, "qmail-local delivers into it",
         r.stdout + r.stderr)

    if nqtest.IS_ROOT:
        u = nqtest.TestUser("nqlmdm")
        try:
            def pre():
                os.setgroups([])
                os.setgid(u.gid)
                os.setuid(u.uid)
            r = subprocess.run([MDM, "Maildir"], cwd=u.home, capture_output=True, preexec_fn=pre)
            st = os.stat(os.path.join(u.home, "Maildir", "new"))
            t.ok(r.returncode == 0 and st.st_uid == u.uid, "run by a user: owned by that user")
        finally:
            u.remove()
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
