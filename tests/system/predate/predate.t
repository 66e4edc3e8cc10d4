#!/usr/bin/env python3
# predate: "Date: " and the local date-time with its offset from UTC,
# then standard input, go to the program's standard input; the program's
# exit code is predate's (crash 111; usage 100).
# smoke
import email.utils, os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, run

t = Tap()
P = bin_("predate")
for tz, off in (("UTC0", "+0000"), ("XYZ-3", "+0300"), ("ABC+5:30", "-0530")):
    before = time.time()
    r = run([P, "cat"], input=b"Subject: x\n\nbody\n", env={"PATH": "/usr/bin:/bin", "TZ": tz})
    lines = r.stdout.split(b"\n", 1)
    m = re.match(rb"Date: [A-Z][a-z][a-z], \d{1,2} [A-Z][a-z][a-z] \d{4} \d\d:\d\d:\d\d ([+-]\d{4})$", lines[0])
    t.ok(r.returncode == 0 and m and m.group(1).decode() == off, "TZ=%s: a Date field with offset %s" % (tz, off),
         r.stdout[:100])
    if m:
        when = email.utils.parsedate_to_datetime(lines[0][6:].decode()).timestamp()
        t.ok(before - 2 <= when <= time.time() + 2, "the date is now")
    t.eq(lines[1] if len(lines) > 1 else b"", b"Subject: x\n\nbody\n", "then the message, unchanged")
for code in (0, 1, 100, 111):
    r = run([P, "sh", "-c", "cat >/dev/null; exit %d" % code], input=b"x\n", env={"PATH": "/usr/bin:/bin"})
    t.eq(r.returncode, code, "program exits %d: predate too" % code)
r = run([P, "sh", "-c", "kill -9 $$"], input=b"x\n", env={"PATH": "/usr/bin:/bin"})
t.eq(r.returncode, 111, "program crashes: 111")
r = run([P], input=b"x\n", env={"PATH": "/usr/bin:/bin"})
t.eq(r.returncode, 100, "no program: usage, 100")
t.done()
