#!/usr/bin/env python3
# The systemd units setup writes into DIR/boot/systemd/: every one passes
# `systemd-analyze verify` against the real instance (its programs and
# scripts exist), the listener templates nqmail-KIND@.service as instances
# named by listen lines as `qmailctl units` names them (IPv4, and for one
# IPv6 escaped), with DIR filled in and the right User=; none of them sets
# NoNewPrivileges (qmail-queue is set-uid); a broken copy fails verify,
# so the check can fail. SYSTEMD_UNITS=1 installs them (into a directory
# of the test's own, never /etc), and a single-user instance's units run
# as its owner.
# smoke
import glob, os, re, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run, TOP, BUILD

KINDS = ["smtpd", "submission", "smtps", "pop3", "pop3s", "qmtp", "qmqp"]
UNITS = ["nqmail-send.service"] + ["nqmail-%s@.service" % k for k in KINDS] + \
        ["nqmail-smtpd-accept.socket", "nqmail-smtpd-accept@.service"]
ROOT_UNITS = UNITS[:1 + len(KINDS)]
# instance names as qmailctl units writes them (systemd-escape)
INSTANCES = ["127.0.0.1:25", "\\x5b::1\\x5d:2525"]

t = Tap()
if not shutil.which("systemd-analyze"):
    t.skip("systemd units", "systemd-analyze is not installed (scripts/deps.sh installs systemd)")
    t.done()
    sys.exit(0)


def verify(paths):
    r = run(["systemd-analyze", "verify", "--man=no"] + paths, timeout=60)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace").strip()


def unit_key(text, key):
    return [l.split("=", 1)[1] for l in text.splitlines() if l.startswith(key + "=")]


def check(q, user, smtpd_user, tag):
    sd = q.path("boot/systemd")
    have = sorted(os.listdir(sd))
    for u in UNITS + ["listen", "smtpd-socket"]:
        t.ok(u in have, "%s: boot/systemd/%s is there" % (tag, u), have)
    texts = {}
    for f in have:
        with open(os.path.join(sd, f)) as fh:
            texts[f] = fh.read()
    # (listen fills in the run script's own placeholders when it runs)
    left = {f: re.findall(r"@[A-Z]+@", x) for f, x in texts.items()
            if f != "listen" and re.search(r"@[A-Z]+@", x)}
    t.ok("@DIR@" not in texts.get("listen", "@DIR@"), "%s: listen has the instance filled in" % tag)
    t.ok(not left, "%s: every placeholder filled in" % tag, left)
    for u in UNITS:
        x = texts.get(u, "")
        t.ok(q.dir in x, "%s: %s names the instance" % (tag, u))
        t.ok(unit_key(x, "NoNewPrivileges") == [], "%s: %s does not set NoNewPrivileges" % (tag, u))
        if u.endswith(".service"):
            for e in unit_key(x, "ExecStart"):
                prog = e.split()[0]
                t.ok(os.access(prog, os.X_OK), "%s: %s runs %s, which exists" % (tag, u, prog))
    for u in ROOT_UNITS:
        t.eq(unit_key(texts.get(u, ""), "User"), [user], "%s: %s runs as %s" % (tag, u, user))
    for k in KINDS:
        t.eq(unit_key(texts.get("nqmail-%s@.service" % k, ""), "ExecStart"), ["%s/boot/systemd/listen %s %%I" % (q.dir, k)],
             "%s: nqmail-%s@.service runs listen %s with the unescaped instance name" % (tag, k, k))
    t.eq(unit_key(texts.get("nqmail-smtpd-accept@.service", ""), "User"), [smtpd_user],
         "%s: a socket-activated session runs as %s" % (tag, smtpd_user))
    t.eq(unit_key(texts.get("nqmail-smtpd-accept.socket", ""), "Accept"), ["yes"], "%s: the socket accepts (Accept=yes)" % tag)
    old = [f for f in have if f in ("nqmail-smtpd.service", "nqmail-pop3.service", "nqmail-smtpd.socket")]
    t.eq(old, [], "%s: no unit of the earlier single-address kind is left" % tag)

    # systemd-analyze wants a template instantiated: verify a copy named @1.
    tmp = tempfile.mkdtemp(prefix="nqt-units-")
    try:
        paths = []
        for u in UNITS:
            dst = os.path.join(tmp, u)
            shutil.copy(os.path.join(sd, u), dst)
            if u.endswith("@.service"):
                # FILE:NAME verifies a template as one of its instances
                # (a ':' in a file name itself would be taken for this)
                # every template as an IPv4 line, one also as an escaped IPv6 line
                insts = INSTANCES if u == "nqmail-smtpd@.service" else INSTANCES[:1]
                names = [u.replace("@.", "@1.")] if "accept" in u else [u.replace("@.", "@%s." % i) for i in insts]
                paths += ["%s:%s" % (dst, n) for n in names]
            else:
                paths.append(dst)
        # and the two older units in boot/ (qmail-start alone, svscan)
        for u in ("nqmail.service", "nqmail-svscan.service"):
            dst = os.path.join(tmp, u)
            shutil.copy(q.path("boot/" + u), dst)
            paths.append(dst)
        for p in paths:
            rc, o = verify([p])
            t.ok(rc == 0 and o == "", "%s: systemd-analyze verify %s" % (tag, os.path.basename(p)), o)
        # a unit with a mistake fails, so the check above means something
        bad = os.path.join(tmp, "nqmail-bad.service")
        with open(bad, "w") as f:
            f.write(texts["nqmail-send.service"].replace("ExecStart=" + q.dir + "/boot/rc",
                                                           "ExecStart=" + q.dir + "/boot/no-such-rc"))
        rc, o = verify([bad])
        t.ok(rc != 0 and "no-such-rc" in o, "%s: verify fails on a unit whose program is missing" % tag, o)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


with Instance(t, name="units.example.test", mode="root" if IS_ROOT else "single") as q:
    if IS_ROOT:
        check(q, "root", "qmaild", "root")
    else:
        import pwd
        me = pwd.getpwuid(os.getuid()).pw_name
        check(q, me, me, "single")
    # SYSTEMD_UNITS=1 with a unit directory of our own
    ud = tempfile.mkdtemp(prefix="nqt-unitdir-")
    try:
        env = dict(os.environ, SYSTEMD_UNITS="1", SYSTEMD_UNIT_DIR=ud)
        # units of the earlier one-address kind, as an upgrade finds them
        for path, text in ((q.path("boot/systemd/nqmail-smtpd.service"), "ExecStart=%s/boot/systemd/listen smtpd\n" % q.dir),
                           (os.path.join(ud, "nqmail-smtpd.socket"), "# %s/boot/systemd\n" % q.dir),
                           (os.path.join(ud, "nqmail-pop3.service"), "ExecStart=/srv/other/boot/systemd/listen pop3\n")):
            with open(path, "w") as f:
                f.write(text)
        r = run(["sh", os.path.join(TOP, "scripts/setup.sh"), q.dir, BUILD], env=env, user=q.as_owner())
        t.eq(r.returncode, 0, "setup with SYSTEMD_UNITS=1", r.stderr)
        t.ok(not os.path.exists(q.path("boot/systemd/nqmail-smtpd.service")), "the upgrade removes old units from boot/systemd")
        t.ok(not os.path.exists(os.path.join(ud, "nqmail-smtpd.socket")), "and this instance's old units from the unit directory")
        t.ok(os.path.exists(os.path.join(ud, "nqmail-pop3.service")), "but not another instance's")
        os.unlink(os.path.join(ud, "nqmail-pop3.service"))
        got = sorted(os.listdir(ud))
        t.eq(got, sorted(UNITS), "SYSTEMD_UNITS=1 installs every unit (and only units)", got)
        same = all(open(os.path.join(ud, u)).read() == open(q.path("boot/systemd/" + u)).read() for u in got)
        t.ok(same, "the installed units are the instance's")
        r = run(["sh", os.path.join(TOP, "scripts/setup.sh"), q.dir, BUILD], user=q.as_owner())
        t.ok(not os.path.exists("/etc/systemd/system/nqmail-send.service") or
             q.dir not in open("/etc/systemd/system/nqmail-send.service").read(),
             "without SYSTEMD_UNITS nothing goes into /etc/systemd/system")
    finally:
        shutil.rmtree(ud, ignore_errors=True)

if IS_ROOT:
    u = TestUser(unique_user("unit"))
    try:
        with Instance(t, name="units1.example.test", mode="single", owner=u.name) as q:
            check(q, u.name, u.name, "single")
    finally:
        u.remove()
t.done()
