#!/usr/bin/env python3
# qmail-lspawn in a root instance, driven through the spawn protocol, with
# a stand-in qmail-local that prints its uid, gid, groups and arguments:
# the password-file lookup through qmail-getpw (run as qmailp), the alias
# fallback with home DIR/alias, uid 0 refused, trash addresses, exit codes
# to K/D/Z, bounded reports, deliveries running in parallel, end of input.
# smoke
import os, pwd, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lspawnlib as L
from lspawnlib import nqtest

t = nqtest.Tap()
if not nqtest.IS_ROOT:
    t.skip("qmail-lspawn root mode", "needs root")
    t.done()

users = []
try:
    u = nqtest.TestUser("nqlsa")
    users.append(u)
    with nqtest.Instance(t) as q:
        alias = pwd.getpwnam("alias")
        L.fake_local(q, r'''#!/bin/sh
case "$6" in
crash) kill -SEGV $$ ;;
chatty) yes 'lots of output' | head -c 100000; exit 0 ;;
wait) while [ ! -e @RELEASE@ ]; do sleep 0.05; done ;;
esac
printf '%s %s %s' "$(id -u)" "$(id -g)" "$(id -G | tr ' ' ,)"
for a in "$@"; do printf '|%s' "$a"; done
printf '\n'
case "$6" in exit*) exit "${6#exit}" ;; esac
exit 0
'''.replace("@RELEASE@", os.path.join(q.base, "release")))
        # A qmail-getpw that records who runs it, then does its job.
        probe = os.path.join(q.base, "probe")
        os.mkdir(probe)
        os.chmod(probe, 0o777)
        os.rename(q.bin("qmail-getpw"), q.bin("qmail-getpw.real"))
        with open(q.bin("qmail-getpw"), "w") as f:
            f.write('#!/bin/sh\nid -u >> %s/getpw-uids\nexec %s "$@"\n' % (probe, q.bin("qmail-getpw.real")))
        os.chmod(q.bin("qmail-getpw"), 0o755)

        m = L.put_message(q, "Subject: args\n\nhello\n")
        s = L.Lspawn(q, defaultdelivery="./Mailbox")
        try:
            st, text = s.one(0, m, "sender@remote.test", "nqlsa@example.test")
            f = L.fields(text)
            t.eq(st, "K", "exit 0 is K")
            t.eq(f["args"], ["--", "nqlsa", u.home, "nqlsa", "", "", "example.test",
                             "sender@remote.test", "./Mailbox"],
                 "qmail-local gets qmail's arguments for a password-file user")
            t.eq((f["uid"], f["gid"], f["groups"]), (u.uid, u.gid, str(u.gid)),
                 "runs as the user, with no supplementary groups")
            with open(os.path.join(probe, "getpw-uids")) as fh:
                t.eq(fh.read().split(), [str(pwd.getpwnam("qmailp").pw_uid)],
                     "qmail-getpw ran once, as qmailp")

            st, text = s.one(1, m, "", "NqLsA-Foo-Bar@Example.TEST")
            f = L.fields(text)
            t.eq(f["args"][1:8], ["nqlsa", u.home, "NqLsA-Foo-Bar", "-", "Foo-Bar", "Example.TEST", ""],
                 "user-ext: dash '-', extension with its case, empty sender")

            st, text = s.one(2, m, "s@x", "nobody-here@example.test")
            f = L.fields(text)
            t.eq((st, f["uid"], f["gid"]), ("K", alias.pw_uid, alias.pw_gid), "unknown local part goes to the alias user")
            t.eq(f["args"][1:7], ["alias", q.path("alias"), "nobody-here", "-", "nobody-here", "example.test"],
                 "alias: home DIR/alias, dash '-', the whole local part as extension")

            st, text = s.one(3, m, "s@x", "alias-owner@example.test")
            f = L.fields(text)
            t.eq(f["args"][1:6], ["alias", q.path("alias"), "alias-owner", "-", "owner"],
                 "the alias account through the password file still has home DIR/alias")

            st, text = s.one(4, m, "s@x", "root@example.test")
            f = L.fields(text)
            t.eq((f["uid"], f["args"][1]), (alias.pw_uid, "alias"), "uid 0 account is not a mailbox: alias")

            t.eq(s.one(5, m, "s@x", "@example.test"), ("K", ""), "empty mailbox name is a trash address")
            t.eq(s.one(5, m, "s@x", ""), ("K", ""), "empty recipient is a trash address")

            st, text = s.one(6, m, "s@x", "nqlsa-exit100@example.test")
            t.ok(st == "D" and "|exit100|" in text, "exit 100 is D with the output as text", text)
            st, text = s.one(6, m, "s@x", "nqlsa-exit111@example.test")
            t.ok(st == "Z" and text.endswith("|./Mailbox/"), "exit 111 is Z, newline shown as '/'", text)
            st, text = s.one(6, m, "s@x", "nqlsa-exit99@example.test")
            t.eq(st, "Z", "any other exit code is Z")
            t.eq(s.one(6, m, "s@x", "nqlsa-crash@example.test"), ("Z", "qmail-local crashed."),
                 "a crash is Z")
            st, text = s.one(7, m, "s@x", "nqlsa-chatty@example.test")
            t.ok(st == "K" and 0 < len(text) <= 1000 and text.startswith("lots of output/"),
                 "output is read to the end but at most SPAWN_TEXT_MAX bytes kept", len(text))
            st, text = s.one(8, 987654321, "s@x", "nqlsa@example.test")
            t.ok(st == "Z" and "mess/" in text, "missing message file is Z", text)
            st, text = s.one(9, m, "s@x", "x" * 5000 + "@example.test")
            t.ok(st == "D" and "too long" in text, "over-long local part is D", text)
            st, text = s.one(9, m, "s@x", "y" * 20000 + "@example.test")
            t.ok(st == "D" and "too long" in text, "over-long record field is D", text)

            # Deliveries run in parallel and are reported as they finish.
            s.send(10, m, "s@x", "nqlsa-wait@example.test")
            s.send(11, m, "s@x", "nqlsa@example.test")
            r = s.reports(1)
            t.eq(list(r.keys()), [11], "a later delivery finishes while an earlier one waits")
            for k in range(20, 40):
                s.send(k, m, "s@x", "nqlsa-n%d@example.test" % k)
            r = s.reports(20)
            t.eq(sorted(r.keys()), list(range(20, 40)), "twenty more deliveries, one report each")
            t.ok(all(r[k][0] == "K" and L.fields(r[k][1])["args"][5] == "n%d" % k for k in r),
                 "each report belongs to its own delivery")
            rc0 = s.p.poll()
            # End of input with a delivery still running: it is finished and reported.
            s.p.stdin.close()
            time.sleep(0.2)
            t.eq((rc0, s.p.poll()), (None, None), "qmail-lspawn waits for running deliveries at end of input")
            open(os.path.join(q.base, "release"), "w").close()
            rc, rest, err = s.close()
            recs = rest.split(b"\0")
            t.ok(rc == 0 and recs[0] == b"10" and recs[1].startswith(b"K"),
                 "the waiting delivery is reported, then exit 0", (rc, rest, err))
        finally:
            s.kill()

        # uid 0 from users/assign is refused (qmail never delivers as root).
        q.write("users/assign", "=rootbox:root:0:0:/root:::\n.\n")
        r = nqtest.run([q.bin("qmail-newu")])
        s = L.Lspawn(q)
        try:
            st, text = s.one(0, m, "s@x", "rootbox@example.test")
            t.ok(st == "Z" and "root" in text and "|" not in text, "uid 0 assignment: Z, qmail-local not run", text)
            # A record with a bad delivery number is a protocol error.
            s.p.stdin.write(b"x\x001\x00s\x00r@x\x00")
            s.p.stdin.flush()
            rc, rest, err = s.close()
            t.ok(rc == 111 and b"protocol error" in err, "bad delivery number: exit 111", (rc, err))
        finally:
            s.kill()
finally:
    for x in users:
        x.remove()
t.done()
