#!/usr/bin/env python3
# Forwards, programs and virtual domains on a root instance:
# .qmail-fw "&x@NAME" and a bare-address line forward to x's Maildir;
# .qmail-prog-default runs a program with qmail-command's environment as
# the alias user; control/virtualdomains maps virt.test to a prefix whose
# .qmail-vd-default delivers; several lines in one .qmail all happen.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, IS_ROOT

t = Tap()
NAME = "example.test"
with Instance(t, name=NAME) as q:
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.write("alias/.qmail-fw", "# a comment line\n&x@%s\n" % NAME)
    q.write("alias/.qmail-bare", "x@%s\n" % NAME)
    q.write("alias/.qmail-both", "./Maildir-both/\n&x@%s\n" % NAME)
    q.maildirmake("alias/Maildir-both")
    q.write("alias/.qmail-prog-default",
            "|{ echo \"SENDER=$SENDER\"; echo \"RECIPIENT=$RECIPIENT\"; echo \"LOCAL=$LOCAL\"; "
            "echo \"HOST=$HOST\"; echo \"EXT=$EXT\"; echo \"EXT2=$EXT2\"; echo \"DEFAULT=$DEFAULT\"; "
            "echo \"USER=$USER\"; echo \"HOME=$HOME\"; echo \"DTLINE=$DTLINE\"; echo \"UID=$(id -u)\"; "
            "cat; } > ./prog.out\n")
    q.control("virtualdomains", "virt.test:vd\n")
    q.write("alias/.qmail-vd-default", "./Maildir-vd/\n")
    q.maildirmake("alias/Maildir-vd")
    q.start()

    def has(rel, tok):
        return any(tok in x for x in q.maildir_texts(rel))

    r = q.inject("To: fw@%s\n\nforward-token-1\n" % NAME)
    t.eq(r.returncode, 0, "inject to fw@")
    t.ok(q.wait(lambda: has("alias/Maildir", "forward-token-1"), 30), "&x@NAME forward delivered", q.logtext())
    fw = [x for x in q.maildir_texts("alias/Maildir") if "forward-token-1" in x]
    if fw:
        t.ok("Delivered-To: fw@%s" % NAME in fw[0] and "Delivered-To: x@%s" % NAME in fw[0],
             "forwarded copy carries both Delivered-To lines", fw[0][:600])

    r = q.inject("To: bare@%s\n\nforward-token-2\n" % NAME)
    t.ok(q.wait(lambda: has("alias/Maildir", "forward-token-2"), 30), "bare address line forwards", q.logtext())

    r = q.inject("To: both@%s\n\nboth-token-3\n" % NAME)
    t.ok(q.wait(lambda: has("alias/Maildir-both", "both-token-3") and has("alias/Maildir", "both-token-3"), 30),
         "two lines in one .qmail: Maildir and forward both happen", q.logtext())

    r = q.queue("Subject: prog\n\nprogram-token-4\n", "snd@example.org", ["prog-abc@%s" % NAME])
    t.eq(r, 0, "qmail-queue to prog-abc@")
    out = q.path("alias/prog.out")
    t.ok(q.wait(lambda: os.path.exists(out) and "program-token-4" in open(out).read(), 30),
         "program delivery ran and got the message on stdin", q.logtext())
    if os.path.exists(out):
        got = open(out).read()
        env = dict(l.split("=", 1) for l in got.splitlines() if "=" in l and l.split("=", 1)[0].isupper())
        t.eq(env.get("SENDER"), "snd@example.org", "SENDER")
        t.eq(env.get("RECIPIENT"), "prog-abc@%s" % NAME, "RECIPIENT")
        t.eq(env.get("LOCAL"), "prog-abc", "LOCAL")
        t.eq(env.get("HOST"), NAME, "HOST")
        t.eq(env.get("EXT"), "prog-abc", "EXT")
        t.eq(env.get("EXT2"), "abc", "EXT2")
        t.eq(env.get("DEFAULT"), "abc", "DEFAULT")
        t.eq(env.get("HOME"), q.path("alias"), "HOME is DIR/alias")
        t.eq(env.get("DTLINE"), "Delivered-To: prog-abc@%s" % NAME, "DTLINE")
        if q.mode == "root":
            t.eq(env.get("UID"), str(q.role_ids()["alias"][0]), "the program runs as alias")
            t.eq(env.get("USER"), "alias", "USER is alias")

    r = q.inject("To: bob@virt.test\n\nvirtual-domain-token-5\n")
    t.eq(r.returncode, 0, "inject to bob@virt.test")
    t.ok(q.wait(lambda: has("alias/Maildir-vd", "virtual-domain-token-5"), 30),
         "virtualdomains virt.test:vd delivers through .qmail-vd-default", q.logtext())
    vd = [x for x in q.maildir_texts("alias/Maildir-vd") if "virtual-domain-token-5" in x]
    if vd:
        t.ok("Delivered-To: vd-bob@virt.test" in vd[0], "Delivered-To: vd-bob@virt.test", vd[0][:400])
    t.ok(q.wait(lambda: q.queue_count() == 0, 20), "queue empties", q.qstat())
t.done()
