#!/usr/bin/env python3
# AUTH PLAIN and LOGIN through a checkpassword program (ours: system users
# from the shadow file, virtual users from users/vpasswd): offered only
# inside TLS (or on loopback with AUTHPLAINLOOPBACK), success lets the
# client relay (the positive twin of the relay refusals) and the Received
# line says ESMTPSA; failures are slowed down, logged with the client's
# IP, and end the session after three. Authenticated senders must own
# their envelope sender (control/loginsenders adds more); submission mode
# (SUBMISSION) wants AUTH before MAIL; control/authratelimit limits
# messages per login.
import os, smtplib, ssl, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queued, clear, make_cert
from nqtest import Tap, Instance, TestUser, run, IS_ROOT, unique_user
import base64

t = Tap()


def noverify():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def b64(s):
    return base64.b64encode(s.encode()).decode()


def tlsclient(port):
    c = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=30)
    c.ehlo()
    c.starttls(context=noverify())
    c.ehlo()
    return c


def tlsraw(port):
    r = Raw(port)
    r.reply()
    r.cmd("EHLO client.test")
    r.cmd("STARTTLS")
    r.starttls()
    r.cmd("EHLO client.test")
    return r


u = TestUser(unique_user("au")) if IS_ROOT else None
try:
    with Instance(t, name="example.test") as q:
        prepare(q)
        cert = make_cert(q.path("control/servercert.pem"))
        if q.mode == "root":
            os.chown(cert, 0, q.role_ids()["qmaild"][1])
        r = run([q.bin("qmail-vuser"), "add", "joe@example.test"], input="joe-secret\n")
        t.eq(r.returncode, 0, "qmail-vuser add", r.stderr)
        if u:
            subprocess.run(["chpasswd"], input=("%s:sys-secret\n" % u.name).encode(), check=True)
        args = [q.bin("checkpassword"), "/bin/true"]
        with Server(q, args=args) as s:
            # Not offered in plain text.
            r = Raw(s.port)
            r.reply()
            code, text = r.cmd("EHLO client.test")
            t.ok("AUTH" not in text, "no AUTH offered before TLS", text)
            code, text = r.cmd("AUTH PLAIN " + b64("\0joe@example.test\0joe-secret"))
            t.eq(code, 538, "AUTH before TLS: 538", text)
            r.close()

            c = tlsclient(s.port)
            t.ok("PLAIN" in c.esmtp_features.get("auth", "") and "LOGIN" in c.esmtp_features.get("auth", ""),
                 "inside TLS: AUTH PLAIN LOGIN offered", c.esmtp_features)
            code, text = c.login("joe@example.test", "joe-secret")
            t.eq(code, 235, "virtual user: AUTH PLAIN succeeds", text)
            clear(q)
            c.sendmail("joe@example.test", ["someone@other.test"], "Subject: relayed\r\n\r\nhi\r\n")
            m = queued(q)
            t.ok(m and m[0].rcpts == ["someone@other.test"], "after AUTH: relaying to other.test accepted")
            rec = [x for x in m[0].received() if "nqmail" in x] if m else []
            t.ok(rec and "with ESMTPSA (" in rec[0], "Received says ESMTPSA", rec)
            clear(q)
            for sender, want in (("joe-lists@example.test", 250), ("JOE@EXAMPLE.TEST", 250),
                                 ("jim@example.test", 553), ("joe@other.test", 553), ("", 553)):
                code, text = c.docmd("MAIL FROM:<%s>" % sender)
                t.eq(code, want, "joe@example.test sends as <%s>: %d" % (sender, want), text)
                c.rset()
            c.quit()

            # AUTH LOGIN, with and without an initial response; cancel.
            r = tlsraw(s.port)
            t.eq(r.cmd("AUTH LOGIN")[0], 334, "AUTH LOGIN asks for the user")
            t.eq(r.cmd(b64("joe@example.test"))[0], 334, "then for the password")
            t.eq(r.cmd(b64("joe-secret"))[0], 235, "AUTH LOGIN succeeds")
            t.eq(r.cmd("AUTH LOGIN")[0], 503, "AUTH twice: 503")
            r.close()
            r = tlsraw(s.port)
            t.eq(r.cmd("AUTH LOGIN " + b64("joe@example.test"))[0], 334, "AUTH LOGIN with the user given")
            t.eq(r.cmd(b64("joe-secret"))[0], 235, "AUTH LOGIN (initial response) succeeds")
            r.close()
            r = tlsraw(s.port)
            t.eq(r.cmd("AUTH PLAIN")[0], 334, "AUTH PLAIN without initial response: 334")
            t.eq(r.cmd("*")[0], 501, "'*' cancels: 501")
            t.eq(r.cmd("AUTH PLAIN " + b64("someone\0joe@example.test\0joe-secret"))[0], 535,
                 "a foreign authorization identity: 535")
            t.eq(r.cmd("AUTH CRAM-MD5")[0], 504, "unknown mechanism: 504")
            t.eq(r.cmd("AUTH PLAIN !!!")[0], 501, "bad base64: 501")
            r.close()

            # Failures: slowed down, logged, three end the session.
            r = tlsraw(s.port)
            t0 = time.time()
            code, text = r.cmd("AUTH PLAIN " + b64("\0joe@example.test\0wrong"))
            t.eq(code, 535, "wrong password: 535", text)
            t.ok(time.time() - t0 >= 0.9, "the failure took at least a second", time.time() - t0)
            t.eq(r.cmd("AUTH PLAIN " + b64("\0nosuch@example.test\0x"))[0], 535, "unknown user: 535")
            code, text = r.cmd("AUTH PLAIN " + b64("\0joe@example.test\0wrong"))
            t.eq(code, 421, "third failure: 421", text)
            t.ok(r.closed(), "and the connection is closed")
            log = s.log()
            t.ok("AUTH failed for joe@example.test from 127.0.0.1" in log, "failures logged with the IP", log)

            # Before AUTH, relaying is refused (the refusal twin).
            r = tlsraw(s.port)
            r.cmd("MAIL FROM:<joe@example.test>")
            t.eq(r.cmd("RCPT TO:<someone@other.test>")[0], 553, "without AUTH: relaying refused")
            r.close()

            if u:
                c = tlsclient(s.port)
                code, text = c.login(u.name, "sys-secret")
                t.eq(code, 235, "system user from the shadow file: 235", text)
                for sender, want in (("%s@example.test" % u.name, 250), ("%s-x@example.test" % u.name, 250),
                                     ("joe@example.test", 553)):
                    t.eq(c.docmd("MAIL FROM:<%s>" % sender)[0], want, "%s sends as %s: %d" % ("user", sender, want))
                    c.rset()
                c.quit()
                c = tlsclient(s.port)
                try:
                    c.login(u.name, "wrong")
                    t.ok(False, "system user, wrong password refused")
                except smtplib.SMTPAuthenticationError as e:
                    t.eq(e.smtp_code, 535, "system user, wrong password: 535")
                c.close()
            else:
                t.skip("system users", "needs root")

        # control/loginsenders and the rate limit.
        q.control("loginsenders", "joe@example.test:@lists.test\njoe@example.test:boss@example.test\n")
        q.control("authratelimit", "joe@example.test:2/3600\n*:100\n")
        with Server(q, args=args) as s:
            c = tlsclient(s.port)
            c.login("joe@example.test", "joe-secret")
            for sender, want in (("any@lists.test", 250), ("boss@example.test", 250), ("other@lists2.test", 553)):
                t.eq(c.docmd("MAIL FROM:<%s>" % sender)[0], want, "loginsenders: <%s> %d" % (sender, want))
                c.rset()
            clear(q)
            c.sendmail("joe@example.test", ["postmaster@example.test"], "Subject: 1\r\n\r\n1\r\n")
            c.sendmail("joe@example.test", ["postmaster@example.test"], "Subject: 2\r\n\r\n2\r\n")
            code, text = c.docmd("MAIL FROM:<joe@example.test>")
            t.eq(code, 450, "third message within the hour: 450", text)
            t.eq(len(queued(q)), 2, "two messages queued")
            c.quit()
            clear(q)
        os.unlink(q.path("control/authratelimit"))

        # Submission: AUTH before MAIL.
        with Server(q, args=args, env={"SUBMISSION": "1"}) as s:
            c = tlsclient(s.port)
            code, text = c.docmd("MAIL FROM:<joe@example.test>")
            t.eq(code, 530, "submission: MAIL before AUTH: 530", text)
            c.login("joe@example.test", "joe-secret")
            t.eq(c.docmd("MAIL FROM:<boss@example.test>")[0], 250, "submission after AUTH: 250")
            c.quit()

        # AUTH in plain text on loopback only when asked for.
        with Server(q, args=args, env={"AUTHPLAINLOOPBACK": "1"}) as s:
            r = Raw(s.port)
            r.reply()
            code, text = r.cmd("EHLO client.test")
            t.ok("AUTH PLAIN LOGIN" in text, "AUTHPLAINLOOPBACK: AUTH offered in plain text on 127.0.0.1", text)
            t.eq(r.cmd("AUTH PLAIN " + b64("\0joe@example.test\0joe-secret"))[0], 235, "and works")
            r.close()
finally:
    if u:
        u.remove()
t.done()
