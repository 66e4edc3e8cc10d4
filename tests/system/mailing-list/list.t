#!/usr/bin/env python3
# doc/mailing-lists.md, run as written: its file blocks become a real
# user's .qmail files and its sh block is run as that user (with the
# user's name, the instance's directory and host put in place of joe,
# /var/qmail and example.org). Then subscribe and unsubscribe through
# qlist, post to the list, and check who got it, the VERP return path,
# the bounce for a bad subscriber landing with the owner, at that
# subscriber's own VERP address and naming it, and nothing going back to
# the poster.
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, run, unique_user, IS_ROOT, TOP

t = Tap()
NAME = "example.test"
if not IS_ROOT:
    t.skip("mailing list example", "needs root to create the list owner")
    t.done()
doc = open(os.path.join(TOP, "doc", "mailing-lists.md")).read()
u = TestUser(unique_user("ml"))
try:
    with Instance(t, name=NAME) as q:
        if not os.path.exists(q.bin("qlist")):
            t.skip("mailing list example", "qlist is not built")
            t.done()

        def subst(s):
            s = s.replace("/var/qmail", q.dir).replace("example.org", NAME)
            return re.sub(r"\bjoe\b", u.name, s)

        blocks = re.findall(r"```file (\S+)(?: mode=(\d+))?\n(.*?)```", doc, re.S)
        t.ok(len(blocks) == 4, "the page has four file blocks", blocks)
        for name, mode, text in blocks:
            u.write(name, subst(text), int(mode or "644", 8))
        sh = re.findall(r"```sh\n(.*?)```", doc, re.S)
        t.ok(len(sh) == 1, "the page has one sh block")
        r = run(["sh", "-ec", subst(sh[0])], user=u.name)
        t.eq(r.returncode, 0, "its commands run as the user", r.stderr)
        for b in ("sub1", "sub2", "poster"):
            q.maildirmake("alias/Maildir-" + b)
            q.write("alias/.qmail-" + b, "./Maildir-%s/\n" % b)
        q.start()
        L = "%s-friends@%s" % (u.name, NAME)
        REQ = "%s-friends-request@%s" % (u.name, NAME)
        listfile = os.path.join(u.home, ".qmail-friends")

        def members():
            try:
                return sorted(l[1:].strip() for l in open(listfile) if l.startswith("&"))
            except OSError:
                return []

        for who in ("sub1", "sub2", "nosuch"):
            a = "%s@%s" % (who, NAME)
            t.eq(q.queue("From: %s\nSubject: subscribe\n\nsubscribe\n" % a, a, [REQ]), 0, "request from " + who)
            t.ok(q.wait(lambda: a in members(), 30), "qlist subscribed " + who, q.logtext())
        a = "sub2@" + NAME
        t.eq(q.queue("From: %s\nSubject: bye\n\nunsubscribe\n" % a, a, [REQ]), 0, "unsubscribe request from sub2")
        t.ok(q.wait(lambda: a not in members(), 30), "qlist unsubscribed sub2", q.logtext())
        t.eq(members(), ["nosuch@" + NAME, "sub1@" + NAME], "the list holds sub1 and nosuch")
        t.ok(q.wait(lambda: len(q.maildir_files(os.path.join(u.home, "Maildir-owner"))) >= 4, 30),
             "the owner got a copy of every change", q.logtext())
        t.ok(q.wait(lambda: q.queue_count() == 0, 30), "queue empties")

        t.eq(q.queue("From: poster@%s\nSubject: hello\n\nlist-post-token\n" % NAME, "poster@" + NAME, [L]), 0, "post to the list")
        def got(b):
            return [x for x in q.maildir_texts("alias/Maildir-" + b) if "list-post-token" in x]
        t.ok(q.wait(lambda: got("sub1"), 30), "sub1 got the post", q.logtext())
        m = got("sub1")
        if m:
            t.ok(m[0].startswith("Return-Path: <%s-friends-owner-sub1=%s@%s>" % (u.name, NAME, NAME)),
                 "VERP return path names sub1", m[0][:200])
        bounces = os.path.join(u.home, "Maildir-bounces")
        t.ok(q.wait(lambda: any("list-post-token" in x for x in q.maildir_texts(bounces)), 30),
             "the bounce for nosuch reached the owner's bounce Maildir", q.logtext())
        b = [x for x in q.maildir_texts(bounces) if "list-post-token" in x]
        if b:
            verp = "%s-friends-owner-nosuch=%s@%s" % (u.name, NAME, NAME)
            t.ok(re.search(r"^Delivered-To: %s$" % re.escape(verp), b[0], re.M) and "<nosuch@%s>" % NAME in b[0],
                 "it came to the bad subscriber's own VERP address and names it", b[0][:1500])
            t.ok("<sub1@%s>" % NAME not in b[0], "and names no other subscriber", b[0][:1500])
        t.ok(q.wait(lambda: q.queue_count() == 0, 30), "queue empties")
        t.eq(got("sub2"), [], "the unsubscribed sub2 got nothing")
        t.eq(got("poster"), [], "the poster got no bounce")
finally:
    u.remove()
t.done()
