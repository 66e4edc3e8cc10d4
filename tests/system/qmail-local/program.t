#!/usr/bin/env python3
# qmail-local: |program lines (qmail-command(8)): environment, stdin,
# working directory, exit codes, output as the report, exit 99.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient, MESSAGE
from nqtest import Tap

t = Tap()
r = Recipient("pg")
VARS = ["SENDER", "NEWSENDER", "RECIPIENT", "USER", "HOME", "HOST", "HOST2", "HOST3", "HOST4",
        "LOCAL", "EXT", "EXT2", "EXT3", "EXT4", "DEFAULT", "DTLINE", "RPLINE", "UFLINE"]


def envdump():
    """Parse the NUL-separated env dump left by the program."""
    out = {}
    for item in r.read("env.out").split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            out[k.decode()] = v.decode()
    return out


try:
    r.maildirmake("Maildir")
    # 1. the environment, stdin and cwd of a program
    r.write(".qmail-a-default",
            "|env -0 > env.out; cat > stdin.out; pwd > pwd.out; echo prog says hi\n")
    rc, out, err = r.deliver(MESSAGE, local=r.name + "-a-B.c-d", dash="-", ext="a-B.c-d",
                             domain="mx.Example.Test", sender="s@example.org",
                             env={"PATH": "/usr/bin:/bin", "DEFAULT": "stale", "KEEP": "me"})
    t.eq(rc, 0, "program exit 0: success")
    t.eq(out, "prog says hi\ndid 0+0+1\n", "program output, then the counts")
    e = envdump()
    want = {
        "SENDER": "s@example.org", "NEWSENDER": "s@example.org",
        "RECIPIENT": r.name + "-a-B.c-d@mx.Example.Test", "USER": r.name, "HOME": r.home,
        "HOST": "mx.Example.Test", "HOST2": "mx.Example", "HOST3": "mx", "HOST4": "mx",
        "LOCAL": r.name + "-a-B.c-d", "EXT": "a-B.c-d", "EXT2": "B.c-d", "EXT3": "d", "EXT4": "",
        "DEFAULT": "B.c-d",
        "DTLINE": "Delivered-To: %s-a-B.c-d@mx.Example.Test\n" % r.name,
        "RPLINE": "Return-Path: <s@example.org>\n",
    }
    for k, v in want.items():
        t.eq(e.get(k), v, "env " + k)
    t.ok(e.get("UFLINE", "").startswith("From s@example.org ") and e["UFLINE"].endswith("\n"), "env UFLINE",
         e.get("UFLINE"))
    t.eq(e.get("KEEP"), "me", "other variables inherited")
    t.eq(e.get("PATH"), "/usr/bin:/bin", "PATH inherited")
    t.eq(r.read("stdin.out").decode(), MESSAGE, "stdin is the message as queued (no added lines, as qmail)")
    t.eq(r.read("pwd.out").decode().strip(), os.path.realpath(r.home), "cwd is the home directory")

    # 2. no default matched: DEFAULT is not set even if inherited
    r.write(".qmail-exact", "|env -0 > env.out\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="exact", env={"PATH": "/usr/bin:/bin", "DEFAULT": "stale"})
    t.ok(rc == 0 and "DEFAULT" not in envdump(), "DEFAULT unset for an exact match")

    # 3. exit codes: permanent, temporary, crash
    for code, want_rc in ((100, 100), (64, 100), (65, 100), (70, 100), (76, 100), (77, 100), (78, 100),
                          (112, 100), (111, 111), (1, 111), (2, 111), (75, 111), (101, 111)):
        r.write(".qmail-x", "|echo failing with %d; exit %d\n" % (code, code))
        rc, out, err = r.deliver(MESSAGE, dash="-", ext="x")
        t.ok(rc == want_rc and out == "failing with %d\n" % code,
             "exit %d -> %d with the program's words" % (code, want_rc), "rc %d out %r" % (rc, out))
    r.write(".qmail-x", "|exit 100\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="x")
    t.ok(rc == 100 and "status 100" in out, "silent program: a reason is given", out)
    r.write(".qmail-x", "|kill -9 $$\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="x")
    t.ok(rc == 111 and "crashed" in out, "killed program: temporary failure", out)

    # 4. stderr is part of the report; the report is bounded
    r.write(".qmail-x", "|echo to stderr >&2; exit 100\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="x")
    t.eq((rc, out), (100, "to stderr\n"), "stderr in the report")
    r.write(".qmail-x", "|head -c 1000000 /dev/zero | tr '\\0' x; exit 111\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="x")
    t.ok(rc == 111 and 0 < len(out) <= 4000, "a megabyte of output is cut to the bound", len(out))

    # 5. several lines: in order; 99 stops the rest; a failure stops the rest
    r.write(".qmail-x", "|echo one >> order.out\n./Maildir/\n|echo two >> order.out; exit 99\n"
                        "|echo three >> order.out\n./Maildir/\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="x")
    t.eq((rc, out), (0, "did 1+0+2\n"), "exit 99: success, later lines skipped")
    t.eq(r.read("order.out"), b"one\ntwo\n", "lines before 99 ran in order, none after")
    t.eq(len(r.maildir()), 1, "one Maildir delivery before the 99")
    r.unlink("order.out")
    r.write(".qmail-x", "|echo one >> order.out\n|exit 111\n|echo three >> order.out\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="x")
    t.ok(rc == 111 and r.read("order.out") == b"one\n", "a temporary failure stops at that line")

    # 6. the program cannot be handed anything through the address:
    # shell metacharacters in ext stay in the environment
    r.unlink("env.out")
    r.write(".qmail-default", "|env -0 > env.out\n")
    for ext in (";id;", "$(touch pwned)", "`touch pwned`", "x|touch pwned", "'\"; touch pwned"):
        rc, out, err = r.deliver(MESSAGE, dash="-", ext=ext)
        t.ok(rc == 0 and envdump().get("EXT") == ext and envdump().get("DEFAULT") == ext
             and not os.path.exists(r.path("pwned")), "ext %r only in the environment" % ext)
finally:
    r.remove()
t.done()
