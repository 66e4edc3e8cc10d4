#!/usr/bin/env python3
# qmailctl's SMTP listeners, the contract of issue 4, under daemontools:
# control/smtpd-listen with 127.0.0.1:PORT and [::1]:PORT, submission-listen
# and smtps-listen with one line each; `qmailctl start` listens on exactly
# those (/proc/net/tcp, tcp6), as qmaild; smtplib delivers to
# alias/Maildir through both SMTP addresses; setup's self-signed
# certificate verifies for the instance's name in STARTTLS; submission
# wants AUTH before MAIL and takes a qmail-vuser login after STARTTLS;
# SMTPS speaks TLS at once; `qmailctl cdb` compiles control/tcp.smtp and
# the listeners obey it (RELAYCLIENT); a changed listen file is applied by
# restart; stop leaves no tcpserver and nothing else.
import os, re, shutil, smtplib, socket, ssl, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, run, wait, proc_uid
from ctl import ctl, out, cleanup, instance_procs, free_port, listening

t = Tap()
if not shutil.which("svscan") or not shutil.which("tcpserver"):
    t.skip("qmailctl's SMTP listeners under daemontools", "needs daemontools and ucspi-tcp")
    t.done()
NAME = "smtpd.example.test"


def both_free():
    """A port free on 127.0.0.1 and on ::1."""
    for _ in range(50):
        p = free_port()
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            s.bind(("::1", p))
            return p
        except OSError:
            pass
        finally:
            s.close()
    raise RuntimeError("no port free on both loopback addresses")


def tcpservers(q):
    return [p for p in instance_procs(q) if p[1] == "tcpserver"]


def cert_only(pem, path):
    """The certificate block of servercert.pem, as a CA file for ssl."""
    text = open(pem).read()
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", text, re.S)
    with open(path, "w") as f:
        f.write(m.group(0) if m else "")
    return path


def delivered(q, token):
    return any(token in m for m in q.maildir_texts("alias/Maildir"))


with Instance(t, name=NAME) as q:
    tmp = tempfile.mkdtemp(prefix="nqt-ca-")
    try:
        p, ps, pt = both_free(), free_port(), free_port("::1")
        q.control("smtpd-listen", "# both loopbacks\n127.0.0.1:%d\n[::1]:%d\n" % (p, p))
        q.control("submission-listen", "127.0.0.1:%d" % ps)
        q.control("smtps-listen", "[::1]:%d" % pt)
        r = run([q.bin("qmail-vuser"), "add", "joe@" + NAME], input="a fine passphrase\n", user=q.as_owner())
        t.eq(r.returncode, 0, "qmail-vuser add joe@NAME", r.stderr)

        r = ctl(q, "start")
        t.eq(r.returncode, 0, "qmailctl start", out(r))
        t.eq(listening(p), {"127.0.0.1", "[::1]"}, "SMTP listens on 127.0.0.1:PORT and [::1]:PORT")
        t.eq(listening(ps), {"127.0.0.1"}, "submission listens on its line")
        t.eq(listening(pt), {"[::1]"}, "SMTPS listens on its line")
        ts = tcpservers(q)
        t.eq(len(ts), 4, "one tcpserver per line, no more (no default 25/587/465)", ts)
        qmaild = q.role_ids()["qmaild"][0]
        t.ok(ts and all(proc_uid(x[0]) == qmaild for x in ts), "tcpserver runs as qmaild", ts)
        for d in ("smtpd-127.0.0.1-%d" % p, "smtpd-::1-%d" % p, "submission-127.0.0.1-%d" % ps, "smtps-::1-%d" % pt):
            t.ok(os.path.exists(q.path("service/%s/run" % d)), "service/%s/run" % d)
        r = ctl(q, "stat")
        t.eq(r.returncode, 0, "stat: every service up", out(r))
        t.ok("smtpd listener on [::1]:%d" % p in out(r) and "smtps listener on [::1]:%d" % pt in out(r),
             "stat names the listeners", out(r))

        # SMTP on both addresses, to alias/Maildir.
        for host in ("127.0.0.1", "::1"):
            token = "smtp-via-%s" % host
            try:
                s = smtplib.SMTP(host, p, local_hostname="client.test", timeout=30)
                s.sendmail("a@client.test", ["postmaster@" + NAME], "Subject: %s\r\n\r\n%s\r\n" % (token, token))
                s.quit()
            except Exception as e:
                t.diag(repr(e))
            t.ok(wait(lambda: delivered(q, token), 30), "smtplib via %s delivers to alias/Maildir" % host)

        # setup's certificate, renewed by config-fast for NAME, verifies.
        pem = q.path("control/servercert.pem")
        t.ok(open(pem).readline().startswith("# nqmail qmail-mkcert: self-signed certificate for " + NAME),
             "servercert.pem is qmail-mkcert's certificate for the instance's name")
        ctx = ssl.create_default_context(cafile=cert_only(pem, os.path.join(tmp, "ca.pem")))
        try:
            s = smtplib.SMTP("127.0.0.1", p, local_hostname="client.test", timeout=30)
            s._host = NAME   # the name starttls() checks the certificate against
            s.starttls(context=ctx)
            peer = s.sock.getpeercert()
            s.sendmail("a@client.test", ["postmaster@" + NAME], "Subject: tls-token\r\n\r\ntls-token\r\n")
            s.quit()
            t.ok(peer and ("DNS", NAME) in peer.get("subjectAltName", ()), "STARTTLS: the certificate verifies for NAME", peer)
        except Exception as e:
            t.ok(False, "STARTTLS: the certificate verifies for NAME", repr(e))
        t.ok(wait(lambda: any("tls-token" in m and "ESMTPS" in m for m in q.maildir_texts("alias/Maildir")), 30),
             "and the message arrives, received with ESMTPS")

        # Submission: AUTH before MAIL, AUTH only inside TLS.
        noverify = ssl._create_unverified_context()
        s = smtplib.SMTP("127.0.0.1", ps, local_hostname="client.test", timeout=30)
        s.ehlo()
        code, msg = s.mail("joe@" + NAME)
        t.eq(code, 530, "submission: MAIL before AUTH gets 530", msg)
        s.starttls(context=noverify)
        s.ehlo()
        try:
            s.login("joe@" + NAME, "a fine passphrase")
            s.sendmail("joe@" + NAME, ["postmaster@" + NAME], "Subject: sub-token\r\n\r\nsub-token\r\n")
            t.ok(True, "submission: STARTTLS, AUTH as a qmail-vuser login, message accepted")
        except Exception as e:
            t.ok(False, "submission: STARTTLS, AUTH as a qmail-vuser login, message accepted", repr(e))
        s.quit()
        t.ok(wait(lambda: delivered(q, "sub-token"), 30), "submission: delivered")

        # SMTPS: TLS from the first byte.
        raw = socket.create_connection(("::1", pt), timeout=5)
        try:
            raw.settimeout(2)
            got = raw.recv(100)
        except socket.timeout:
            got = b""
        raw.close()
        t.eq(got, b"", "SMTPS: no plain-text greeting")
        try:
            s = smtplib.SMTP_SSL("::1", pt, local_hostname="client.test", context=noverify, timeout=30)
            s.login("joe@" + NAME, "a fine passphrase")
            s.sendmail("joe@" + NAME, ["postmaster@" + NAME], "Subject: smtps-token\r\n\r\nsmtps-token\r\n")
            s.quit()
            t.ok(True, "SMTPS: TLS at once, AUTH, message accepted")
        except Exception as e:
            t.ok(False, "SMTPS: TLS at once, AUTH, message accepted", repr(e))
        t.ok(wait(lambda: delivered(q, "smtps-token"), 30), "SMTPS: delivered")

        # tcp.smtp: 127.0.0.1 may relay once qmailctl cdb compiled it.
        def relay(host):
            s = smtplib.SMTP(host, p, local_hostname="client.test", timeout=30)
            s.ehlo()
            s.mail("a@client.test")
            code, _ = s.rcpt("someone@elsewhere.test")
            s.rset()
            s.quit()
            return code
        t.eq(relay("127.0.0.1"), 553, "without rules, no relaying")
        q.control("tcp.smtp", '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n')
        r = ctl(q, "cdb")
        t.eq(r.returncode, 0, "qmailctl cdb", out(r))
        t.ok(os.path.exists(q.path("control/tcp.smtp.cdb")), "control/tcp.smtp.cdb built")
        t.ok(wait(lambda: listening(p) == {"127.0.0.1", "[::1]"} and len(tcpservers(q)) == 4, 10),
             "the SMTP listeners run again (restarted for the new rules)")
        t.ok(wait(lambda: relay("127.0.0.1") == 250, 10), "127.0.0.1 gets RELAYCLIENT from tcp.smtp.cdb")
        t.eq(relay("::1"), 553, "::1, not in the rules, still may not relay")

        # A changed listen file: restart applies it.
        p2 = free_port()
        q.control("smtpd-listen", "127.0.0.1:%d" % p2)
        r = ctl(q, "stat")
        t.ok("qmailctl restart applies them" in out(r), "stat says the listen files changed", out(r))
        r = ctl(q, "restart")
        t.eq(r.returncode, 0, "restart", out(r))
        t.eq((listening(p), listening(p2)), (set(), {"127.0.0.1"}), "restart moves SMTP to the new line")
        t.ok(not os.path.exists(q.path("service/smtpd-::1-%d" % p)), "the old service directory is gone")

        r = ctl(q, "stop")
        t.eq(r.returncode, 0, "stop", out(r))
        t.eq(tcpservers(q), [], "no tcpserver after stop")
        t.ok(wait(lambda: not instance_procs(q), 10), "nothing of the instance after stop", instance_procs(q))
        t.eq([listening(x) for x in (p2, ps, pt)], [set(), set(), set()], "nothing listens")
    finally:
        cleanup(q)
        shutil.rmtree(tmp, ignore_errors=True)
t.done()
