#!/usr/bin/env python3
# Every dot-qmail helper (and predate, qsmhook, and fastforward and
# dot-forward, which run from .qmail files too) runs in bounded memory:
# its peak RSS with a 10 MB message is within 1 MB of its peak with a
# 1 MB message, both for one huge header line and for a big body. The
# program's own peak (VmHWM) is read while strace holds it at exit.
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from helperlib import Tap, bin_, qlenv, peak_rss, big_message, NAME

t = Tap()
SLACK_KB = 1024
tmp = tempfile.mkdtemp(prefix="nqt-rss-")
try:
    fake = os.path.join(tmp, "qq")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\ncat > /dev/null\ncat 0<&1 > /dev/null\nexit 0\n")
    os.chmod(fake, 0o755)
    for n in (".qmail-l", ".qmail-l-request"):
        open(os.path.join(tmp, n), "w").close()
    # fastforward's database (made by setforward) and a user's .forward
    subprocess.run([bin_("setforward"), "data.cdb", "data.tmp"], input=b"joe@%s: a@example.org;\n" % NAME.encode(),
                   cwd=tmp, check=True)
    with open(os.path.join(tmp, ".forward"), "w") as f:
        f.write("a@example.org\n")
    env = qlenv("joe", "joe", sender="s@example.org", extra={"QMAILQUEUE": fake})
    SINK = ["sh", "-c", "cat > /dev/null"]
    CASES = [
        ("preline", ["preline"] + SINK),
        ("forward", ["forward", "a@example.org"]),
        ("condredirect", ["condredirect", "a@example.org", "grep", "-q", "big"]),
        ("bouncesaying", ["bouncesaying", "no", "sh", "-c", "cat >/dev/null; exit 1"]),
        ("except", ["except", "sh", "-c", "cat >/dev/null; exit 1"]),
        ("qbiff", ["qbiff"]),
        ("qreceipt", ["qreceipt", "joe@" + NAME]),
        ("qlist", ["qlist", "l@" + NAME, "l-request@" + NAME, ".qmail-l", ".qmail-l-request", ".qtemp-l",
                   "owner@" + NAME]),
        ("predate", ["predate"] + SINK),
        ("qsmhook", ["qsmhook"] + SINK),
        ("fastforward", ["fastforward", "data.cdb"]),
        ("dot-forward", ["dot-forward", ".forward"]),
    ]
    for kind in ("header", "body"):
        small, large = big_message(1 << 20, kind), big_message(10 << 20, kind)
        if kind == "header":
            small = small.replace(b"Subject: big\n", b"Subject: big\nNotice-Requested-Upon-Delivery-To: joe@" + NAME.encode() + b"\n")
            large = large.replace(b"Subject: big\n", b"Subject: big\nNotice-Requested-Upon-Delivery-To: joe@" + NAME.encode() + b"\n")
        for name, argv in CASES:
            argv = [bin_(argv[0])] + argv[1:]
            c1, _, e1, k1 = peak_rss(argv, small, env, hold=0.3, cwd=tmp)
            c2, _, e2, k2 = peak_rss(argv, large, env, hold=0.3, cwd=tmp)
            t.ok(k1 and k2 and c1 == c2 and c1 in (0, 99) and k2 <= k1 + SLACK_KB,
                 "%s, %s: peak %r kB at 10 MB vs %r kB at 1 MB" % (name, kind, k2, k1),
                 "exit %r %r\n%s\n%s" % (c1, c2, e1[-300:], e2[-300:]))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
