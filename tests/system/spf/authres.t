#!/usr/bin/env python3
# The Authentication-Results field: qmail-smtpd puts exactly one of ours
# at the top of every message it receives (delivered to a Maildir through
# tcpserver and qmail-send, root and single-user instances), removes the
# fields a client sent that claim our authserv-id (control/me, or
# control/authservid) however they are folded, quoted or commented, keeps
# every other host's; control/spfpolicy refuses fail (550 5.7.23) and
# defers temperror (451 4.4.3); RELAYCLIENT clients are not checked.
# smoke
import base64, os, re, smtplib, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spflib import Capture, session, header_fields, spf_of, mail_reply  # noqa: E402
from nqtest import Tap, Instance, TestUser, unique_user, IS_ROOT  # noqa: E402
from remotelib import Dns  # noqa: E402
from smtpdlib import Server, prepare  # noqa: E402

FORGED = ("Authentication-Results: example.test; spf=pass smtp.mailfrom=evil@x.test\r\n"
          "Authentication-Results: other.test; spf=fail smtp.mailfrom=x@other.test\r\n"
          "Authentication-Results: EXAMPLE.TEST (forged); dkim=pass\r\n"
          "Authentication-Results:\r\n example.test;\r\n\tspf=pass\r\n"
          "Authentication-Results: \"example.test\"; dmarc=pass\r\n"
          "authentication-results : example.test 1; spf=pass\r\n"
          "Authentication-Results: example.test.evil.test; spf=pass\r\n"
          "Authentication-Results: (a comment; with a semicolon) example.test; spf=pass\r\n"
          "Authentication-Results: " + "(x)" * 400 + " example.test; spf=pass\r\n"
          "X-Other: keep me\r\n"
          "Subject: forged\r\n"
          "\r\n"
          "Authentication-Results: example.test; this is the body\r\n")


def ids(fields):
    """The authserv-id of each unfolded field (crudely: comments dropped)."""
    import re
    out = []
    for f in fields:
        v = re.sub(r"\([^()]*\)", "", f.split(":", 1)[1]).strip()
        out.append(v.split(";")[0].strip().strip('"').split()[0] if v else "")
    return out


t = Tap()
d = Dns(["txt-record=pass.test,v=spf1 ip4:192.0.2.0/24 -all",
         "txt-record=soft.test,v=spf1 ~all"], servfail=("broken.test",))
cap = Capture()
try:
    d.start()
    with Instance(t) as q:
        q.control("dnsservers", d.server_line())

        # --- forged fields -------------------------------------------------
        lines, msg = session(q, cap, "192.0.2.10", "c.test", "u@pass.test", body=FORGED)
        t.ok(msg is not None, "the message with forged fields is queued", lines)
        msg = msg or ""
        fields = header_fields(msg)
        t.ok(re.match(r"Received: from [^\n]*\n  by example.test [^\n]*\n"
                      r"Authentication-Results: example.test;\n\tspf=pass smtp.mailfrom=u@pass.test[;\n]", msg),
             "our field is at the top, right under our Received line, with the SPF result", msg[:300])
        t.eq(ids(fields), ["example.test", "other.test", "example.test.evil.test"],
             "every field claiming example.test is removed, the others kept", fields)
        t.ok("X-Other: keep me\n" in msg and "Subject: forged\n" in msg, "other fields are untouched")
        t.ok("\n\nAuthentication-Results: example.test; this is the body\n" in msg, "the body is untouched")
        t.ok("Received: from " in msg.split("\n\n")[0], "the Received line is still there")

        # --- control/authservid --------------------------------------------
        q.control("authservid", "mx.example.test")
        body = ("Authentication-Results: mx.example.test; spf=pass\r\n"
                "Authentication-Results: example.test; spf=pass\r\nSubject: x\r\n\r\nhi\r\n")
        lines, msg = session(q, cap, "198.51.100.1", "c.test", "u@pass.test", body=body)
        fields = header_fields(msg or "")
        t.eq(ids(fields), ["mx.example.test", "example.test"],
             "control/authservid names us: its fields go, control/me's stay", fields)
        t.eq(spf_of(fields[0]) if fields else None, "fail", "policy 0 only records fail")
        os.unlink(q.path("control/authservid"))

        # --- control/spfpolicy -----------------------------------------------
        q.control("spfpolicy", "1")
        lines, msg = session(q, cap, "198.51.100.1", "c.test", "u@pass.test")
        t.ok(mail_reply(lines).startswith("550 5.7.23 "), "policy 1 refuses fail at MAIL", lines)
        t.ok(msg is None, "and nothing is queued")
        lines, msg = session(q, cap, "198.51.100.1", "pass.test", "")
        t.ok(mail_reply(lines).startswith("550 5.7.23 "), "a failing HELO identity with <> too", lines)
        for ip, sender, want in (("192.0.2.10", "u@pass.test", "pass"), ("198.51.100.1", "u@soft.test", "softfail"),
                                 ("192.0.2.10", "u@sub.broken.test", "temperror")):
            lines, msg = session(q, cap, ip, "c.test", sender)
            f = header_fields(msg or "")
            t.eq(spf_of(f[0]) if f else None, want, "policy 1 accepts " + want, lines)
        lines, msg = session(q, cap, "198.51.100.1", "c.test", "u@pass.test", env={"RELAYCLIENT": ""})
        f = header_fields(msg or "")
        t.eq(f, ["Authentication-Results: example.test; none"], "a RELAYCLIENT client is not checked", lines)
        cp = os.path.join(cap.dir, "checkpw")
        with open(cp, "w") as f:
            f.write("#!/bin/sh\ncat <&3 >/dev/null\nexec \"$@\"\n")
        os.chmod(cp, 0o755)
        lines, msg = session(q, cap, "127.0.0.1", "c.test", "joe@example.test",
                        env={"AUTHPLAINLOOPBACK": "1"},
                        auth=base64.b64encode(b"\0joe\0pw").decode(), args=[cp, "/bin/true"])
        f = header_fields(msg or "")
        t.eq(f, ["Authentication-Results: example.test; auth=pass smtp.auth=joe"],
             "an authenticated client is not checked; its login is recorded", lines)
        q.control("spfpolicy", "2")
        lines, msg = session(q, cap, "192.0.2.10", "c.test", "u@sub.broken.test")
        t.ok(mail_reply(lines).startswith("451 4.4.3 "), "policy 2 defers temperror", lines)
        t.ok(msg is None, "and nothing is queued")
        q.control("spfpolicy", "7")
        lines, msg = session(q, cap, "192.0.2.10", "c.test", "u@pass.test")
        t.ok(lines and lines[0].startswith("421 "), "a bad control/spfpolicy is a temporary failure", lines)
        os.unlink(q.path("control/spfpolicy"))

    # --- every message received over SMTP, delivered --------------------------
    def delivered(q, tag):
        prepare(q)
        q.control("dnsservers", d.server_line())
        q.start()
        with Server(q) as s:
            c = smtplib.SMTP("127.0.0.1", s.port, timeout=30)
            c.sendmail("a@pass.test", ["postmaster@example.test"],
                       "Authentication-Results: example.test; spf=pass\r\nSubject: e2e\r\n\r\nhi\r\n")
            c.quit()
        ok = q.wait(lambda: q.maildir_count("alias/Maildir") >= 1, 20)
        t.ok(ok, tag + ": delivered", q.logtext()[-500:])
        texts = q.maildir_texts("alias/Maildir") if ok else []
        m = texts[0] if texts else ""
        if isinstance(m, bytes):
            m = m.decode("utf-8", "replace")
        f = header_fields(m)
        t.eq(len(f), 1, tag + ": exactly one Authentication-Results field", f)
        t.ok(f and f[0].startswith("Authentication-Results: example.test;"), tag + ": it is ours", f)
        # libspf2 lets a loopback client pass without looking at DNS
        t.eq(spf_of(f[0]) if f else None, "pass", tag + ": spf=pass for a loopback client", f)

    with Instance(t) as q:
        delivered(q, "root")
    if IS_ROOT:
        o = TestUser(unique_user("sp"))
        try:
            with Instance(t, mode="single", owner=o.name) as q:
                delivered(q, "single-user")
        finally:
            o.remove()
finally:
    d.stop()
t.done()
