#!/usr/bin/env python3
# splogger: each input line one syslog entry "STAMP text" with qmail's
# seconds.microseconds stamp, priority from "alert:"/"warning:", tag and
# numeric facility from the arguments (defaults "splogger" and mail),
# unprintable bytes as '?', empty lines skipped, long lines cut at 800
# bytes with "STAMP+" on the following pieces.
# The entries are caught on a private /dev/log: splogger runs in its own
# mount namespace with a tmpfs on /dev whose log is the test's socket.
# smoke
import os, re, socket, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, BUILD, IS_ROOT

t = Tap()
SPLOGGER = os.path.join(BUILD, "bin", "splogger")


def run(args, data):
    d = tempfile.mkdtemp(prefix="nqt-syslog-")
    path = os.path.join(d, "log")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(0.5)
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
           'mount -t tmpfs none /dev && ln -s "$0" /dev/log && exec "$@"', path, SPLOGGER] + args
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=20)
    got = []
    while True:
        try:
            got.append(s.recv(65536).decode("latin-1"))
        except socket.timeout:
            break
    s.close()
    os.unlink(path)
    os.rmdir(d)
    return r, got


def parse(entry):
    """(pri, tag, text) of a glibc syslog datagram '<PRI>Mmm dd hh:mm:ss TAG: TEXT'."""
    m = re.match(r"<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ([^:]*): (.*)$", entry, re.S)
    return (int(m.group(1)), m.group(2), m.group(3)) if m else (None, None, entry)


if not IS_ROOT:
    t.skip("splogger", "needs root for a private /dev/log")
    t.done()
probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
if probe.returncode != 0:
    t.skip("splogger", "no mount namespaces here")
    t.done()

long = "x" * 2000
r, got = run(["qmail"], b"status: local 0/10 remote 0/20\n\nalert: oh no\nwarning: hmm\ntab\there\x01\xff\n"
                         + long.encode() + b"\nlast without newline")
t.eq(r.returncode, 0, "exit 0 at end of input", r.stderr)
e = [parse(x) for x in got]
t.eq(len(e), 8, "one entry per line, empty line skipped, long line in three pieces", got)
if len(e) == 8:
    t.ok(e[0][0] == 22 and e[0][1] == "qmail" and re.fullmatch(r"\d+\.\d{6} status: local 0/10 remote 0/20", e[0][2]),
         "info entry: mail.info, tag, seconds.microseconds stamp", e[0])
    t.ok(e[1][0] == 17 and e[1][2].endswith(" alert: oh no"), "alert: at LOG_ALERT", e[1])
    t.ok(e[2][0] == 20 and e[2][2].endswith(" warning: hmm"), "warning: at LOG_WARNING", e[2])
    t.ok(e[3][2].endswith(" tab?here??"), "unprintable bytes as '?'", e[3])
    stamp = e[4][2].split(" ")[0]
    t.ok(e[4][2] == stamp + " " + "x" * 799, "first piece: 799 bytes", len(e[4][2]))
    t.ok(e[5][2] == stamp + "+" + "x" * 799, "second piece: same stamp and '+'", e[5][2][:40])
    t.ok(e[6][2] == stamp + "+" + "x" * 402 and e[6][0] == 22, "third piece: the rest", e[6][2][:40])
    t.ok(e[7][2].endswith(" last without newline"), "last line without newline logged")

r, got = run([], b"hello\n")
e = [parse(x) for x in got]
t.ok(len(e) == 1 and e[0][0] == 22 and e[0][1] == "splogger", "defaults: tag splogger, facility mail", got)
r, got = run(["qmail", "3"], b"hello\n")
e = [parse(x) for x in got]
t.ok(len(e) == 1 and e[0][0] == 3 * 8 + 6, "numeric facility 3 (daemon)", got)
r, got = run(["qmail", "mail"], b"hello\n")
t.eq(r.returncode, 100, "non-numeric facility: usage, exit 100")
t.done()
