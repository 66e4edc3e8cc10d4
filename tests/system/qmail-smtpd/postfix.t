#!/usr/bin/env python3
# A real client: Postfix from Debian, in a private instance with DNS
# lookups off, relays into nqmail's qmail-smtpd on loopback with
# relayhost, using STARTTLS (smtp_tls_security_level = encrypt) and
# PIPELINING. Its messages arrive intact (dot lines, 8-bit) with an
# ESMTPS Received line; a recipient our RCPT check refuses is rejected at
# RCPT time (Postfix logs the 550), so nothing is queued for it.
import os, pwd, re, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, queued, clear, make_cert
from nqtest import Tap, Instance, IS_ROOT, wait

t = Tap()
if not IS_ROOT or not shutil.which("postfix") or not os.path.exists("/usr/sbin/sendmail"):
    t.skip("Postfix as a client", "needs root and Postfix")
    t.done()

MASTER = """\
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
proxymap   unix  -       -       n       -       -       proxymap
showq      unix  n       -       n       -       -       showq
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
smtp       unix  -       -       n       -       -       smtp
relay      unix  -       -       n       -       -       smtp
tlsmgr     unix  -       -       n       1000?   1       tlsmgr
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"""

with Instance(t, name="example.test") as q:
    prepare(q)
    cert = make_cert(q.path("control/servercert.pem"))
    os.chown(cert, 0, q.role_ids()["qmaild"][1])
    pf = tempfile.mkdtemp(prefix="nqpf-")
    os.chmod(pf, 0o755)
    conf, spool, data, log = (os.path.join(pf, x) for x in ("etc", "spool", "data", "maillog"))
    for d in (conf, spool, data):
        os.mkdir(d)
        os.chmod(d, 0o755)
    pw = pwd.getpwnam("postfix")
    os.chown(data, pw.pw_uid, pw.pw_gid)
    with Server(q) as s:
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write("\n".join([
                "compatibility_level = 3.6",
                "queue_directory = " + spool,
                "data_directory = " + data,
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "myhostname = client.test",
                "mydomain = client.test",
                "myorigin = client.test",
                "mydestination =",
                "inet_interfaces = loopback-only",
                "inet_protocols = ipv4",
                "relayhost = [127.0.0.1]:%d" % s.port,
                "smtp_dns_support_level = disabled",
                "lmtp_dns_support_level = disabled",
                "smtp_tls_security_level = encrypt",
                "smtp_tls_loglevel = 1",
                "alias_maps =",
                "alias_database =",
                "local_transport = error:no local delivery",
                "maillog_file = " + log,
                "maillog_file_prefixes = " + pf,
                ""]))
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write(MASTER)
        r = subprocess.run(["postfix", "-c", conf, "start"], capture_output=True, text=True)
        if not t.eq(r.returncode, 0, "private Postfix started", r.stdout + r.stderr):
            t.done()
        try:
            clear(q)
            body = ("From: a@client.test\nTo: postmaster@example.test\nSubject: from postfix\n\n"
                    ".a dot line\n..two dots\n.\nbefore end \u00e9\n")
            r = subprocess.run(["/usr/sbin/sendmail", "-i", "-C", conf, "-f", "a@client.test", "postmaster@example.test"],
                               input=body.encode(), capture_output=True)
            t.eq(r.returncode, 0, "Postfix's sendmail accepted the message", r.stderr)
            got = wait(lambda: len(queued(q)) == 1, 60)
            t.ok(got, "the message arrived in nqmail's queue",
                 (open(log).read() if os.path.exists(log) else "") + s.log())
            m = queued(q)
            if m:
                t.eq(m[0].sender, "a@client.test", "envelope sender")
                t.eq(m[0].rcpts, ["postmaster@example.test"], "envelope recipient")
                t.ok(m[0].body == ".a dot line\n..two dots\n.\nbefore end \u00e9\n".encode(),
                     "body intact: dot lines and 8-bit", m[0].body)
                rec = [x for x in m[0].received() if "nqmail" in x]
                t.ok(rec and "(HELO client.test)" in rec[0] and "with ESMTPS (TLS" in rec[0],
                     "Received: HELO client.test, ESMTPS", rec)
            clear(q)
            r = subprocess.run(["/usr/sbin/sendmail", "-i", "-C", conf, "-f", "a@client.test", "nobody@example.test"],
                               input=b"Subject: x\n\nhi\n", capture_output=True)
            t.ok(wait(lambda: os.path.exists(log) and re.search(r"nobody@example.test.*status=bounced.*550",
                                                              open(log).read()), 60),
                 "a recipient refused at RCPT time: Postfix saw our 550", open(log).read() if os.path.exists(log) else "")
            t.eq(queued(q), [], "nothing queued for it")
        finally:
            subprocess.run(["postfix", "-c", conf, "stop"], capture_output=True)
            wait(lambda: not os.path.exists(os.path.join(spool, "pid", "master.pid")) or
                 subprocess.run(["postfix", "-c", conf, "status"], capture_output=True).returncode != 0, 20)
            shutil.rmtree(pf, ignore_errors=True)
t.done()
