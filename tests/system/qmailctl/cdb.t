#!/usr/bin/env python3
# qmailctl cdb: compiles control/tcp.smtp with tcprules into
# control/tcp.smtp.cdb and users/assign with qmail-newu into users/cdb;
# missing sources are skipped; a broken rules file fails with 111 and
# leaves the old cdb in place.
import os, stat, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, run
from ctl import ctl, out

t = Tap()
with Instance(t, name="cdb.example.test") as q:
    r = ctl(q, "cdb")
    t.eq(r.returncode, 0, "cdb with nothing to compile exits 0")
    t.ok("skipped" in out(r), "it says the rules were skipped", out(r))
    t.ok(not os.path.exists(q.path("control/tcp.smtp.cdb")), "no tcp.smtp.cdb made from nothing")

    q.control("tcp.smtp", '127.:allow,RELAYCLIENT=""\n:allow\n')
    uid, gid = q.role_ids()["alias"]
    q.write("users/assign", "=joe:alias:%d:%d:%s:::\n.\n" % (uid, gid, q.path("alias")),
            owner="root" if q.mode == "root" else None)
    r = ctl(q, "cdb")
    t.eq(r.returncode, 0, "cdb exits 0")
    if r.returncode:
        t.diag(out(r))
    cdb = q.path("control/tcp.smtp.cdb")
    t.ok(os.path.exists(cdb), "control/tcp.smtp.cdb built")
    if os.path.exists(cdb):
        t.eq(stat.S_IMODE(os.stat(cdb).st_mode), 0o644, "tcp.smtp.cdb is mode 644")
        chk = run(["tcprulescheck", cdb], env=dict(os.environ, TCPREMOTEIP="127.0.0.1"))
        t.ok(b"RELAYCLIENT" in chk.stdout, "the cdb lets 127.0.0.1 relay", chk.stdout)
        chk = run(["tcprulescheck", cdb], env=dict(os.environ, TCPREMOTEIP="10.1.2.3"))
        t.ok(b"RELAYCLIENT" not in chk.stdout and b"allow" in chk.stdout, "and 10.1.2.3 may only connect", chk.stdout)
    t.ok(os.path.exists(q.path("users/cdb")), "users/cdb built by qmail-newu")
    t.ok(not os.path.exists(cdb + ".tmp"), "no temporary file left")

    old = open(cdb, "rb").read() if os.path.exists(cdb) else None
    q.control("tcp.smtp", "127.:allow\n:allow,X\n")
    r = ctl(q, "cdb")
    t.eq(r.returncode, 111, "a broken tcp.smtp makes cdb exit 111")
    t.ok(old is not None and open(cdb, "rb").read() == old, "and the old tcp.smtp.cdb stays")
t.done()
