#!/usr/bin/env python3
# make setup as root: the qmail users and groups, qmail's ownerships and
# modes (qmail's hier.c), qmail-queue set-uid qmailq, the SMTP helpers'
# privileges, state/smtpd, a self-signed control/servercert.pem,
# alias/Maildir, the service and boot scripts; then a second run upgrades
# the programs and keeps control/, users/, alias/ and a queued message.
# smoke
import grp, os, pwd, shutil, stat, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT, TOP, BUILD, run

t = Tap()
if not IS_ROOT:
    t.skip("root setup", "needs root")
    t.done()


def check(q, rel, mode, owner, group, kind="d"):
    p = q.path(rel)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        t.ok(False, "%s exists" % rel)
        return
    want = {"d": stat.S_ISDIR, "f": stat.S_ISREG, "p": stat.S_ISFIFO}[kind]
    got = (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name)
    t.ok(want(st.st_mode) and got == (mode, owner, group),
         "%s is %s %o %s:%s" % (rel or "DIR", kind, mode, owner, group),
         "got %s %o %s:%s" % (stat.filemode(st.st_mode), got[0], got[1], got[2]))



with Instance(t, name="setup.example.test") as q:
    for u, g in (("alias", "nofiles"), ("qmaild", "nofiles"), ("qmaill", "nofiles"), ("qmailp", "nofiles"),
                 ("qmailq", "qmail"), ("qmailr", "qmail"), ("qmails", "qmail")):
        try:
            pw = pwd.getpwnam(u)
            t.eq(grp.getgrgid(pw.pw_gid).gr_name, g, "user %s exists, group %s" % (u, g))
        except KeyError:
            t.ok(False, "user %s exists" % u)

    check(q, "", 0o755, "root", "qmail")
    for d in ("control", "users", "bin", "boot", "doc", "man", "man/man1", "man/man5", "man/man7",
              "man/man8", "service", "log"):
        check(q, d, 0o755, "root", "qmail")
    check(q, "alias", 0o2755, "alias", "qmail")
    for d in ("alias/Maildir", "alias/Maildir/new", "alias/Maildir/cur", "alias/Maildir/tmp"):
        st = os.stat(q.path(d))
        t.ok(st.st_mode & 0o777 == 0o700 and pwd.getpwuid(st.st_uid).pw_name == "alias",
             "%s is 700 alias" % d, oct(st.st_mode))
    check(q, "queue", 0o750, "qmailq", "qmail")
    check(q, "queue/pid", 0o700, "qmailq", "qmail")
    check(q, "queue/intd", 0o700, "qmailq", "qmail")
    check(q, "queue/todo", 0o750, "qmailq", "qmail")
    check(q, "queue/bounce", 0o700, "qmails", "qmail")
    check(q, "queue/lock", 0o750, "qmailq", "qmail")
    check(q, "queue/mess", 0o750, "qmailq", "qmail")
    for d in ("info", "local", "remote"):
        check(q, "queue/" + d, 0o700, "qmails", "qmail")
    bad = []
    for i in range(23):
        for d, m, o in (("mess", 0o750, "qmailq"), ("info", 0o700, "qmails"),
                        ("local", 0o700, "qmails"), ("remote", 0o700, "qmails")):
            st = os.stat(q.path("queue/%s/%d" % (d, i)))
            if stat.S_IMODE(st.st_mode) != m or pwd.getpwuid(st.st_uid).pw_name != o:
                bad.append("%s/%d" % (d, i))
    t.eq(bad, [], "the 23 split subdirectories of mess, info, local, remote")
    check(q, "queue/lock/tcpto", 0o644, "qmailr", "qmail", "f")
    check(q, "queue/lock/sendmutex", 0o600, "qmails", "qmail", "f")
    check(q, "queue/lock/trigger", 0o622, "qmails", "qmail", "p")

    check(q, "bin/qmail-queue", 0o4711, "qmailq", "qmail", "f")
    modes = {"qmail-lspawn": 0o700, "qmail-start": 0o700, "qmail-newu": 0o700,
             "qmail-getpw": 0o711, "qmail-local": 0o711, "qmail-clean": 0o711, "qmail-send": 0o711,
             "splogger": 0o711, "qmail-pw2u": 0o711,
             "qmail-inject": 0o755, "sendmail": 0o755, "qmailctl": 0o755, "config": 0o755,
             "config-fast": 0o755, "qmail-showctl": 0o755, "qmail-tcpok": 0o755,
             "qmail-qstat": 0o755, "qmail-qread": 0o755, "maildirmake": 0o755}
    for prog, m in sorted(modes.items()):
        if os.path.exists(os.path.join(BUILD, "bin", prog)):
            check(q, "bin/" + prog, m, "root", "qmail", "f")
    # The SMTP helpers (issue 4): qmail-rcptcheck set-uid root for qmaild,
    # checkpassword set-gid shadow, the virtual-user and certificate tools
    # for root alone; qmail-smtpd's state directory writable by qmaild only.
    check(q, "bin/qmail-rcptcheck", 0o4711, "root", "qmail", "f")
    try:
        grp.getgrnam("shadow")
        check(q, "bin/checkpassword", 0o2755, "root", "shadow", "f")
    except KeyError:
        check(q, "bin/checkpassword", 0o755, "root", "qmail", "f")
    check(q, "bin/qmail-vuser", 0o700, "root", "qmail", "f")
    check(q, "bin/qmail-mkcert", 0o700, "root", "qmail", "f")
    check(q, "state", 0o755, "root", "qmail")
    check(q, "state/smtpd", 0o700, "qmaild", grp.getgrgid(pwd.getpwnam("qmaild").pw_gid).gr_name)
    check(q, "control/servercert.pem", 0o640, "root", "nofiles", "f")
    pem = open(q.path("control/servercert.pem")).read()
    t.ok(pem.startswith("# nqmail qmail-mkcert: self-signed certificate for setup.example.test\n") and
         "BEGIN CERTIFICATE" in pem and "PRIVATE KEY" in pem,
         "servercert.pem: certificate and key, made for the name config-fast gave", pem[:80])
    for f in ("boot/smtpd.run", "boot/smtpd.log.run", "boot/pop3d.run", "boot/pop3d.log.run"):
        text = open(q.path(f)).read() if os.path.exists(q.path(f)) else ""
        t.ok(q.dir in text and "@DIR@" not in text and "@NAME@" in text, f + " installed for qmailctl")

    same = [p for p in os.listdir(os.path.join(BUILD, "bin"))
            if open(os.path.join(BUILD, "bin", p), "rb").read() != open(q.bin(p), "rb").read()]
    t.eq(same, [], "every program installed as built")

    ids = q.role_ids()
    t.eq(sorted(ids), sorted(["alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails"]),
         "users/ids names every role")
    t.ok(all(ids[r] == (pwd.getpwnam(r).pw_uid, pwd.getpwnam(r).pw_gid) for r in ids),
         "users/ids has the roles' uids and gids", ids)
    idtext = open(q.path("users/ids")).read()
    t.ok("qmail::%d\n" % grp.getgrnam("qmail").gr_gid in idtext and
         "nofiles::%d\n" % grp.getgrnam("nofiles").gr_gid in idtext, "users/ids has the two groups")

    run_ = open(q.path("service/qmail-send/run")).read()
    t.ok(os.access(q.path("service/qmail-send/run"), os.X_OK) and
         q.path("bin/qmail-start") in run_ and "exec env - PATH=" in run_ and "control/defaultdelivery" in run_,
         "service/qmail-send/run starts DIR/bin/qmail-start with a clean environment", run_)
    logrun = open(q.path("service/qmail-send/log/run")).read()
    t.ok("setuidgid qmaill multilog t" in logrun and q.path("log/qmail-send") in logrun,
         "service/qmail-send/log/run: multilog as qmaill into DIR/log/qmail-send", logrun)
    check(q, "log/qmail-send", 0o755, "qmaill", "qmail")
    rc = open(q.path("boot/rc")).read()
    t.ok(q.dir in rc and "qmail-start" in rc and "@DIR@" not in rc, "boot/rc filled in for DIR", rc)
    t.ok(not os.path.exists(q.path("rc")), "no DIR/rc unless BOOT_RC=1")
    for f in ("boot/nqmail.service", "boot/nqmail-svscan.service", "boot/tcp.smtp.sample"):
        t.ok(os.path.exists(q.path(f)) and "@DIR@" not in open(q.path(f)).read(), f + " installed")

    # --- a second run: upgrade, keep the configuration and the queue -------
    q.control("me", "kept.example.test")
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.write("users/assign", "=x:alias:1:1:/nonexistent:::\n.\n", owner="root")
    q.write("queue/mess/5/12345", "Subject: queued\n\nstill here\n", mode=0o644, owner="qmailq")
    q.write("queue/todo/12345", "u0\0p1\0Fa@b\0Tc@d\0\0", mode=0o644, owner="qmailq")
    qq = q.queue("Subject: real\n\nqueued by qmail-queue\n", "a@b.example", ["x@setup.example.test"])
    before = q.queue_files()
    with open(q.bin("qmail-showctl"), "wb") as f:
        f.write(b"old junk")
    os.chmod(q.bin("qmail-queue"), 0o755)
    r = run(["sh", os.path.join(TOP, "scripts/setup.sh"), q.dir, BUILD])
    t.eq(r.returncode, 0, "setup runs again", )
    t.eq(open(q.path("control/me")).read(), "kept.example.test\n", "control/me kept")
    t.eq(open(q.path("control/servercert.pem")).read(), pem, "the certificate kept")
    t.eq(open(q.path("alias/.qmail-x")).read(), "./Maildir/\n", "alias/.qmail-x kept")
    t.ok(open(q.path("users/assign")).read().startswith("=x:alias"), "users/assign kept")
    t.eq(open(q.path("queue/mess/5/12345")).read(), "Subject: queued\n\nstill here\n", "a queued message kept")
    t.eq(q.queue_files(), before, "every queue file kept")
    t.ok(qq == 0 and len([f for f in before if f.startswith("mess/")]) == 2,
         "qmail-queue queued a message before the upgrade (and it was kept)", "qmail-queue exit %s" % qq)
    t.eq(open(q.bin("qmail-showctl"), "rb").read(),
         open(os.path.join(BUILD, "bin/qmail-showctl"), "rb").read(), "the programs are replaced")
    check(q, "bin/qmail-queue", 0o4711, "qmailq", "qmail", "f")

# Parents created by setup are 0755 whatever the caller's umask.
base = tempfile.mkdtemp(prefix="nqt-")
try:
    os.chmod(base, 0o755)
    r = run(["sh", "-c", 'umask 077; exec sh "$0" "$1" "$2"', os.path.join(TOP, "scripts/setup.sh"),
             os.path.join(base, "a", "b", "q"), BUILD])
    t.eq(r.returncode, 0, "setup under umask 077", )
    t.eq(stat.S_IMODE(os.stat(os.path.join(base, "a", "b")).st_mode), 0o755, "a parent it creates is 0755")
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
