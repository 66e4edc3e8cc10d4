"""Helpers for qmail-report's tests: a log with known answers written in
each of the stamp formats, and readers for the text report."""
import gzip, os, re, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nqtest  # noqa: E402

T0 = 1704189600          # 2024-01-02 10:00:00 UTC
BIN = os.path.join(nqtest.BUILD, "bin", "qmail-report")

# (seconds after T0, line). The figures the tests expect from it are
# worked out by hand in known.t. Older qmail forms on purpose: msg 2's
# info line has no qp/uid, deliveries 3 and 6 have no trailing '/'.
# The third part steps the clock back 134 s; message 4 is still queued
# at the end.
PART1 = [
    (0, "status: local 0/10 remote 0/20"),
    (10, "new msg 1"),
    (10, "info msg 1: bytes 1000 from <alice@a.example> qp 100 uid 0"),
    (11, "starting delivery 1: msg 1 to local bob@b.example"),
    (11, "status: local 1/10 remote 0/20"),
    (12, "starting delivery 2: msg 1 to remote carol@C.example"),
    (12, "status: local 1/10 remote 1/20"),
    (13, "delivery 1: success: did_0+0+1/"),
    (13, "status: local 0/10 remote 1/20"),
    (20, "delivery 2: success: 192.0.2.7_accepted_message./Remote_host_said:_250_ok_1704189620_qp_5/"),
    (20, "status: local 0/10 remote 0/20"),
    (20, "end msg 1"),
    (100, "new msg 2"),
    (100, "info msg 2: bytes 500 from <alice@a.example>"),
    (101, "starting delivery 3: msg 2 to remote dave@d.example"),
    (101, "status: local 0/10 remote 1/20"),
    (105, "delivery 3: deferral: Connected_to_192.0.2.9_but_greeting_failed."),
    (105, "status: local 0/10 remote 0/20"),
]
PART2 = [
    (500, "starting delivery 4: msg 2 to remote dave@d.example"),
    (500, "status: local 0/10 remote 1/20"),
    (530, "delivery 4: failure: Sorry,_I_couldn't_find_any_host_named_d.example._(#5.1.2)/"),
    (530, "status: local 0/10 remote 0/20"),
    (531, "bounce msg 2 qp 102"),
    (531, "end msg 2"),
    (532, "new msg 3"),
    (532, "info msg 3: bytes 2000 from <> qp 102 uid 81"),
    (533, "starting delivery 5: msg 3 to local alice@a.example"),
    (533, "status: local 1/10 remote 0/20"),
    (534, "delivery 5: success: did_1+0+0/"),
    (534, "status: local 0/10 remote 0/20"),
    (534, "end msg 3"),
]
PART3 = [
    (400, "new msg 4"),
    (400, "info msg 4: bytes 300 from <bob@b.example> qp 103 uid 0"),
    (401, "starting delivery 6: msg 4 to remote eve@e.example"),
    (401, "status: local 0/10 remote 1/20"),
    (402, "delivery 6: deferral: Connection_refused"),
    (402, "status: local 0/10 remote 0/20"),
    (4000, "starting delivery 7: msg 4 to remote eve@e.example"),
    (4000, "status: local 0/10 remote 1/20"),
    (4005, "delivery 7: deferral: Connection_refused/"),
    (4005, "status: local 0/10 remote 0/20"),
]


def tai(sec):
    s = int(sec)
    return "@%016x%08x" % (2 ** 62 + 10 + s, int(round((sec - s) * 1e9)))


def acc(sec):
    return "%d.%06d" % (int(sec), int(round((sec - int(sec)) * 1e6)))


def bsd(sec):
    import time
    return time.strftime("%b %e %H:%M:%S", time.gmtime(int(sec)))


def lines(part, fmt):
    out = []
    for dt, text in part:
        s = T0 + dt
        if fmt == "tai":
            out.append("%s %s" % (tai(s), text))
        elif fmt == "acc":
            out.append("%s %s" % (acc(s), text))
        elif fmt == "syslog":
            out.append("%s mx qmail: %s %s" % (bsd(s), acc(s), text))
        else:
            out.append(text)
    return "\n".join(out) + "\n"


def run(args, input=None, env=None):
    e = dict(os.environ, TZ="UTC")
    if env:
        e.update(env)
    return subprocess.run([BIN] + args, input=input, capture_output=True, env=e, timeout=60)


def kv(text):
    """The report's 'Label: value' lines as a dict."""
    d = {}
    for line in text.splitlines():
        m = re.match(r"^  ([A-Za-z][^:]*): (.*)$", line)
        if m:
            d.setdefault(m.group(1), m.group(2))
    return d


def table(text, title):
    """Rows (lists of cells, split on runs of spaces, last cell whole) of
    the table under the section line title."""
    ls = text.splitlines()
    try:
        i = ls.index(title)
    except ValueError:
        return None
    rows = []
    for line in ls[i + 2:]:
        if not line.strip():
            break
        rows.append(line.split(None))
    return rows


def write_gz(path, data):
    with gzip.open(path, "wb") as f:
        f.write(data.encode())
