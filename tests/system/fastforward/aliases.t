#!/usr/bin/env python3
# fastforward in ~alias/.qmail-default, driven by an /etc/aliases of the
# kind a sendmail site has (comments, continuation lines, quoted addresses,
# programs, files, :include: lists, owner- entries), compiled by newaliases
# from a file of the test's own named in control/aliases. Mail goes in
# through qmail-queue and the bytes that land in Maildirs, mboxes and a
# program's output are checked, as are the bounce going to owner-list and
# not to the original sender.
# smoke
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, run

t = Tap()
NAME = "example.test"
with Instance(t, name=NAME) as q:
    etc = os.path.join(q.base, "etc")
    os.makedirs(etc)
    os.chmod(etc, 0o755)
    aliases = os.path.join(etc, "aliases")
    archive = q.path("alias/archive")
    prog_out = q.path("alias/prog.out")
    incl = q.path("alias/staff-list")
    with open(aliases, "w") as f:
        f.write("""# /etc/aliases as sendmail sites write it
# a comment
  that continues on an indented line: nobody@example.test

postmaster: root
MAILER-DAEMON: postmaster
root: boss

# a list over several lines, with comments and a phrase
team: anna, "Bert B." <bert>,
\tcarl (Carl, the new one),

  \\dora
everything: team, boss, anna
"first.last": erik
weather: "|cat > %(prog)s"
archive: %(archive)s, anna
staff: :include:%(incl)s
biglist: anna, nosuch-user
owner-biglist: listowner
# duplicate definitions: the first one counts
boss: bossbox
boss: anna
""" % {"prog": prog_out, "archive": archive, "incl": incl})
    q.control("aliases", aliases)
    with open(incl, "w") as f:
        f.write("# staff members\ncarl, dora\n# and one more\nerik\n")
    for box in ("anna", "bert", "carl", "dora", "erik", "bossbox", "listowner", "orig"):
        q.maildirmake("alias/Maildir-" + box)
        q.write("alias/.qmail-" + box, "./Maildir-%s/\n" % box)
    q.write("alias/archive", "")
    q.write("alias/.qmail-default", "| %s -d %s.cdb\n" % (q.bin("fastforward"), aliases))

    r = run([q.bin("newaliases")])
    t.eq(r.returncode, 0, "newaliases compiles the aliases file", r.stderr)
    t.ok(os.path.exists(aliases + ".cdb") and not os.path.exists(aliases + ".tmp"),
         "aliases.cdb installed, aliases.tmp gone")
    t.eq(oct(os.stat(aliases + ".cdb").st_mode & 0o777), "0o644", "aliases.cdb is world-readable")
    r = run([q.bin("newinclude"), incl])
    t.eq(r.returncode, 0, "newinclude compiles the :include: file", r.stderr)
    pf = run([q.bin("printforward")], input=open(aliases + ".cdb", "rb").read()).stdout.decode()
    t.ok("team@: &anna@example.test,\n  &bert@example.test,\n  &carl@example.test,\n  &dora@example.test;" in pf,
         "continuation lines, phrase, comment and \\user parsed", pf)
    t.ok("biglist@: ?owner-biglist@example.test;" in pf, "owner-biglist becomes the owner of biglist", pf)
    t.ok("boss@: &bossbox@example.test;" in pf and "&anna@example.test;\nboss" not in pf,
         "the first definition of boss counts", pf)
    t.ok("staff@: %s.bin;" % incl.replace(" ", "\\ ") in pf, ":include: names the .bin file", pf)
    q.start()

    def got(box, tok):
        return [x for x in q.maildir_texts("alias/Maildir-" + box) if tok in x]

    def send(rcpt, tok, sender="orig@%s" % NAME):
        return q.queue("Subject: %s\n\n%s\n" % (tok, tok), sender, [rcpt])

    t.eq(send("team@" + NAME, "tok-team"), 0, "queued to team")
    t.ok(q.wait(lambda: all(got(b, "tok-team") for b in ("anna", "bert", "carl", "dora")), 30),
         "a list delivers to each member", q.logtext())
    m = got("anna", "tok-team")
    if m:
        t.ok("Delivered-To: team@%s\n" % NAME in m[0], "the forwarded copy carries the list's Delivered-To", m[0][:500])
        t.ok(m[0].startswith("Return-Path: <orig@%s>" % NAME), "without an owner the sender is kept", m[0][:200])

    t.eq(send("EveryThing@" + NAME, "tok-every"), 0, "queued to everything (mixed case)")
    t.ok(q.wait(lambda: got("bossbox", "tok-every") and got("dora", "tok-every"), 30), "nested aliases expand", q.logtext())
    t.ok(q.wait(lambda: q.queue_count() == 0, 20), "queue empties")
    t.eq(len(got("anna", "tok-every")), 1, "an address reached twice gets one copy")

    t.eq(send("first.last@" + NAME, "tok-quoted"), 0, "queued to first.last")
    t.ok(q.wait(lambda: got("erik", "tok-quoted"), 30), "a quoted alias name matches", q.logtext())

    t.eq(send("weather@" + NAME, "tok-prog"), 0, "queued to weather")
    t.ok(q.wait(lambda: os.path.exists(prog_out) and "tok-prog" in open(prog_out).read(), 30),
         "a |program alias runs", q.logtext())
    if os.path.exists(prog_out):
        out = open(prog_out).read()
        t.ok(out.startswith("From orig@%s " % NAME) and "\nReturn-Path: <orig@%s>\n" % NAME in out
             and "\nDelivered-To: weather@%s\n" % NAME in out, "the program gets From, Return-Path, Delivered-To first", out[:300])

    t.eq(send("archive@" + NAME, "tok-file"), 0, "queued to archive")
    t.ok(q.wait(lambda: "tok-file" in open(archive).read() and got("anna", "tok-file"), 30),
         "a /file alias appends to the file, and the other recipient gets a copy", q.logtext())
    a = open(archive).read()
    t.ok(a.startswith("From orig@%s " % NAME) and "Delivered-To: archive@%s\n" % NAME in a, "mbox format in the file", a[:300])

    t.eq(send("staff@" + NAME, "tok-incl"), 0, "queued to staff")
    t.ok(q.wait(lambda: all(got(b, "tok-incl") for b in ("carl", "dora", "erik")), 30),
         ":include: list delivers to its members", q.logtext())

    t.eq(send("biglist@" + NAME, "tok-owner"), 0, "queued to biglist")
    t.ok(q.wait(lambda: got("anna", "tok-owner"), 30), "biglist member got it", q.logtext())
    m = got("anna", "tok-owner")
    if m:
        t.ok(m[0].startswith("Return-Path: <owner-biglist@%s>" % NAME), "owner-biglist is the envelope sender", m[0][:200])
    t.ok(q.wait(lambda: got("listowner", "tok-owner"), 30), "the bounce for nosuch-user goes to owner-biglist", q.logtext())
    b = got("listowner", "tok-owner")
    if b:
        t.ok("nosuch-user@%s" % NAME in b[0] and "no mailbox here by that name" in b[0], "bounce names the bad member", b[0][:1500])
    t.ok(q.wait(lambda: q.queue_count() == 0, 20), "queue empties")
    t.eq(got("orig", "tok-owner"), [], "the original sender gets no bounce")

    t.eq(send("unknown-alias@" + NAME, "tok-unknown"), 0, "queued to an address with no alias")
    t.ok(q.wait(lambda: got("orig", "tok-unknown"), 30), "it bounces to the sender", q.logtext())
    b = got("orig", "tok-unknown")
    if b:
        t.ok("Sorry, no mailbox here by that name. (#5.1.1)" in b[0], "with fastforward's reason", b[0][:1500])
t.done()
