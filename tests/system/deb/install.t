#!/usr/bin/env python3
# The Debian package (scripts/mkdeb.sh), installed, used, upgraded, removed
# and purged in a throw-away chroot of this machine's Debian release, never
# on this machine (it would replace the installed MTA). The chroot comes
# from the tarball scripts/debchroot.sh caches (built the first time from
# the Debian mirror apt uses; the test skips only when that mirror is
# unreachable). Every step runs under unshare in new mount, pid and
# network namespaces: what the package starts dies with the step, and no
# listener reaches the machine's network.
#
# Checked: lintian has no error or warning; dpkg -i creates the qmail
# users and groups and the /var/qmail tree with setup's modes, links
# /usr/sbin/sendmail, provides mail-transport-agent, enables no unit and
# starts nothing; config-fast, then mail through qmail-inject and through
# /usr/sbin/sendmail delivered by `qmailctl start` into alias/Maildir; an
# upgrade to a higher version keeps control/ and a queued message (and
# starts nothing when nothing ran), and restarts a running qmail-send on
# the new program; remove stops the instance, deletes the programs and
# keeps the configuration, the queue and the users; purge deletes
# /var/qmail and the users and groups it made (a group that was there
# before stays); and the tree the package made is
# the tree scripts/setup.sh makes for /var/qmail as root (paths, types,
# modes, owners).
import os, re, shutil, subprocess, sys, tempfile, time, traceback
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, IS_ROOT, TOP

t = Tap()
USERS = ["alias", "qmaild", "qmaill", "qmailp", "qmailq", "qmailr", "qmails"]
GROUPS = ["qmail", "nofiles"]
V1, V2 = "1.0~nqtest1", "1.0~nqtest2"
NAME = "deb.example.test"
Q = "/var/qmail"


def need():
    if not IS_ROOT:
        return "needs root (dpkg in a chroot)"
    for tool in ("dpkg-deb", "dpkg-shlibdeps", "unshare", "chroot", "tar"):
        if not shutil.which(tool):
            return "%s is missing (sh scripts/deps.sh installs it)" % tool
    return None


why = need()
if why:
    t.skip("package install, upgrade and purge in a chroot", why)
    t.done()


def sh(cmd, timeout=120):
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def depends(deb):
    """The package names of the .deb's Depends (first of alternatives)."""
    rc, out = sh(["dpkg-deb", "-f", deb, "Depends"])
    names = []
    for part in out.strip().split(","):
        n = re.sub(r"\(.*?\)", "", part.split("|")[0]).strip().split(":")[0]
        if n:
            names.append(n)
    return names


class Chroot:
    """A fresh copy of the cached chroot in a temporary directory."""

    def __init__(self, tarball):
        self.root = tempfile.mkdtemp(prefix="nqdeb-", dir="/var/tmp")
        os.chmod(self.root, 0o755)
        rc, out = sh(["tar", "-C", self.root, "-xf", tarball])
        if rc != 0:
            self.remove()
            raise RuntimeError("unpacking %s: %s" % (tarball, out))

    def run(self, script, timeout=90):
        """Run a shell script inside, in namespaces of its own; (rc, output)."""
        cmd = ["unshare", "--mount", "--pid", "--net", "--fork", "--kill-child",
               "--mount-proc=" + os.path.join(self.root, "proc"),
               "chroot", self.root, "/usr/bin/env", "-i",
               "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME=/root", "LANG=C.UTF-8", "/bin/sh", "-c", script]
        start = time.time()
        try:
            return sh(cmd, timeout=timeout)
        except subprocess.TimeoutExpired:
            return 124, "timed out after %d s" % timeout
        finally:
            t.diag("chroot step: %.1f s" % (time.time() - start))

    def copy_in(self, src, rel):
        dst = os.path.join(self.root, rel.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(src, dst)

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


# A listing of the tree: path type mode owner group, sorted; the files whose
# presence depends on what ran (pid files, supervise state) are left out.
LISTING = ("find %s \\( -path '*/supervise' -o -path '*/supervise/*' \\) -prune -o "
           "-printf '%%p %%y %%m %%u %%g\\n' | LC_ALL=C sort" % Q)

# Wait up to 20 s for N messages in alias/Maildir/new.
WAIT_NEW = '''i=0; while [ $i -lt 200 ] && [ "$(ls %s/alias/Maildir/new | wc -l)" -lt %%d ]; do sleep 0.1; i=$((i+1)); done
echo "new=$(ls %s/alias/Maildir/new | wc -l)"''' % (Q, Q)

# The processes of the step's pid namespace, apart from the shell and ps.
PROCS = ("ps -eo pid=,user=,comm= > /tmp/ps.out; echo procs:; "
         "awk '$1 != 1 && $3 != \"ps\"' /tmp/ps.out; echo :procs")


def procs(out):
    m = re.search(r"procs:\n(.*?):procs", out, re.S)
    return [l.split() for l in m.group(1).splitlines() if l.strip()] if m else None


def field(out, key):
    m = re.search(r"^%s=(.*)$" % re.escape(key), out, re.M)
    return m.group(1) if m else None


work = tempfile.mkdtemp(prefix="nqdeb-pkg-", dir="/var/tmp")
chroot = None
try:
    # --- the packages ---------------------------------------------------
    debs = {}
    for v in (V1, V2):
        r = subprocess.run(["sh", os.path.join(TOP, "scripts/mkdeb.sh"), "-v", v, "-o", work],
                           capture_output=True, timeout=300, env=dict(os.environ, NQ_DEB_COMPRESS="gzip"))
        out = (r.stdout + r.stderr).decode("utf-8", "replace")
        rc, path = r.returncode, (r.stdout.decode().strip().splitlines() or [""])[-1]
        if not t.ok(rc == 0 and os.path.isfile(path), "mkdeb.sh -v %s builds a package" % v, out):
            raise SystemExit
        debs[v] = path
    rc, out = sh(["dpkg-deb", "-f", debs[V1], "Version", "Provides", "Conflicts", "Replaces"])
    t.ok(V1 in out and out.count("mail-transport-agent") == 3,
         "the package provides, conflicts with and replaces mail-transport-agent", out)
    deps = depends(debs[V1])
    t.ok({"daemontools", "ucspi-tcp-ipv6", "libc6"} <= set(deps),
         "its Depends name daemontools, ucspi-tcp-ipv6 and the linked libraries", deps)
    if shutil.which("lintian"):
        rc, out = sh(["lintian", "--allow-root", debs[V1]], timeout=180)
        bad = [l for l in out.splitlines() if re.match(r"^[EW]: ", l)]
        t.ok(not bad, "lintian reports no error or warning", out)
    else:
        t.skip("lintian reports no error or warning", "lintian is not installed (scripts/deps.sh)")

    # --- the chroot ----------------------------------------------------
    r = subprocess.run(["sh", os.path.join(TOP, "scripts/debchroot.sh")] + deps,
                       capture_output=True, timeout=900)
    out = (r.stdout + r.stderr).decode("utf-8", "replace")
    if r.returncode != 0:
        if "mirror unreachable" in out:
            t.skip("package install, upgrade and purge in a chroot", out.strip().splitlines()[-1])
            raise SystemExit
        t.ok(False, "debchroot.sh makes the cached chroot", out)
        raise SystemExit
    tarball = r.stdout.decode().strip().splitlines()[-1]
    chroot = Chroot(tarball)
    chroot.copy_in(debs[V1], "/tmp/v1.deb")
    chroot.copy_in(debs[V2], "/tmp/v2.deb")

    # --- install ---------------------------------------------------------
    # nofiles exists before the package: purge must leave it alone.
    rc, out = chroot.run("groupadd -r nofiles; dpkg -i /tmp/v1.deb; echo dpkg=$?; sleep 0.5; " + PROCS)
    t.eq(field(out, "dpkg"), "0", "dpkg -i installs the package", out)
    t.eq(procs(out), [], "installing starts nothing", out)
    t.ok("config-fast" in out, "postinst says how to configure and start it", out)
    rc, out = chroot.run(
        "for u in %s; do getent passwd $u || echo missing user $u; done; "
        "for g in %s; do getent group $g || echo missing group $g; done; "
        "echo sendmail=$(readlink /usr/sbin/sendmail); echo mailq=$(readlink /usr/bin/mailq); "
        "echo libsendmail=$(readlink -f /usr/lib/sendmail); "
        "echo wants=$(ls /etc/systemd/system/*.wants 2>/dev/null | grep -c nqmail); "
        "echo units=$(ls /lib/systemd/system | grep -c '^nqmail-send.service$'); "
        # the shipped units are the ones setup writes into boot/ (same filling-in)
        "for u in /lib/systemd/system/nqmail-*; do n=${u##*/}; c=%s/boot/systemd/$n; "
        "[ $n != nqmail-svscan.service ] || c=%s/boot/$n; cmp -s $u $c || echo unitdiffers=$n; done; "
        "echo status=$(dpkg-query -W -f='${Status} ${Version}' nqmail); " % (" ".join(USERS), " ".join(GROUPS), Q, Q)
        + LISTING)
    t.ok("missing" not in out, "the qmail users and groups exist", out)
    t.ok(all(re.search(r"^%s:x:\d+:\d+::%s:/usr/sbin/nologin$" % (u, Q + "/alias" if u in USERS[:4] else Q), out, re.M)
             for u in USERS), "with setup's homes and shell", out)
    t.eq(field(out, "sendmail"), Q + "/bin/sendmail", "/usr/sbin/sendmail links to the instance")
    t.eq(field(out, "libsendmail"), Q + "/bin/sendmail", "and so does /usr/lib/sendmail")
    t.eq(field(out, "mailq"), Q + "/bin/qmail-qread", "/usr/bin/mailq is qmail-qread")
    t.eq((field(out, "units"), field(out, "wants")), ("1", "0"), "the systemd units are shipped, none enabled")
    t.eq(field(out, "status"), "install ok installed " + V1, "dpkg records it installed")
    t.eq(field(out, "unitdiffers"), None, "each unit is the one setup writes for /var/qmail", out)
    installed = [l for l in out.splitlines() if l.startswith(Q)]
    tree = {l.split()[0]: l.split()[1:] for l in installed}
    for path, want in (
            (Q, ["d", "755", "root", "qmail"]),
            (Q + "/bin/qmail-queue", ["f", "4711", "qmailq", "qmail"]),
            (Q + "/bin/qmail-lspawn", ["f", "700", "root", "qmail"]),
            (Q + "/bin/qmail-send", ["f", "711", "root", "qmail"]),
            (Q + "/bin/qmail-inject", ["f", "755", "root", "qmail"]),
            (Q + "/alias", ["d", "2755", "alias", "qmail"]),
            (Q + "/queue", ["d", "750", "qmailq", "qmail"]),
            (Q + "/queue/mess/22", ["d", "750", "qmailq", "qmail"]),
            (Q + "/queue/local/0", ["d", "700", "qmails", "qmail"]),
            (Q + "/queue/lock/trigger", ["p", "622", "qmails", "qmail"]),
            (Q + "/control/servercert.pem", None)):
        if want is None:
            t.ok(path in tree, "%s exists" % path, "\n".join(installed[:50]))
        else:
            t.eq(tree.get(path), want, "%s: type, mode, owner, group" % path)

    # --- configure and deliver ----------------------------------------------
    rc, out = chroot.run(
        "%s/bin/config-fast %s >/dev/null; echo cf=$?; "
        "echo 'Subject: one' | %s/bin/qmail-inject postmaster@%s; echo inject=$?; "
        "printf 'To: postmaster@%s\\nSubject: two\\n\\nbody\\n' | /usr/sbin/sendmail -t; echo sendmail=$?; "
        "%s/bin/qmailctl start >/dev/null; echo start=$?; " % (Q, NAME, Q, NAME, NAME, Q)
        + WAIT_NEW % 2 + "; echo send=$(ps -o user= -C qmail-send); "
        "%s/bin/qmailctl stop >/dev/null; echo stop=$?; " % Q + PROCS
        + "; cat %s/alias/Maildir/new/*; grep -c 'delivery [0-9]*: success' %s/log/qmail-send/current" % (Q, Q))
    t.eq([field(out, k) for k in ("cf", "inject", "sendmail", "start")], ["0", "0", "0", "0"],
         "config-fast, qmail-inject, /usr/sbin/sendmail -t and qmailctl start succeed", out)
    t.eq(field(out, "new"), "2", "both messages are delivered into alias/Maildir/new", out)
    t.ok("Subject: one" in out and "Subject: two" in out and "Delivered-To: " in out,
         "with their text and a Delivered-To line", out)
    t.eq(field(out, "send"), "qmails", "qmail-send ran as qmails")
    t.eq((field(out, "stop"), procs(out)), ("0", []), "qmailctl stop leaves nothing running", out)

    # --- upgrade ---------------------------------------------------------
    rc, out = chroot.run(
        "echo 7 > %s/control/concurrencylocal; "
        "echo 'Subject: three' | %s/bin/qmail-inject postmaster@%s; "
        "dpkg -i /tmp/v2.deb >/dev/null; echo dpkg=$?; sleep 0.5; " % (Q, Q, NAME) + PROCS
        + "; echo status=$(dpkg-query -W -f='${Status} ${Version}' nqmail); "
        "echo me=$(cat %s/control/me); echo cl=$(cat %s/control/concurrencylocal); "
        "%s/bin/qmail-qstat | head -1; " % (Q, Q, Q)
        + "%s/bin/qmailctl start >/dev/null; " % Q + WAIT_NEW % 3
        + "; old=$(ps -o pid= -C qmail-send); dpkg -i /tmp/v2.deb >/dev/null; echo again=$?; "
        "new=$(ps -o pid= -C qmail-send | tr -d ' '); echo restarted=$([ -n \"$new\" ] && [ \"$new\" != \"$old\" ] && echo yes); "
        "echo exe=$(readlink /proc/$new/exe); "
        "%s/bin/qmailctl stop >/dev/null" % Q)
    t.eq(field(out, "dpkg"), "0", "dpkg -i of a higher version upgrades", out)
    t.eq(procs(out), [], "an upgrade of a stopped instance starts nothing", out)
    t.eq(field(out, "status"), "install ok installed " + V2, "dpkg records the new version")
    t.eq((field(out, "me"), field(out, "cl")), (NAME, "7"), "control/ survives the upgrade")
    t.ok("messages in queue: 1" in out, "the queued message survives the upgrade", out)
    t.eq(field(out, "new"), "3", "and is delivered after qmailctl start", out)
    t.eq((field(out, "again"), field(out, "restarted"), field(out, "exe")), ("0", "yes", Q + "/bin/qmail-send"),
         "reinstalling while it runs restarts qmail-send on the new program", out)

    # --- remove ---------------------------------------------------------
    rc, out = chroot.run(
        "%s/bin/qmailctl start >/dev/null; dpkg -r nqmail >/dev/null; echo dpkg=$?; sleep 0.5; " % Q + PROCS
        + "; echo status=$(dpkg-query -W -f='${Status}' nqmail); "
        "for d in bin boot man doc service; do [ -e %s/$d ] && echo left=$d; done; "
        "echo me=$(cat %s/control/me); echo new=$(ls %s/alias/Maildir/new | wc -l); "
        "echo sendmail=$([ -L /usr/sbin/sendmail ] && echo yes || echo no); "
        "echo users=$(for u in %s; do getent passwd $u >/dev/null && echo $u; done | wc -l)"
        % (Q, Q, Q, " ".join(USERS)))
    t.eq(field(out, "dpkg"), "0", "dpkg -r removes the package", out)
    t.eq(procs(out), [], "remove stops the running instance", out)
    t.eq(field(out, "status"), "deinstall ok config-files", "dpkg keeps it as config-files")
    t.eq(field(out, "left"), None, "the programs and generated files are gone from %s" % Q, out)
    t.eq((field(out, "me"), field(out, "new")), (NAME, "3"), "control/ and the delivered mail are kept", out)
    t.eq(field(out, "sendmail"), "no", "/usr/sbin/sendmail is gone")
    t.eq(field(out, "users"), str(len(USERS)), "the users are kept until purge")

    # --- purge ------------------------------------------------------------
    rc, out = chroot.run(
        "dpkg -P nqmail >/dev/null; echo dpkg=$?; echo qmail=$([ -e %s ] && echo yes || echo no); "
        "echo state=$([ -e /var/lib/nqmail ] && echo yes || echo no); "
        "echo users=$(for u in %s; do getent passwd $u; done | wc -l); "
        "echo groups=$(for g in %s; do getent group $g >/dev/null && echo $g; done); "
        "echo known=$(dpkg-query -W nqmail >/dev/null 2>&1 && echo yes || echo no)"
        % (Q, " ".join(USERS), " ".join(GROUPS)))
    t.eq(field(out, "dpkg"), "0", "dpkg -P purges the package", out)
    t.eq([field(out, k) for k in ("qmail", "state", "users", "known")], ["no", "no", "0", "no"],
         "purge removes %s, the users and dpkg's record" % Q, out)
    t.eq(field(out, "groups"), "nofiles", "and the group qmail it made, not nofiles that was there before", out)

    # --- the same tree as setup.sh -------------------------------------------
    # The purged chroot is as before the install: run this tree's setup.sh
    # (with its conf/ and doc/) for /var/qmail, on the programs of the
    # package, as `make setup PREFIX=/var/qmail` would, and compare.
    src = os.path.join(chroot.root, "tmp/src")
    for d in ("conf", "doc", "scripts"):
        shutil.copytree(os.path.join(TOP, d), os.path.join(src, d))
    shutil.copy(os.path.join(TOP, "README.md"), src)
    rc, out = sh(["dpkg-deb", "-x", debs[V1], os.path.join(chroot.root, "tmp/pkg")])
    os.symlink("/tmp/pkg/usr/lib/nqmail", os.path.join(src, "build"))
    rc, out = chroot.run("sh /tmp/src/scripts/setup.sh %s /tmp/src/build >/dev/null; echo setup=$?; " % Q + LISTING)
    t.eq(field(out, "setup"), "0", "setup.sh makes /var/qmail in the purged chroot", out)
    made = [l for l in out.splitlines() if l.startswith(Q)]
    only_pkg = sorted(set(installed) - set(made))
    only_setup = sorted(set(made) - set(installed))
    t.ok(len(made) > 100 and not only_pkg and not only_setup,
         "the package's tree is setup's (%d entries: paths, types, modes, owners)" % len(made),
         "only in the package's:\n%s\nonly in setup's:\n%s" % ("\n".join(only_pkg[:20]), "\n".join(only_setup[:20])))
except SystemExit:
    pass
except Exception:
    t.ok(False, "the test ran to its end", traceback.format_exc())
finally:
    if chroot:
        chroot.remove()
    shutil.rmtree(work, ignore_errors=True)
t.done()
