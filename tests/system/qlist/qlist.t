#!/usr/bin/env python3
# qlist: a list kept in ~/.qmail-list by "| qlist ..." in
# ~/.qmail-list-request. An empty message subscribes its From address, a
# body line "subscribe"/"unsubscribe" or the Subject says what to do,
# Reply-To wins over From; the new subscriber and the owner get the
# message back with qlist's notes; posts to the list reach every
# subscriber; the list file keeps other lines, gets mode 0500 (forwards
# only) and survives concurrent requests; bounces and bad addresses are
# refused.
# smoke
import os, stat, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, NAME, IS_ROOT, bin_, qlenv, run

t = Tap()

# --- direct runs: refusals and concurrency --------------------------------------
tmp = tempfile.mkdtemp(prefix="nqt-ql-")
fake = os.path.join(tmp, "qq")
with open(fake, "w") as f:
    f.write("#!/bin/sh\ncat > /dev/null\ncat 0<&1 >> %s/envs\nexit 0\n" % tmp)
os.chmod(fake, 0o755)
for n in (".qmail-l", ".qmail-l-request"):
    open(os.path.join(tmp, n), "w").close()
ARGS = ["l@" + NAME, "l-request@" + NAME, ".qmail-l", ".qmail-l-request", ".qtemp-l", "owner@" + NAME]


def ql(msg, sender="s@example.org", args=ARGS):
    env = qlenv("joe", "joe-l-request", sender=sender, extra={"QMAILQUEUE": fake})
    return subprocess.run([bin_("qlist")] + args, input=msg, capture_output=True, env=env, cwd=tmp)


r = ql(b"Subject: hi\n\n", sender="")
t.ok(r.returncode == 100 and b"bounce" in r.stderr, "empty sender and no From: refused, 100", r.stderr)
r = ql(b"Subject: hi\n\n", sender="#@[]")
t.eq(r.returncode, 100, "double bounce: refused")
r = ql(b"From: " + b"a" * 120 + b"@example.org\n\n")
t.ok(r.returncode == 100 and b"too long" in r.stderr, "address over 100 bytes: refused", r.stderr)
r = ql(b"Subject: hi\n\n", args=ARGS[:5])
t.eq(r.returncode, 100, "too few arguments: usage, 100")
with open(os.path.join(tmp, ".qmail-l"), "w") as f:
    f.write("# a comment the owner wrote\n&keep@example.org\n")
procs = []
for i in range(8):
    env = qlenv("joe", "joe-l-request", sender="c%d@example.org" % i, extra={"QMAILQUEUE": fake})
    procs.append(subprocess.Popen([bin_("qlist")] + ARGS, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, cwd=tmp))
for p in procs:
    p.communicate(b"Subject: join\n\n")
t.ok(all(p.returncode == 0 for p in procs), "8 requests at once: all succeed")
lines = open(os.path.join(tmp, ".qmail-l")).read().splitlines()
t.eq(sorted(lines), sorted(["# a comment the owner wrote", "&keep@example.org"] +
                           ["&c%d@example.org" % i for i in range(8)]),
     "none lost a change; other lines kept")
t.eq(stat.S_IMODE(os.stat(os.path.join(tmp, ".qmail-l")).st_mode), 0o500, "list file mode 0500")
t.ok(not os.path.exists(os.path.join(tmp, ".qtemp-l")), "no temporary file left")
envs = open(os.path.join(tmp, "envs"), "rb").read()
t.ok(b"Fc3@example.org\0Towner@" + NAME.encode() + b"\0Tc3@example.org\0\0" in envs,
     "each reply goes to the owner and the subscriber, from $NEWSENDER", envs[:300])
r = ql(b"Subject: x\n\nunsubscribe me please\n", sender="keep@example.org")
t.ok(r.returncode == 0 and "&keep@example.org" not in open(os.path.join(tmp, ".qmail-l")).read(),
     "unsubscribe in the body removes the address")

if not IS_ROOT:
    t.skip("qlist through qmail-local", "needs root to create test users")
    t.done()
with Box(t, "ql") as b:
    u = b.u
    for s in ("S1", "S2", "S3", "Owner"):
        u.maildirmake(s)
    for s in ("s1", "s2", "s3", "owner"):
        b.dotqmail(s, "./%s/\n" % s.capitalize() if s != "owner" else "./Owner/\n")
    b.dotqmail("list", "")
    b.dotqmail("list-request",
               "| qlist %s %s .qmail-list .qmail-list-request .qtemp-list %s 'Archives: none yet.'\n"
               % (b.addr("list"), b.addr("list-request"), b.addr("owner")))
    b.start()
    S1, S2, S3 = b.addr("s1"), b.addr("s2"), b.addr("s3")

    def members():
        return [l[1:] for l in open(os.path.join(u.home, ".qmail-list")).read().splitlines() if l.startswith("&")]

    t.ok(b.deliver("From: %s\nSubject: hello\n\n" % S1, [b.addr("list-request")], sender=S1),
         "empty message from s1 handled", b.q.logtext())
    t.eq(members(), [S1], "an empty message subscribes its From address")
    conf = [x.decode() for x in b.maildir(rel="S1")]
    t.ok(conf and ("%s is now on the list" % S1) in conf[0] and b.addr("list-request") in conf[0]
         and "Archives: none yet." in conf[0] and b.addr("owner") in conf[0],
         "the subscriber gets the message back with qlist's notes", conf[0] if conf else b.q.logtext())
    t.ok(any(S1 in x.decode() for x in b.maildir(rel="Owner")), "the owner gets a copy")

    t.ok(b.deliver("From: Someone <%s>\nReply-To: %s\nSubject: x\n\nSUBSCRIBE\n" % (S2, S3),
                   [b.addr("list-request")], sender=S2), "request with Reply-To handled")
    t.eq(members(), [S1, S3], "Reply-To wins over From; a body line SUBSCRIBE subscribes")
    t.ok(b.deliver("From: %s\nSubject: subscribe\n\nplease add me\n" % S2, [b.addr("list-request")], sender=S2),
         "Subject request handled")
    t.eq(members(), [S1, S3, S2], "Subject: subscribe with no command in the body")
    t.eq(stat.S_IMODE(os.stat(os.path.join(u.home, ".qmail-list")).st_mode), 0o500, "the list file has mode 0500")

    t.ok(b.deliver("From: poster@example.org\nSubject: news\n\nlist-post-token\n", [b.addr("list")]),
         "post to the list delivered", b.q.logtext())
    got = {s: any(b"list-post-token" in x for x in b.maildir(rel=s)) for s in ("S1", "S2", "S3")}
    t.eq(got, {"S1": True, "S2": True, "S3": True}, "every subscriber got the post")

    t.ok(b.deliver("From: %s\nSubject: unsubscribe\n\n" % S1, [b.addr("list-request")], sender=S1),
         "unsubscribe request handled")
    t.eq(members(), [S3, S2], "Subject: unsubscribe removes the address")
    t.ok(any("is no longer on the list" in x.decode() for x in b.maildir(rel="S1")), "s1 is told")
    t.ok(b.deliver("From: %s\nSubject: x\n\nunsubscribe\n" % S1, [b.addr("list-request")], sender=S1),
         "unsubscribe of a non-member handled")
    t.ok(any("was not on the list" in x.decode() for x in b.maildir(rel="S1")), "a non-member is told so")
    t.eq(members(), [S3, S2], "the list is unchanged")

    # an address made to look like a .qmail program or file line stays a
    # forward (&) line: posting to the list runs nothing and writes nothing
    evil = '"|touch %s/pwned"@%s' % (u.home, NAME)
    evil2 = '"%s/Hijack/"@%s' % (u.home, NAME)
    for e in (evil, evil2):
        t.ok(b.deliver("From: %s\nSubject: subscribe\n\n" % e, [b.addr("list-request")], sender=S3),
             "request for %s handled" % e, b.q.logtext())
    lines = open(os.path.join(u.home, ".qmail-list")).read().splitlines()
    t.ok(all(l.startswith("&") for l in lines if not l.startswith("#")) and len(lines) == 4,
         "every list line is a forward line", lines)
    t.ok(b.deliver("From: %s\nSubject: news2\n\nsecond-post-token\n" % S2, [b.addr("list")], sender=S2),
         "second post delivered", b.q.logtext())
    t.ok(not os.path.exists(os.path.join(u.home, "pwned")) and not os.path.exists(os.path.join(u.home, "Hijack")),
         "the post ran no program and wrote no file for those subscribers")
    t.ok(any(b"second-post-token" in x for x in b.maildir(rel="S3")), "real subscribers still got it")
t.done()
