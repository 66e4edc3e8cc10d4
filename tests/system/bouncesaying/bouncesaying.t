#!/usr/bin/env python3
# bouncesaying: "| bouncesaying text" bounces every message with text as
# the reason; with a program, only when it exits 0 (111 defers, anything
# else goes on with the .qmail file).
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run

t = Tap()
MSG = b"Subject: s\nContent-Disposition: attachment\n\nbody\n"
env = qlenv("joe", "joe-b")
B = bin_("bouncesaying")
r = run([B, "Gone away."], input=MSG, env=env)
t.eq((r.returncode, r.stderr), (100, b"Gone away.\n"), "no program: 100 with the text alone")
r = run([B, "No.", "grep", "-q", "^Content-Disposition: attachment"], input=MSG, env=env)
t.eq((r.returncode, r.stderr), (100, b"No.\n"), "program exits 0: bounce")
r = run([B, "No.", "grep", "-q", "NOT-THERE"], input=MSG, env=env)
t.eq((r.returncode, r.stderr), (0, b""), "program exits 1: 0, quietly")
r = run([B, "No.", "sh", "-c", "exit 111"], input=MSG, env=env)
t.eq(r.returncode, 111, "program exits 111: 111")
r = run([B, "No.", "sh", "-c", "kill -9 $$"], input=MSG, env=env)
t.eq(r.returncode, 111, "program crashes: 111")
r = run([B, "No.", "/nonexistent/prog"], input=MSG, env=env)
t.eq(r.returncode, 0, "no such program: 0")
r = run([B], input=MSG, env=env)
t.eq(r.returncode, 100, "no text: usage, 100")

if not IS_ROOT:
    t.skip("bouncesaying through qmail-local", "needs root to create test users")
    t.done()
with Box(t, "bs") as b:
    b.dotqmail("gone", "| bouncesaying 'This address no longer accepts mail.'\n")
    b.dotqmail("noatt", "| bouncesaying 'No attachments here, please.' grep -qi '^Content-Disposition: attachment'\n"
                        "./Maildir/\n")
    b.start()
    pm = "postmaster@" + NAME
    t.ok(b.deliver("Subject: bs-one\n\nhello\n", [b.addr("gone")], sender=pm), "message to user-gone done")
    bounce = [x for x in b.alias_maildir() if b"bs-one" in x]
    t.ok(bounce and b"This address no longer accepts mail." in bounce[0] and b.addr("gone").encode() in bounce[0],
         "the bounce quotes the text and names the address", bounce[0][:1500] if bounce else b.q.logtext())
    t.ok(b.deliver(MSG.replace(b"Subject: s", b"Subject: bs-two"), [b.addr("noatt")], sender=pm),
         "message with an attachment done")
    t.ok(b.deliver(b"Subject: bs-three\n\nplain\n", [b.addr("noatt")], sender=pm), "plain message done")
    bounce = [x for x in b.alias_maildir() if b"bs-two" in x]
    t.ok(bounce and b"No attachments here, please." in bounce[0], "program matched: bounced with the text",
         b.q.logtext())
    t.ok(not any(b"bs-two" in x for x in b.maildir()), "the bounced message was not stored")
    t.ok(any(b"bs-three" in x for x in b.maildir()) and not any(b"bs-three" in x for x in b.alias_maildir()),
         "program did not match: the next line delivered it, no bounce")
t.done()
