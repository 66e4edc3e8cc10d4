#!/usr/bin/env python3
# qsmhook: a sendmail-style delivery program gets %g %h %u %% expanded
# from qmail-local's environment in its arguments (unknown escapes
# dropped; -x strips a prefix from %u), the From_ line (not with -n),
# Return-Path (-P) and Delivered-To (-l) before the message; exit codes
# pass through; values never go through a shell. Then through a user's
# .qmail file on a root instance: the bytes the program receives, and a
# permanent failure of the program bounced with its words.
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run

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

# --- through qmail-local ------------------------------------------------------
if not IS_ROOT:
    t.skip("qsmhook through qmail-local", "needs root to create test users")
    t.done()
with Box(t, "qsm") as b:
    u = b.u
    # tee writes what it gets to a file named after %u (expanded by qsmhook)
    b.dotqmail("hook", "| qsmhook -P -l tee qsm-%u.out\n")
    b.dotqmail("fail", "| qsmhook sh -c 'cat >/dev/null; echo qsmhook-target refuses; exit 100'\n")
    b.start()
    m = b"Subject: via qsmhook\nMessage-ID: <q1@x>\n\nline $(id) `id`\n"
    t.ok(b.deliver(m, [b.addr("hook")], sender="s@example.org"), "message for user-hook delivered", b.q.logtext())
    out = os.path.join(u.home, "qsm-%s-hook.out" % u.name)
    data = open(out, "rb").read() if os.path.exists(out) else b""
    want = re.compile(rb"From s@example\.org [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\n"
                      rb"Return-Path: <s@example\.org>\nDelivered-To: " + re.escape(b.addr("hook").encode()) +
                      rb"\nReceived: \(qmail \d+ invoked by uid \d+\); [^\n]+\n" + re.escape(m) + rb"\Z")
    t.ok(want.match(data), "the program got From_, Return-Path, Delivered-To and the queued message, "
         "in a file named by %u", data or os.listdir(u.home))
    t.eq(os.stat(out).st_uid if data else None, u.uid, "the program ran as the user")
    t.ok(b.deliver("Subject: hook refuse\n\nbody\n", [b.addr("fail")], sender="postmaster@" + NAME),
         "message for user-fail done", b.q.logtext())
    bounces = [x for x in b.alias_maildir() if b"hook refuse" in x]
    t.ok(bounces and b"qsmhook-target refuses" in bounces[0],
         "the program's exit 100 through qsmhook: bounced with its words",
         bounces[0][:1500] if bounces else b.q.logtext())
t.done()
