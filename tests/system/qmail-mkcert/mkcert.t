#!/usr/bin/env python3
# qmail-mkcert, setup and config-fast: setup makes a self-signed
# control/servercert.pem for the host name when there is none; config-fast
# NAME replaces it with one for NAME (subject and subjectAltName), and
# running it again changes nothing; a certificate qmail-mkcert did not make
# is never replaced, except with -f; a name that is not a host name is
# refused (exit 100); owner and mode: root:nofiles 0640 in a root
# instance, 0600 in a single-user one.
import grp, os, pwd, shutil, stat, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT, TOP, BUILD, run

t = Tap()
if not shutil.which("openssl"):
    t.skip("qmail-mkcert", "openssl is not installed")
    t.done()
MARK = "# nqmail qmail-mkcert: self-signed certificate for "


def x509(pem, *args):
    """openssl x509 on the certificate in pem (the marker line is skipped)."""
    return subprocess.run(["openssl", "x509", "-noout"] + list(args), input=open(pem, "rb").read(),
                          capture_output=True).stdout.decode()


base = tempfile.mkdtemp(prefix="nqt-")
try:
    os.chmod(base, 0o755)
    d = os.path.join(base, "q")
    r = run(["sh", os.path.join(TOP, "scripts/setup.sh"), d, BUILD])
    t.eq(r.returncode, 0, "setup", r.stderr)
    pem = os.path.join(d, "control/servercert.pem")
    host = os.uname().nodename
    if not host or not all(c.isalnum() or c in "._-" for c in host) or host.startswith(".") \
            or host.endswith(".") or ".." in host:
        host = "localhost"
    t.ok(open(pem).readline() == MARK + host + "\n", "setup made a certificate for the host name " + host,
         open(pem).readline())
    t.ok("CN = " + host in x509(pem, "-subject") or "CN=" + host in x509(pem, "-subject"),
         "its subject names the host", x509(pem, "-subject"))
    st = os.stat(pem)
    if IS_ROOT:
        t.ok((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, grp.getgrnam("nofiles").gr_gid),
             "root instance: root:nofiles 0640", oct(st.st_mode))
    else:
        t.eq(stat.S_IMODE(st.st_mode), 0o600, "single-user instance: 0600")

    cf = os.path.join(d, "bin/config-fast")
    r = run([cf, "mx.example.test"])
    t.eq(r.returncode, 0, "config-fast mx.example.test", r.stderr)
    t.eq(open(pem).readline(), MARK + "mx.example.test\n", "config-fast replaced it for the new name")
    t.ok("DNS:mx.example.test" in x509(pem, "-ext", "subjectAltName"), "subjectAltName DNS:mx.example.test",
         x509(pem, "-ext", "subjectAltName"))
    end = x509(pem, "-enddate")
    t.ok(any(str(y) in end for y in range(2030, 2100)), "valid for years", end)
    same = open(pem, "rb").read()
    r = run([cf, "mx.example.test"])
    t.ok(r.returncode == 0 and open(pem, "rb").read() == same, "config-fast again: unchanged")
    r = run(["sh", os.path.join(TOP, "scripts/setup.sh"), d, BUILD])
    t.ok(r.returncode == 0 and open(pem, "rb").read() == same, "setup again: unchanged")

    mk = os.path.join(d, "bin/qmail-mkcert")
    env = dict(os.environ)
    env.pop("NQMAIL_HOME", None)
    t.eq(run([mk, "bad name"], env=env).returncode, 100, "a name with a space: exit 100")
    t.eq(run([mk, "a", "b"], env=env).returncode, 100, "two names: usage, exit 100")

    # Someone else's certificate stays.
    with open(pem, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nTHEIRS\n-----END CERTIFICATE-----\n")
    r = run([cf, "other.example.test"])
    t.ok(r.returncode == 0 and "THEIRS" in open(pem).read(), "config-fast keeps a certificate it did not make")
    r = run([mk, "other.example.test"], env=env)
    t.ok(r.returncode == 0 and "THEIRS" in open(pem).read() and b"-f" in r.stdout,
         "qmail-mkcert keeps it too, and says -f replaces it", r.stdout)
    r = run([mk, "-f"], env=env)
    t.eq(r.returncode, 0, "qmail-mkcert -f", r.stderr)
    t.eq(open(pem).readline(), MARK + "other.example.test\n", "-f replaced it, for control/me")
    t.eq([n for n in os.listdir(os.path.join(d, "control")) if n.startswith(".")], [], "no temporary file left")
finally:
    shutil.rmtree(base, ignore_errors=True)
t.done()
