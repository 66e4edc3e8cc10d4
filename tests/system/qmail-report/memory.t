#!/usr/bin/env python3
# qmail-report streams: its peak memory (ru_maxrss) on a log ten times as
# long as another (and covering ten times the hours, with ten times as
# many distinct senders, recipients and failure texts) stays about the
# same, and both figures come out right.
import os, re, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reportlib import BIN, tai, T0, kv
from nqtest import Tap

t = Tap()
tmp = tempfile.mkdtemp(prefix="nqt-rmem-")


def gen(f, nmsg):
    """nmsg messages, one every 2 s, 2 recipients each, up to 8 in flight;
    every 10th recipient is deferred once with a text naming it."""
    out = []
    d = 0
    for i in range(nmsg):
        s = T0 + 2 * i
        m = 1000 + i
        out.append("%s new msg %d\n%s info msg %d: bytes %d from <user%d@s%d.example> qp %d uid 0\n"
                   % (tai(s), m, tai(s), m, 1000 + i % 500, i, i % 997, m))
        for r in range(2):
            d += 1
            st = s + 0.1 + r * 0.01
            rc = "rcpt%d@d%d.example" % (i, (i + r) % 5003)
            out.append("%s starting delivery %d: msg %d to remote %s\n" % (tai(st), d, m, rc))
            if (i * 2 + r) % 10 == 0:
                out.append("%s delivery %d: deferral: Connected_to_%s_but_it_said_busy./\n" % (tai(st + 0.5), d, rc))
                d += 1
                out.append("%s starting delivery %d: msg %d to remote %s\n" % (tai(st + 0.6), d, m, rc))
            out.append("%s delivery %d: success: ok_%d/\n" % (tai(st + 1.5), d, d))
        out.append("%s end msg %d\n" % (tai(s + 2), m))
        if len(out) > 5000:
            f.write("".join(out))
            out.clear()
    f.write("".join(out))


def measure(path):
    with open(path, "rb") as inp, open(os.path.join(tmp, "out"), "wb") as out:
        pid = os.fork()
        if pid == 0:
            os.dup2(inp.fileno(), 0)
            os.dup2(out.fileno(), 1)
            # under AddressSanitizer freed memory waits in a quarantine
            # (256 MB by default), which would hide what the program keeps
            os.execve(BIN, [BIN], dict(os.environ, TZ="UTC", ASAN_OPTIONS="quarantine_size_mb=0:detect_leaks=0"))
        _, status, ru = os.wait4(pid, 0)
    with open(os.path.join(tmp, "out")) as f:
        return os.waitstatus_to_exitcode(status), ru.ru_maxrss, f.read()


try:
    res = {}
    for name, n in (("small", 15000), ("large", 150000)):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            gen(f, n)
        code, rss, out = measure(p)
        d = kv(out)
        t.eq(code, 0, "%s: exit 0" % name)
        t.eq((d.get("Completed messages"), d.get("success"), d.get("deferral")),
             (str(n), str(2 * n), str(2 * n // 10)), "%s: figures" % name)
        res[name] = rss
        t.diag("%s: %d messages, %d bytes of log, peak RSS %d kB" % (name, n, os.path.getsize(p), rss))
        os.unlink(p)
    t.ok(res["large"] <= res["small"] * 1.2 + 1024, "peak RSS flat: %d kB vs %d kB" % (res["large"], res["small"]))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
