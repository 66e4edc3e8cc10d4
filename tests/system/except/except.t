#!/usr/bin/env python3
# except: the program's 0 becomes 100, 111 stays 111, anything else
# becomes 0 (also a program that cannot be run); a crash is 111.
# (Its use directly in .qmail files is in dotqmail.t here; behind
# condredirect, in tests/system/condredirect/.)
# smoke
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, run

t = Tap()
E = bin_("except")
env = {"PATH": "/usr/bin:/bin"}
for code, want in ((0, 100), (1, 0), (99, 0), (100, 0), (111, 111), (112, 0)):
    r = run([E, "sh", "-c", "exit %d" % code], env=env)
    t.eq(r.returncode, want, "program exits %d: except exits %d" % (code, want))
r = run([E, "sh", "-c", "kill -9 $$"], env=env)
t.eq(r.returncode, 111, "program crashes: 111")
r = run([E, "/nonexistent/prog"], env=env)
t.eq(r.returncode, 0, "program cannot be run: 0")
r = run([E], env=env)
t.eq(r.returncode, 100, "no program: usage, 100")
r = run([E, "grep", "-q", "needle"], input=b"hay needle hay\n", env=env)
t.eq(r.returncode, 100, "standard input reaches the program (grep found it: 100)")
r = run([E, "sh", "-c", "echo out; echo err >&2; exit 1"], env=env)
t.eq((r.stdout, r.stderr), (b"out\n", b"err\n"), "the program's output passes through")
t.done()
