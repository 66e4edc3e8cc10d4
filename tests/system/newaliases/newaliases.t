#!/usr/bin/env python3
# newaliases on its own: the file named in control/aliases, the .cdb and
# .tmp beside it, what a syntax error does (exit 100 with the line, old
# database kept), the sendmail notations (wildcards, per-host aliases,
# qualification of bare names, quoted programs and include files with
# spaces), and the whole path in a single-user instance, where the owner
# runs newaliases and fastforward and dot-forward deliver as the owner.
# Without control/aliases it compiles /etc/aliases into /etc/aliases.cdb
# (checked as root in a private mount namespace whose /etc is the test's).
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, run, unique_user, IS_ROOT

t = Tap()
NAME = "example.test"


def printforward(q, cdb):
    return run([q.bin("printforward")], input=open(cdb, "rb").read()).stdout.decode()


with Instance(t, name=NAME) as q:
    al = os.path.join(q.base, "aliases")
    q.control("aliases", al)
    q.control("defaulthost", "mail")
    q.control("defaultdomain", "example.test")
    q.control("plusdomain", "plus.example")
    with open(al, "w") as f:
        f.write("""a: b, c@d+, d@e, <f@g.h>
Per@Host.Example: x@y.z
@whole.example: catch@y.z
prog: "| /usr/bin/prog -a 'b c'"
inc: :include:"/etc/my lists/l", :INCLUDE: rel
routed: <@relay.example:z@w.example>
""")
    r = run([q.bin("newaliases")])
    t.eq(r.returncode, 0, "newaliases", r.stderr)
    out = printforward(q, al + ".cdb")
    for line in ("a@: &b@mail.example.test,\n  &c@d.plus.example,\n  &d@e.example.test,\n  &f@g.h;",
                 "per@host.example: &x@y.z;", "@whole.example: &catch@y.z;",
                 "prog@: !\\ /usr/bin/prog\\ -a\\ 'b\\ c';",
                 "inc@: /etc/my\\ lists/l.bin,\n  ./rel.bin;", "routed@: &z@w.example;"):
        t.ok(line in out, "compiled: " + line.split("\n")[0], out)
    old = open(al + ".cdb", "rb").read()
    with open(al, "a") as f:
        f.write("ok: fine\nbroken: \"unterminated\n")
    r = run([q.bin("newaliases")])
    t.ok(r.returncode == 100 and b"line 8" in r.stderr, "a syntax error: exit 100 naming the line", r.stderr)
    t.eq(open(al + ".cdb", "rb").read(), old, "the old database is kept")
    t.ok(not os.path.exists(al + ".tmp"), "no .tmp left behind")
    with open(al, "w") as f:
        f.write("g: :include:\n")
    r = run([q.bin("newaliases")])
    t.eq(r.returncode, 100, ":include: without a name is refused", r.stderr)
    os.unlink(al)
    r = run([q.bin("newaliases")])
    t.eq(r.returncode, 111, "a missing aliases file: 111", r.stderr)
    t.eq(run([q.bin("newaliases"), "x"]).returncode, 100, "usage: 100")

    # no control/aliases: the system's /etc/aliases, as sendmail's
    if IS_ROOT and shutil.which("unshare"):
        os.unlink(q.path("control/aliases"))
        etc = tempfile.mkdtemp(prefix="nqt-na-etc-")
        try:
            shutil.copy2("/etc/ld.so.cache", etc)
            with open(os.path.join(etc, "aliases"), "w") as f:
                f.write("# the system's aliases\nstaff: ann@example.org,\n  bob@example.org\n")
            r = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind "$1" /etc && exec "$2"', "sh",
                                etc, q.bin("newaliases")], capture_output=True, timeout=60)
            t.eq(r.returncode, 0, "without control/aliases: newaliases reads /etc/aliases", r.stderr)
            cdb = os.path.join(etc, "aliases.cdb")
            out = printforward(q, cdb) if os.path.exists(cdb) else ""
            t.ok("staff@: &ann@example.org,\n  &bob@example.org;" in out, "... into /etc/aliases.cdb", out)
        finally:
            shutil.rmtree(etc, ignore_errors=True)
    else:
        t.skip("newaliases and /etc/aliases", "needs root and unshare for a private /etc")

# Single-user mode: everything runs as the owner.
if IS_ROOT:
    owner = TestUser(unique_user("na"))
else:
    owner = None
try:
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        al = os.path.join(q.base, "aliases")
        q.control("aliases", al)
        with open(al, "w") as f:
            f.write("# the owner's aliases\nhelp: box1,\n  box2\nfriend: pal\n")
        if owner:
            os.chown(al, owner.uid, owner.gid)
        for b in ("box1", "box2", "pal", "me"):
            q.maildirmake("alias/Maildir-" + b)
            q.write("alias/.qmail-" + b, "./Maildir-%s/\n" % b)
        q.write("alias/.qmail-default", "|%s -d %s.cdb\n" % (q.bin("fastforward"), al))
        q.write("alias/pal.forward", "# pal forwards, keeping a copy ($USER is alias)\nbox1, \\alias\n")
        q.write("alias/.qmail-pal", "|%s pal.forward\n./Maildir-pal/\n" % q.bin("dot-forward"))
        r = run([q.bin("newaliases")], user=owner.name if owner else None)
        t.eq(r.returncode, 0, "the owner runs newaliases", r.stderr)
        if owner:
            t.eq(os.stat(al + ".cdb").st_uid, owner.uid, "the database belongs to the owner")
        q.start()
        t.eq(q.queue("Subject: s\n\ntok-single\n", "me@%s" % NAME, ["help@%s" % NAME]), 0, "queued to help")
        t.ok(q.wait(lambda: all(any("tok-single" in x for x in q.maildir_texts("alias/Maildir-" + b))
                                for b in ("box1", "box2")), 30), "fastforward delivers in a single-user instance", q.logtext())
        t.eq(q.queue("Subject: s\n\ntok-pal\n", "me@%s" % NAME, ["friend@%s" % NAME]), 0, "queued to friend")
        t.ok(q.wait(lambda: any("tok-pal" in x for x in q.maildir_texts("alias/Maildir-box1"))
                    and any("tok-pal" in x for x in q.maildir_texts("alias/Maildir-pal")), 30),
             "friend -> pal -> dot-forward: forwarded to box1 and kept by \\alias ($USER)", q.logtext())
finally:
    if owner:
        owner.remove()
t.done()
