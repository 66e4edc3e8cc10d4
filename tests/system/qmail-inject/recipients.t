#!/usr/bin/env python3
# qmail-inject's envelope: recipients from arguments and/or header per
# -a -A -h -H, the sender from -f, Return-Path, QMAILSUSER/QMAILSHOST and
# the VERP letters r and m of QMAILINJECT; errors exit 100 with a message.
import os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queuepeek import Peek, base_env
from nqtest import Tap, Instance

t = Tap()
with Instance(t, name="example.test") as q:
    p = Peek(q)
    env = base_env(USER="joe")
    MSG = "To: to@a.b\nCc: cc@a.b\nBcc: bcc@a.b\nApparently-To: app@a.b\nSubject: s\n\nbody\n"
    HDR = ["app@a.b", "bcc@a.b", "cc@a.b", "to@a.b"]

    def rcpts(args, text=MSG, **kw):
        r, m = p.inject(text, args=args, env=base_env(USER="joe", **kw))
        if r.returncode or len(m) != 1:
            return (r.returncode, r.stderr.decode())
        return sorted(m[0].rcpts)

    t.eq(rcpts([]), HDR, "no arguments: To, Cc, Bcc, Apparently-To")
    t.eq(rcpts(["arg@x.y"]), ["arg@x.y"], "-A (default) with arguments: arguments only")
    t.eq(rcpts(["-a", "arg@x.y", "two"]), ["arg@x.y", "two@example.test"], "-a: arguments only, completed")
    t.eq(rcpts(["-h", "arg@x.y"]), HDR, "-h: header only, arguments ignored")
    t.eq(rcpts(["-H", "arg@x.y"]), sorted(HDR + ["arg@x.y"]), "-H: header and arguments")
    t.eq(rcpts(["-a", "-A"]), HDR, "-A after -a: back to the default")
    t.eq(rcpts(["-ha", "arg@x.y"]), ["arg@x.y"], "options may be clustered; the last wins")
    t.eq(rcpts(["--", "-dash@x.y"]), ["-dash@x.y"], "-- ends the options")
    t.eq(rcpts(["<angle@x.y>"]), ["angle@x.y"], "<addr> argument")
    t.eq(rcpts(["joe smith@x.y"]), ["joe smith@x.y"], "argument local part taken as it is")
    t.eq(rcpts([], "To: Group: a@b.c, d@e.f;, <g@h.i>\n\nb\n"), ["a@b.c", "d@e.f", "g@h.i"], "group members")
    t.eq(rcpts([], "To: <>, nobody (just a comment)\n\nb\n"), ["nobody@example.test"], "<> is no recipient")
    t.eq(rcpts([], "TO: up@a.b\ncC: case@a.b\n\nb\n"), ["case@a.b", "up@a.b"], "field names in any case")
    t.eq(rcpts([], "To: a@b.c,\n  folded@d.e\n\nb\n"), ["a@b.c", "folded@d.e"], "folded To")
    t.eq(rcpts([], 'To: "quoted local"@a.b, "x\\"y"@c.d\n\nb\n'), ['quoted local@a.b', 'x"y@c.d'],
         "quoted local parts lose their quotes in the envelope")

    # --- the sender ---------------------------------------------------------
    def sender(args, text="To: to@a.b\n\nb\n", **kw):
        r, m = p.inject(text, args=args, env=base_env(**kw))
        if r.returncode or len(m) != 1:
            return (r.returncode, r.stderr.decode())
        return m[0].sender

    t.eq(sender([], USER="joe"), "joe@example.test", "default sender: user@defaulthost")
    t.eq(sender([], USER="joe", QMAILHOST="h.example.org"), "joe@h.example.org", "QMAILHOST sets its host")
    t.eq(sender([], USER="joe", QMAILSUSER="bounces", QMAILSHOST="lists.example.org"),
         "bounces@lists.example.org", "QMAILSUSER and QMAILSHOST")
    t.eq(sender(["-fsome@x.y"], USER="joe"), "some@x.y", "-fsender")
    t.eq(sender(["-f", "some"], USER="joe"), "some@example.test", "-f sender completed")
    t.eq(sender(["-f", ""], USER="joe"), "", "-f '' : null sender")
    t.eq(sender(["-f", "<>"], USER="joe"), "", "-f '<>' : null sender")
    t.eq(sender([], "Return-Path: <rp@x.y>\nTo: to@a.b\n\nb\n", USER="joe"), "rp@x.y", "Return-Path field")
    t.eq(sender([], "Return-Path: <>\nTo: to@a.b\n\nb\n", USER="joe"), "", "Return-Path: <> gives the null sender")
    t.eq(sender(["-f", "f@x.y"], "Return-Path: <rp@x.y>\nTo: to@a.b\n\nb\n", USER="joe"), "f@x.y",
         "-f overrides Return-Path")
    t.eq(sender([], "Return-Path: <rp@x.y>\nTo: to@a.b\n\nb\n", USER="joe", QMAILINJECT="s"),
         "joe@example.test", "QMAILINJECT=s ignores Return-Path")
    t.eq(sender([], USER="joe", QMAILINJECT="r"), "joe-@example.test-@[]", "QMAILINJECT=r: per-recipient VERP")
    s = sender([], USER="joe", QMAILINJECT="m")
    t.ok(isinstance(s, str) and re.fullmatch(r"joe-[0-9]+\.[0-9]+@example\.test", s), "QMAILINJECT=m: per-message VERP", s)

    # --- errors --------------------------------------------------------------
    def fails(args, text, **kw):
        r, m = p.inject(text, args=args, env=base_env(USER="joe", **kw))
        return r.returncode, m, r.stderr.decode()

    rc, m, err = fails([], "Subject: nobody\n\nb\n")
    t.ok(rc == 100 and m == [] and "no recipients" in err, "no recipients: exit 100, nothing queued", err)
    rc, m, err = fails(["-a"], "To: a@b.c\n\nb\n")
    t.ok(rc == 100 and m == [] and "no recipients" in err, "-a without arguments: no recipients", err)
    rc, m, err = fails(["a@b,c"], "To: a@b.c\n\nb\n")
    t.ok(rc == 100 and m == [] and "unable to parse address: a@b,c" in err, "bad argument address: exit 100", err)
    rc, m, err = fails(["-x"], "To: a@b.c\n\nb\n")
    t.ok(rc == 100 and m == [] and "usage" in err, "unknown option: usage, exit 100", err)
    rc, m, err = fails(["-f"], "To: a@b.c\n\nb\n")
    t.ok(rc == 100 and "usage" in err, "-f without its argument", err)
    rc, m, err = fails([], "To: a@b.c\nFrom: broken (comment\n\nb\n")
    t.ok(rc == 100 and m == [] and "From" in err, "unparseable From: exit 100 naming the field", err)
    rc, m, err = fails([], "To: <a@b.c\n\nb\n")
    t.ok(rc == 100 and m == [] and "To" in err, "unparseable To with header recipients: exit 100", err)
    r, m = p.inject("To: <a@b.c\n\nb\n", args=["-a", "x@y.z"], env=env)
    t.ok(r.returncode == 0 and m and m[0].rcpts == ["x@y.z"] and "To: <a@b.c\n" in m[0].head,
         "unparseable To kept as it is when recipients come from the arguments", r.stderr)
    rc, m, err = fails([], b"To: a@b.c, x\0y@d.e\n\nb\n")
    t.ok(rc == 100 and m == [], "NUL in an address field: exit 100, nothing queued", err)
    r, m = p.inject(b"To: a@b.c\nX-Nul: a\0b\n\nbody \0 with NUL\n", env=env)
    t.ok(r.returncode == 0 and m and m[0].body == b"body \0 with NUL\n", "NUL in the body goes through", r.stderr)
    q.control("defaulthost", "bad host,name")
    rc, m, err = fails([], "To: a@b.c\n\nb\n")
    t.ok(rc == 100 and "defaulthost" in err, "defaulthost that is no host name: exit 100", err)
    os.unlink(q.path("control/defaulthost"))
    if os.geteuid() == 0:
        # An unreadable control file is a temporary error, never a silent default.
        q.control("defaultdomain", "x.y")
        os.chmod(q.path("control/defaultdomain"), 0)
        from pwd import getpwnam
        u = "nobody"
        r, m = p.inject("To: a@b.c\n\nb\n", env=env, user=u)
        t.ok(r.returncode == 111 and b"defaultdomain" in r.stderr and m == [],
             "unreadable control/defaultdomain: exit 111", r.stderr)
        os.unlink(q.path("control/defaultdomain"))
    else:
        t.skip("unreadable control file", "needs root")
t.done()
