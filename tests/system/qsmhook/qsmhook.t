#!/usr/bin/env python3
# qsmhook: a sendmail-style delivery program gets %g %h %u %% expanded
# from qmail-local's environment in its arguments (unknown escapes
# dropped; -x strips a prefix from %u), the From_ line (not with -n),
# Return-Path (-P) and Delivered-To (-l) before the message; exit codes
# pass through; values never go through a shell.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, bin_, qlenv, run

t = Tap()
Q = bin_("qsmhook")
env = qlenv("joe", "Joe-Lists-x", sender="s@example.org", host="mx.example.test")
MSG = b"Subject: s\n\nbody\n"
SHOW = ["sh", "-c", "printf '[%%s]' \"$@\"; echo; cat", "prog"]
r = run([Q] + SHOW + ["%u", "%h", "%g", "100%%", "a%zb", "end%"], input=MSG, env=env)
first, rest = r.stdout.split(b"\n", 1)
t.eq(first, b"[Joe-Lists-x][mx.example.test][s@example.org][100%][ab][end]", "escapes in arguments", r.stderr)
t.eq(rest, env["UFLINE"].encode() + MSG, "From_ line, then the message")
r = run([Q, "-x", "joe-", "-n", "-P", "-l", "-D", "-F", "-M", "-m", "-s"] + SHOW + ["%u"], input=MSG, env=env)
first, rest = r.stdout.split(b"\n", 1)
t.eq(first, b"[Lists-x]", "-x strips the prefix, in any case")
t.eq(rest, (env["RPLINE"] + env["DTLINE"]).encode() + MSG, "-n -P -l: Return-Path, Delivered-To, no From_")
r = run([Q, "-x", "other-"] + SHOW + ["%u"], input=MSG, env=env)
t.eq(r.stdout.split(b"\n", 1)[0], b"[Joe-Lists-x]", "-x with a prefix that is not there: unchanged")
e2 = dict(env, SENDER="x@y.z; touch /tmp/nq-qsmhook-pwned")
r = run([Q, "echo", "%g"], input=MSG, env=e2)
t.ok(r.stdout == b"x@y.z; touch /tmp/nq-qsmhook-pwned\n" and not os.path.exists("/tmp/nq-qsmhook-pwned"),
     "an expanded value is one argument, never shell text", r.stdout)
for code in (0, 1, 100, 111):
    r = run([Q, "sh", "-c", "cat >/dev/null; exit %d" % code], input=MSG, env=env)
    t.eq(r.returncode, code, "program exits %d: qsmhook too" % code)
r = run([Q, "/nonexistent/prog"], input=MSG, env=env)
t.eq(r.returncode, 100, "program not found: 100")
r = run([Q, "cat"], input=MSG, env={"PATH": "/usr/bin:/bin"})
t.eq(r.returncode, 100, "outside qmail-local: usage, 100")
r = run([Q], input=MSG, env=env)
t.eq(r.returncode, 100, "no program: usage, 100")
t.done()
