#!/usr/bin/env python3
# setforward, printforward, setmaillist, printmaillist (and their
# contract names setmaildir, printmaildir) from DIR/bin, run directly:
# the notation (comments, blanks, backslashes, line breaks inside an
# instruction), round trips, the errors and their exit codes, the atomic
# replacement (a failed run leaves the old file), and fastforward -n on
# the result (targets, wildcards, owners, duplicates, nested lists).
import os, sys, tempfile, shutil
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, run

t = Tap()
with Instance(t) as q:
    d = tempfile.mkdtemp(prefix="nqt-sf-")
    try:
        P = lambda n: os.path.join(d, n)
        for prog in ("setforward", "printforward", "setmaillist", "printmaillist", "setmaildir",
                     "printmaildir", "newaliases", "newinclude", "fastforward", "dot-forward"):
            t.ok(os.access(q.bin(prog), os.X_OK), "DIR/bin/%s exists" % prog)
        text = """# a comment, then instructions split over lines
root@yp.to: god@heaven.af.mil,
   &staff@af.mil;   # trailing comment
sos@heaven.af.mil: ?owner-sos@heaven.af.mil;
sos@heaven.af.mil: %s, |dew\\ monitor, !x, >/var/mail/x;
Dew@: |a\\,b\\;c\\#d\\\\e;
@host.dom: a@b;
""" % P("sos.bin")
        r = run([q.bin("setforward"), P("f.cdb"), P("f.tmp")], input=text)
        t.eq(r.returncode, 0, "setforward accepts the notation", r.stderr)
        t.ok(not os.path.exists(P("f.tmp")), "the temporary file is gone")
        t.eq(oct(os.stat(P("f.cdb")).st_mode & 0o777), "0o644", "the database is world-readable")
        pf = run([q.bin("printforward")], input=open(P("f.cdb"), "rb").read())
        t.eq(pf.returncode, 0, "printforward reads it")
        out = pf.stdout.decode()
        t.ok("root@yp.to: &god@heaven.af.mil,\n  &staff@af.mil;\n" in out, "addresses printed with &", out)
        t.ok("dew@: |a\\,b\\;c\\#d\\\\e;\n" in out, "targets lowercased, specials escaped", out)
        t.ok("sos@heaven.af.mil: ?owner-sos@heaven.af.mil;\n" in out, "owner printed apart", out)
        r = run([q.bin("setforward"), P("g.cdb"), P("g.tmp")], input=pf.stdout)
        t.eq(r.returncode, 0, "printforward's output goes back into setforward")
        t.eq(open(P("g.cdb"), "rb").read(), open(P("f.cdb"), "rb").read(), "the round trip gives the same database")
        r = run([q.bin("printforward")], input=open(P("f.cdb"), "rb").read()[:2100])
        t.eq(r.returncode, 111, "a truncated database: 111", r.stderr)

        before = open(P("f.cdb"), "rb").read()
        for bad, why in (("a: b", "final instruction must end with semicolon"),
                         ("a, b: c;", "commas are not permitted before colons"),
                         ("a: b: c;", "double colons are not permitted"),
                         ("a: %s;" % ("x" * 801 + "@y"), "addresses over 800 bytes"),
                         ("a: ~x;", "unrecognized command"),
                         ("a: b\0;", "NUL bytes are not permitted")):
            r = run([q.bin("setforward"), P("f.cdb"), P("f.tmp")], input=bad)
            t.ok(r.returncode == 100 and why.encode() in r.stderr, "refused: %s" % why, r.stderr)
        t.eq(open(P("f.cdb"), "rb").read(), before, "after the errors the old database is untouched")
        t.eq(run([q.bin("setforward"), P("f.cdb")]).returncode, 100, "usage: exit 100")

        r = run([q.bin("setmaillist"), P("sos.bin"), P("sos.tmp")],
                input="# members\nzed@yp.to\n\n&_odd@yp.to  \t\nJoe@yp.to\n%s\n" % P("more.bin"))
        t.eq(r.returncode, 0, "setmaillist", r.stderr)
        t.eq(open(P("sos.bin"), "rb").read(),
             b"&zed@yp.to\0&_odd@yp.to\0&Joe@yp.to\0" + P("more.bin").encode() + b"\0", "binary list bytes")
        r = run([q.bin("printmaillist")], input=open(P("sos.bin"), "rb").read())
        t.eq(r.stdout.decode(), "zed@yp.to\n&_odd@yp.to\nJoe@yp.to\n%s\n" % P("more.bin"), "printmaillist")
        r2 = run([q.bin("printmaildir")], input=open(P("sos.bin"), "rb").read())
        t.eq(r2.stdout, r.stdout, "printmaildir is printmaillist")
        r = run([q.bin("setmaildir"), P("m.bin"), P("m.tmp")], input=r.stdout)
        t.eq(open(P("m.bin"), "rb").read(), open(P("sos.bin"), "rb").read(), "setmaildir is setmaillist; round trip")
        r = run([q.bin("setmaillist"), P("sos.bin"), P("sos.tmp")], input="ok@yp.to\n-bad\n")
        t.ok(r.returncode == 100 and b"line 2" in r.stderr, "a bad line is refused with its number", r.stderr)
        t.ok(open(P("sos.bin"), "rb").read().startswith(b"&zed@yp.to"), "and the old list stays")
        t.eq(run([q.bin("printmaillist")], input=b"&a@b\0&c@d").returncode, 111, "a truncated list: 111")

        run([q.bin("setmaillist"), P("more.bin"), P("more.tmp")], input="joe@yp.to\nlast@yp.to\n")
        net = """everybody@yp.to: programmers@yp.to, testers@yp.to, ?owner-every@yp.to;
programmers@yp.to: joe@yp.to, bob@yp.to;
testers@yp.to: joe@yp.to, fred@yp.to, everybody@yp.to, %s;
testers@yp.to: ?owner-testers@yp.to;
loop1@yp.to: loop2@yp.to;
loop2@yp.to: loop1@yp.to, out@yp.to;
joe@: joe-wild@elsewhere;
""" % P("more.bin")
        run([q.bin("setforward"), P("n.cdb"), P("n.tmp")], input=net)
        def ff(rcpt, args=(), sender="orig@x"):
            env = {"RECIPIENT": rcpt, "NEWSENDER": sender, "PATH": "/usr/bin:/bin"}
            return run([q.bin("fastforward"), "-n"] + list(args) + [P("n.cdb")], env=env)
        r = ff("everybody@yp.to")
        t.eq(r.stdout.decode(), "sender <owner-every@yp.to>\nforward joe@yp.to\nforward bob@yp.to\n"
             "sender <owner-testers@yp.to>\nforward joe@yp.to\nforward fred@yp.to\nforward last@yp.to\n",
             "owners, duplicates and nested lists as setforward(1) says", r.stderr)
        r = ff("loop1@yp.to")
        t.eq(r.stdout.decode(), "sender <orig@x>\nforward out@yp.to\n", "an internal loop is dropped")
        r = ff("JOE@elsewhere.example")
        t.eq(r.stdout.decode(), "sender <orig@x>\nforward joe-wild@elsewhere\n", "user@ wildcard, any case")
        r = ff("nobody@yp.to")
        t.ok(r.returncode == 100 and b"no mailbox here" in r.stderr, "not found: 100", r.stderr)
        t.eq(ff("nobody@yp.to", ["-p"]).returncode, 0, "not found with -p: 0")
        r = ff("everybody@yp.to", sender="")
        t.ok(b"sender <>\n" in r.stdout and b"owner-" not in r.stdout, "a bounce keeps its empty sender", r.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)
t.done()
