#!/usr/bin/env python3
# config-fast FQDN and config: control/me, defaultdomain and plusdomain
# (FQDN less its first label when it has three or more), locals and
# rcpthosts (the name added once), alias/.qmail-postmaster,
# .qmail-mailer-daemon and .qmail-root delivering to ./Maildir/; bad
# names refused; NQMAIL_HOME honoured; root and single-user instances.
import os, pwd, shutil, stat, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT, run, unique_user

t = Tap()


def read(q, rel):
    with open(q.path(rel)) as f:
        return f.read()


def host_name():
    """What config should find: uname when dotted, else /etc/hosts."""
    h = os.uname().nodename
    if "." in h:
        return h
    try:
        lines = open("/etc/hosts").read().splitlines()
    except OSError:
        return h
    for line in lines:
        f = line.split("#")[0].split()
        if len(f) < 2 or h not in f[1:]:
            continue
        for n in f[1:]:
            if n.startswith(h + "."):
                return n
        for n in f[1:]:
            if "." in n:
                return n
    return h


def exercise(q, tag, user, uid):
    cf = q.bin("config-fast")
    # Instance() ran config-fast mail.cf.example.test already.
    t.eq(read(q, "control/me"), "mail.cf.example.test\n", tag + "control/me")
    t.eq(read(q, "control/defaultdomain"), "cf.example.test\n", tag + "defaultdomain drops the first label")
    t.eq(read(q, "control/plusdomain"), "cf.example.test\n", tag + "plusdomain too")
    t.eq(read(q, "control/locals"), "mail.cf.example.test\n", tag + "locals")
    t.eq(read(q, "control/rcpthosts"), "mail.cf.example.test\n", tag + "rcpthosts")
    for f in ("me", "locals", "rcpthosts", "defaultdomain", "plusdomain"):
        st = os.stat(q.path("control/" + f))
        t.ok(stat.S_IMODE(st.st_mode) == 0o644 and st.st_uid == uid, tag + "control/%s is 644, owned by %d" % (f, uid))
    alias_uid = q.role_ids()["alias"][0]
    for a in ("postmaster", "mailer-daemon", "root"):
        p = q.path("alias/.qmail-" + a)
        t.eq(read(q, "alias/.qmail-" + a), "./Maildir/\n", tag + "alias/.qmail-%s delivers to ./Maildir/" % a)
        st = os.stat(p)
        t.ok(st.st_uid == alias_uid and not st.st_mode & 0o022, tag + ".qmail-%s belongs to alias, not writable by others" % a)

    q.write("alias/.qmail-root", "&someone@example.org\n")
    r = run([cf, "mail.cf.example.test"], user=user)
    t.eq(r.returncode, 0, tag + "config-fast again with the same name")
    t.eq(read(q, "control/locals"), "mail.cf.example.test\n", tag + "the name is not added twice")
    t.eq(read(q, "alias/.qmail-root"), "&someone@example.org\n", tag + "an existing .qmail-root is left alone")

    r = run([cf, "other.test"], user=user)
    t.eq(r.returncode, 0, tag + "config-fast with a two-label name")
    t.ok(b"other.test" in r.stdout, tag + "it says what it does", r.stdout)
    t.eq(read(q, "control/me"), "other.test\n", tag + "me replaced")
    t.eq(read(q, "control/defaultdomain"), "other.test\n", tag + "a two-label name is its own defaultdomain")
    t.eq(read(q, "control/locals"), "mail.cf.example.test\nother.test\n", tag + "locals gains the new name")
    t.eq(read(q, "control/rcpthosts"), "mail.cf.example.test\nother.test\n", tag + "rcpthosts too")

    for bad in ("bad name", "", "a..b", "-x;rm", "a/b"):
        r = run([cf, bad], user=user)
        t.eq(r.returncode, 100, tag + "config-fast %r refused" % bad)
    r = run([cf], user=user)
    t.eq(r.returncode, 100, tag + "config-fast without a name: usage")
    t.eq(read(q, "control/me"), "other.test\n", tag + "me unchanged by refused names")

    # Found through NQMAIL_HOME when the script lives elsewhere.
    other = tempfile.mkdtemp(prefix="nqt-")
    try:
        os.chmod(other, 0o755)
        os.mkdir(os.path.join(other, "bin"))
        shutil.copy(cf, os.path.join(other, "bin", "config-fast"))
        r = run([os.path.join(other, "bin", "config-fast"), "home.example.test"],
                env=dict(os.environ, NQMAIL_HOME=q.dir), user=user)
        t.eq(r.returncode, 0, tag + "config-fast via NQMAIL_HOME")
        t.eq(read(q, "control/me"), "home.example.test\n", tag + "it wrote the instance NQMAIL_HOME names")
    finally:
        shutil.rmtree(other, ignore_errors=True)

    r = run([q.bin("config")], user=user)
    t.eq(r.returncode, 0, tag + "config exits 0")
    want = host_name()
    t.eq(read(q, "control/me"), want + "\n", tag + "config puts the host's name into me")
    t.ok(want + "\n" in read(q, "control/locals"), tag + "and into locals")


with Instance(t, name="mail.cf.example.test") as q:
    exercise(q, "" if not IS_ROOT else "root: ", None, os.getuid())

if IS_ROOT:
    u = TestUser(unique_user("cfg"))
    try:
        with Instance(t, name="mail.cf.example.test", mode="single", owner=u.name) as q:
            exercise(q, "single: ", u.name, u.uid)
    finally:
        u.remove()
t.done()
