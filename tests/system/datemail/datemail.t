#!/usr/bin/env python3
# datemail: sendmail through predate -- the delivered message carries a
# Date field in the local time zone ($TZ), not qmail-inject's UTC one;
# sendmail's options pass through.
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Instance, NAME, run

t = Tap()
with Instance(t, name=NAME) as q:
    q.start()
    env = {"PATH": q.path("bin") + ":/usr/bin:/bin", "TZ": "XYZ-3"}
    r = run([q.bin("datemail"), "-t"], input="To: postmaster@%s\nSubject: dm-token\n\nhello\n" % NAME, env=env,
            user=q.as_owner())
    t.eq((r.returncode, r.stderr), (0, b""), "datemail -t exit 0")
    t.ok(q.wait(lambda: any("dm-token" in x for x in q.maildir_texts("alias/Maildir")), 30), "delivered",
         q.logtext())
    got = [x for x in q.maildir_texts("alias/Maildir") if "dm-token" in x]
    if got:
        dates = re.findall(r"^Date: (.*)$", got[0].split("\n\n", 1)[0], re.M)
        t.ok(len(dates) == 1 and dates[0].endswith(" +0300"), "one Date field, in local time (+0300)", got[0])
t.done()
