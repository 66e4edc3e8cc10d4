#!/usr/bin/env python3
# SMTPUTF8 (RFC 6531) beyond smtp.t: a message "needs" SMTPUTF8 when its
# envelope or its header holds UTF-8 (RFC 6531 3.2: without the
# extension the client MUST NOT send internationalized addresses, nor a
# message with internationalized headers, RFC 6532). To a peer that
# offers only 8BITMIME: a non-ASCII envelope sender, and a UTF-8 address
# in the From: field, each fail permanently (#5.6.x) with nothing sent;
# a UTF-8 body alone goes as BODY=8BITMIME. To a peer with SMTPUTF8 the
# same messages go with SMTPUTF8 on MAIL. Through qmail-send, the failure
# is a bounce whose delivery-status keeps the 5.6.7 code. Sink on
# 127.0.0.194 (port 2525), reached through control/smtproutes.
import email, email.policy, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, remote, PORT

t = Tap()
NO = ("PIPELINING", "8BITMIME")
YES = ("PIPELINING", "8BITMIME", "SMTPUTF8")
UTFHDR = "From: J\u00f6rg <j\u00f6rg@example.test>\nTo: a@far.test\nSubject: gr\u00fc\u00dfe\n\nhello\n".encode()
UTFBODY = "From: joe@example.test\nSubject: plain\n\nna\u00efve caf\u00e9\n".encode()


def lets(reps):
    return "".join(l for l, _ in reps)


def mail_cmd(s):
    for x in s.sessions:
        for c in x.cmds:
            if c.upper().startswith("MAIL FROM:"):
                return c
    return ""


with Instance(t, name="example.test") as q:
    q.control("smtproutes", ":[127.0.0.194]:%d" % PORT)

    # ---- a peer without SMTPUTF8 --------------------------------------------
    with Sink("127.0.0.194", ext=NO) as s:
        reps, _ = remote(q, "far.test", "j\u00f6rg@example.test", ["a@far.test"], "Subject: x\n\nx\n")
        t.ok(lets(reps) == "D" and "#5.6.7" in reps[-1][1], "non-ASCII envelope sender, no SMTPUTF8: permanent #5.6.7", reps)
        t.ok(not s.messages and not mail_cmd(s), "and no MAIL sent", [x.cmds for x in s.sessions])
        s.sessions.clear()
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], UTFBODY)
        t.ok(lets(reps) == "rK" and len(s.messages) == 1, "UTF-8 in the body only: delivered", reps)
        t.ok("BODY=8BITMIME" in mail_cmd(s) and "SMTPUTF8" not in mail_cmd(s), "as BODY=8BITMIME", mail_cmd(s))
        s.sessions.clear()
        s.messages.clear()
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], UTFHDR)
        t.ok(lets(reps) == "D" and re.search(r"#5\.6\.[79]\)", reps[-1][1]),
             "UTF-8 address in the header, no SMTPUTF8: permanent (RFC 6531 3.2)", reps)
        t.eq(len(s.messages), 0, "and the message is not sent")

    # ---- a peer with SMTPUTF8 -----------------------------------------------
    with Sink("127.0.0.194", ext=YES) as s:
        reps, _ = remote(q, "far.test", "j\u00f6rg@example.test", ["a@far.test"], "Subject: x\n\nx\n")
        t.ok(lets(reps) == "rK" and "SMTPUTF8" in mail_cmd(s), "non-ASCII sender with SMTPUTF8", (reps, mail_cmd(s)))
        t.ok(s.messages and s.messages[0].mailfrom == "j\u00f6rg@example.test", "the sender as UTF-8 on the wire", s.messages)
        s.sessions.clear()
        reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], UTFHDR)
        t.ok(lets(reps) == "rK" and "SMTPUTF8" in mail_cmd(s), "UTF-8 header with SMTPUTF8", (reps, mail_cmd(s)))

    # ---- through qmail-send: the bounce keeps 5.6.7 -------------------------
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    with Sink("127.0.0.194", ext=NO) as s:
        q.start()
        q.queue("Subject: intl\n\nx\n", "joe@example.test", ["\u00fcser@far.test"])
        t.ok(q.wait(lambda: q.maildir_count("alias/joebox") == 1, 20), "bounced", q.logtext()[-1500:])
        text = (q.maildir_texts("alias/joebox") or [""])[0]
        t.ok("does not support SMTPUTF8. (#5.6.7)" in text, "bounce text says why", text[:1200])
        m = email.message_from_string(text, policy=email.policy.compat32)
        st = None
        for part in m.walk():
            if part.get_content_type() == "message/delivery-status":
                groups = part.get_payload()
                st = str(groups[1].get("Status")) if len(groups) > 1 else None
        t.eq(st, "5.6.7", "delivery-status Status: 5.6.7")
        t.eq(len(s.messages), 0, "nothing at the sink")
        q.stop()
t.done()
