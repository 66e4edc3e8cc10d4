#!/usr/bin/env python3
# dot-forward on a root instance: a real user whose ~/.qmail says
# "|dot-forward .forward" then "./Maildir/", with a sendmail-style
# ~/.forward (comments, continuation lines, quoted addresses, a phrase
# with <address>, a quoted |program, a /file, \user). Checked: the
# forwarded copies, the program's input, the file, and that a local copy
# is kept exactly when the .forward names the user (exit 0) and not
# otherwise (exit 99). Exit codes are also checked by running dot-forward
# directly.
# smoke
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, run, unique_user, IS_ROOT

t = Tap()
NAME = "example.test"
if not IS_ROOT:
    t.skip("dot-forward for a system user", "needs root to create a user")
    t.done()
u = TestUser(unique_user("df"))
try:
    with Instance(t, name=NAME) as q:
        for box in ("fwd1", "fwd2", "quoted"):
            q.maildirmake("alias/Maildir-" + box)
        q.write("alias/.qmail-fwd1", "./Maildir-fwd1/\n")
        q.write("alias/.qmail-fwd2", "./Maildir-fwd2/\n")
        q.write("alias/.qmail-first:last", "./Maildir-quoted/\n")
        u.maildirmake()
        u.write(".qmail", "|%s .forward\n./Maildir/\n" % q.bin("dot-forward"))
        prog_out = os.path.join(u.home, "prog.out")
        mbox = os.path.join(u.home, "mbox")
        u.write(".forward", """# forward my mail, sendmail style
fwd1, "Forward Two" <fwd2@%(n)s>,
   "first.last"@%(n)s (a quoted local part)
"|cat > %(prog)s"
%(mbox)s
\\%(user)s
""" % {"n": NAME, "prog": prog_out, "mbox": mbox, "user": u.name})
        u.write("mbox", "")
        q.start()

        def box(b, tok):
            return [x for x in q.maildir_texts("alias/Maildir-" + b) if tok in x]

        def mine(tok):
            return [x for x in q.maildir_texts(os.path.join(u.home, "Maildir")) if tok in x]

        t.eq(q.queue("Subject: one\n\ntok-one\n", "snd@example.org", ["%s@%s" % (u.name, NAME)]), 0, "queued")
        t.ok(q.wait(lambda: box("fwd1", "tok-one") and box("fwd2", "tok-one") and box("quoted", "tok-one"), 30),
             "forwarded to the three addresses", q.logtext())
        t.ok(q.wait(lambda: mine("tok-one"), 30), "\\user keeps a copy in the user's own Maildir", q.logtext())
        m = box("fwd1", "tok-one")
        if m:
            t.ok(m[0].startswith("Return-Path: <snd@example.org>") and
                 "Delivered-To: %s@%s\n" % (u.name, NAME) in m[0], "forwarded copy: sender kept, Delivered-To added", m[0][:400])
        t.ok(q.wait(lambda: os.path.exists(prog_out) and "tok-one" in open(prog_out).read(), 30), "|program ran", q.logtext())
        if os.path.exists(prog_out):
            p = open(prog_out).read()
            t.ok(p.startswith("From snd@example.org ") and "\nReturn-Path: <snd@example.org>\n" in p and
                 "\nDelivered-To: %s@%s\n" % (u.name, NAME) in p, "the program gets From, Return-Path, Delivered-To first", p[:300])
            t.eq(os.stat(prog_out).st_uid, u.uid, "the program ran as the user")
        t.ok(q.wait(lambda: "tok-one" in open(mbox).read(), 30), "/file got an mbox copy", q.logtext())
        t.ok(open(mbox).read().startswith("From snd@example.org "), "mbox format", open(mbox).read()[:200])

        # Without \user: forwarded only, no local copy (dot-forward exits 99).
        u.write(".forward", "fwd1@%s\n" % NAME)
        t.eq(q.queue("Subject: two\n\ntok-two\n", "snd@example.org", ["%s@%s" % (u.name, NAME)]), 0, "queued")
        t.ok(q.wait(lambda: box("fwd1", "tok-two"), 30), "forwarded", q.logtext())
        t.ok(q.wait(lambda: q.queue_count() == 0, 20), "queue empties")
        t.eq(mine("tok-two"), [], "no local copy without \\user: qmail-local stopped after exit 99")

        # No .forward: qmail-local goes on to ./Maildir/.
        os.unlink(os.path.join(u.home, ".forward"))
        t.eq(q.queue("Subject: three\n\ntok-three\n", "snd@example.org", ["%s@%s" % (u.name, NAME)]), 0, "queued")
        t.ok(q.wait(lambda: mine("tok-three"), 30), "no .forward: delivered locally", q.logtext())

        # Exit codes, running dot-forward by hand as the user.
        env = {"PATH": "/usr/bin:/bin", "USER": u.name, "HOST": NAME, "NEWSENDER": "s@example.org",
               "SENDER": "s@example.org", "QMAILQUEUE": "/bin/false"}
        dfw = q.bin("dot-forward")
        def df(args, text, inp=b"Subject: x\n\nx\n"):
            if text is not None:
                u.write("f", text)
            elif os.path.exists(os.path.join(u.home, "f")):
                os.unlink(os.path.join(u.home, "f"))
            return run([dfw] + args, input=inp, env=env, user=u.name, cwd=u.home)
        t.eq(df(["f"], None).returncode, 0, "no file: exit 0")
        t.eq(df(["f"], "").returncode, 0, "an empty file counts as none: exit 0")
        t.eq(df(["f"], "# only a comment\n").returncode, 0, "comments only: exit 0")
        r = df(["f"], "\\%s\n" % u.name)
        t.eq(r.returncode, 0, "only \\user: exit 0", r.stderr)
        r = df(["f"], "\"unbalanced\n")
        t.eq(r.returncode, 111, "a syntax error defers (111)", r.stderr)
        t.ok(b"f line 1:" in r.stderr, "and says which line", r.stderr)
        r = df(["f"], "someone@example.org\n")
        t.eq(r.returncode, 111, "qmail-queue failing temporarily (exit 1): 111", r.stderr)
        r = df(["f"], "\"|exit 100\"\n")
        t.eq(r.returncode, 100, "a program failing permanently: 100", r.stderr)
        r = df(["f"], "\"|exit 0\"\n")
        t.eq(r.returncode, 99, "after its instructions: 99", r.stderr)
        r = df(["-n", "f"], "a, b@c.example (comment)\n  \"|prog x\", /tmp/file, \\%s\n# c\n" % u.name)
        t.eq(r.stdout.decode(), "forward a@%s\nforward b@c.example\nprogram prog x\nfile /tmp/file\n"
             "deliver to you (the next lines of .qmail)\n" % NAME, "-n prints the instructions", r.stderr)
        r = run([dfw, "-n", "missing", "f2"], env=env, user=u.name, cwd=u.home)
        t.eq(r.returncode, 0, "several files, none there: exit 0")
finally:
    u.remove()
t.done()
