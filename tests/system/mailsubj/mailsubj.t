#!/usr/bin/env python3
# mailsubj: standard input becomes the body of a message with the given
# Subject, to every recipient given; a line break in an argument is
# refused (it would forge header fields); too few arguments: 100.
# smoke
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Instance, NAME, run

t = Tap()
with Instance(t, name=NAME) as q:
    q.write("alias/.qmail-two", "./Maildir-two/\n")
    q.maildirmake("alias/Maildir-two")
    q.start()
    env = {"PATH": "/usr/bin:/bin"}
    r = run([q.bin("mailsubj"), "Lunch at noon?", "postmaster@" + NAME, "two@" + NAME],
            input="ms-token body\n$(id) `id`\n", env=env, user=q.as_owner())
    t.eq((r.returncode, r.stderr), (0, b""), "mailsubj exit 0")
    t.ok(q.wait(lambda: any("ms-token" in x for x in q.maildir_texts("alias/Maildir"))
                and any("ms-token" in x for x in q.maildir_texts("alias/Maildir-two")), 30),
         "both recipients got it", q.logtext())
    got = [x for x in q.maildir_texts("alias/Maildir") if "ms-token" in x]
    if got:
        head, body = got[0].split("\n\n", 1)
        t.ok("\nSubject: Lunch at noon?\n" in head + "\n", "the Subject", head)
        t.ok(("\nTo: postmaster@%s, two@%s" % (NAME, NAME)) in head, "the To field names both", head)
        t.eq(body, "ms-token body\n$(id) `id`\n", "the body as given")
    r = run([q.bin("mailsubj"), "x\nBcc: evil@example.org", "postmaster@" + NAME], input="b\n", env=env,
            user=q.as_owner())
    t.eq(r.returncode, 100, "a line break in the subject: refused, 100")
    r = run([q.bin("mailsubj"), "only a subject"], input="b\n", env=env, user=q.as_owner())
    t.eq(r.returncode, 100, "no recipient: usage, 100")
t.done()
