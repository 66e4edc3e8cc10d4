#!/usr/bin/env python3
# preline: "| preline procmail" in a user's .qmail file delivers through
# Debian's procmail with a real ~/.procmailrc (folders by Subject, a
# default mbox), the From_, Return-Path and Delivered-To lines on top;
# -d, -f, -r leave them out; exit codes pass through (a permanent one
# bounces with the program's words); message content never reaches a
# shell.
# smoke
import os, shutil, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run

t = Tap()
if not IS_ROOT:
    t.skip("preline through qmail-local", "needs root to create test users")
    t.done()

# --- preline alone: the exact bytes, options and exit codes -------------------
MSG = b"Subject: x\n\nFrom the body\nline `touch /tmp/nq-preline-pwned` $(id)\n"
env = qlenv("joe", "joe-pm", sender="s@example.org")
r = run([bin_("preline"), "cat"], input=MSG, env=env)
want = (env["UFLINE"] + env["RPLINE"] + env["DTLINE"]).encode() + MSG
t.eq((r.returncode, r.stdout), (0, want), "UFLINE, RPLINE, DTLINE then the message, unchanged")
for opts, keep in ((["-d"], "UR"), (["-f"], "RD"), (["-r"], "UD"), (["-dfr"], ""), (["-f", "-F"], "URD"),
                   (["-d", "-r", "-D"], "UD")):
    r = run([bin_("preline")] + opts + ["cat"], input=MSG, env=env)
    pre = (env["UFLINE"] if "U" in keep else "") + (env["RPLINE"] if "R" in keep else "") + \
          (env["DTLINE"] if "D" in keep else "")
    t.eq(r.stdout, pre.encode() + MSG, "preline %s" % " ".join(opts))
r = run([bin_("preline"), "head", "-c", "1000"], input=b"m\n", env=env)
t.eq(r.stdout, (env["UFLINE"] + env["RPLINE"] + env["DTLINE"] + "m\n").encode(),
     "options after the command are the command's")
t.ok(not os.path.exists("/tmp/nq-preline-pwned"), "message content never ran in a shell")
for code in (0, 1, 99, 100, 111):
    r = run([bin_("preline"), "sh", "-c", "cat >/dev/null; exit %d" % code], input=MSG, env=env)
    t.eq(r.returncode, code, "the command's exit code %d is preline's" % code)
r = run([bin_("preline"), "sh", "-c", "kill -9 $$"], input=MSG, env=env)
t.eq(r.returncode, 111, "a crashed command: 111")
r = run([bin_("preline"), "true"], input=b"x" * 2000000, env=env)
t.eq(r.returncode, 0, "a command that stops reading decides by its own exit code")
r = run([bin_("preline"), "/nonexistent/prog"], input=MSG, env=env)
t.ok(r.returncode == 100 and b"unable to run /nonexistent/prog" in r.stderr, "a missing command: 100", r.stderr)
r = run([bin_("preline")], input=MSG, env=env)
t.eq(r.returncode, 100, "no command: usage, 100")
r = run([bin_("preline"), "cat"], input=MSG, env={"PATH": "/usr/bin:/bin"})
t.ok(r.returncode == 100 and b"UFLINE" in r.stderr, "outside qmail-local (no UFLINE): 100", r.stderr)

# --- through qmail-local and Debian's procmail --------------------------------
if not shutil.which("procmail"):
    t.ok(False, "procmail is installed (scripts/deps.sh installs it)")
    t.done()
with Box(t, "pl") as b:
    u = b.u
    u.write(".procmailrc",
            "MAILDIR=$HOME\nDEFAULT=$HOME/inbox.mbox\nLOGFILE=$HOME/procmail.log\n"
            ":0:\n* ^Subject:.*to-folder\nfolder.mbox\n", 0o600)
    b.dotqmail("pm", "| preline procmail\n")
    b.dotqmail("pmd", "| preline -d procmail\n")
    b.dotqmail("fail", "| preline sh -c 'cat >/dev/null; echo procmail-like refusal; exit 100'\n")
    b.start()
    body = "From the start of a line\n>From quoted\n$(touch %s/pwned) `id`\nend\n" % u.home
    t.ok(b.deliver("Subject: please to-folder\nMessage-ID: <m1@x>\n\n" + body, [b.addr("pm")],
                   sender="s@example.org"), "message for user-pm delivered", b.q.logtext())
    folder = os.path.join(u.home, "folder.mbox")
    data = open(folder, "rb").read() if os.path.exists(folder) else b""
    t.ok(data.startswith(b"From s@example.org "), "procmail's folder starts with preline's From_ line", data[:300])
    t.ok(b"\nReturn-Path: <s@example.org>\n" in data, "Return-Path line from preline", data[:300])
    t.ok(("\nDelivered-To: %s\n" % b.addr("pm")).encode() in data, "Delivered-To line from preline", data[:300])
    t.ok(b"\n>From the start of a line\n" in data and b"$(touch" in data, "body in the folder, From_ quoted", data)
    t.ok(not os.path.exists(os.path.join(u.home, "pwned")), "nothing in the message was run")
    t.eq(os.stat(folder).st_uid if data else None, u.uid, "the folder belongs to the user (procmail ran as them)")

    t.ok(b.deliver("Subject: plain\n\nto the default\n", [b.addr("pmd")], sender="s2@example.org"),
         "message for user-pmd delivered", b.q.logtext())
    inbox = os.path.join(u.home, "inbox.mbox")
    data = open(inbox, "rb").read() if os.path.exists(inbox) else b""
    t.ok(data.startswith(b"From s2@example.org ") and b"to the default" in data,
         "no recipe matched: procmail's DEFAULT mbox", data[:300])
    t.ok(b"Delivered-To:" not in data, "preline -d: no Delivered-To line", data[:300])

    t.ok(b.deliver("Subject: refuse me\n\nbody\n", [b.addr("fail")], sender="postmaster@" + NAME),
         "message for user-fail done", b.q.logtext())
    bounces = [x for x in b.alias_maildir() if b"refuse me" in x]
    t.ok(bounces and b"procmail-like refusal" in bounces[0],
         "exit 100 through preline: bounced with the command's words", bounces[0][:1500] if bounces else b.q.logtext())
t.done()
