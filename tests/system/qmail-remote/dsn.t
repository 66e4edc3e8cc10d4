#!/usr/bin/env python3
# Bounces of remote failures (issue 5, RFC 3464): a recipient refused by
# the remote server with 550 bounces as a multipart/report whose
# delivery-status group names the server (Remote-MTA: dns; 127.0.0.130),
# its reply (Diagnostic-Code: smtp; 550 5.1.1 ...) and its enhanced code
# (Status: 5.1.1); a refusal without an enhanced code gets 5.0.0; the
# human part keeps qmail's text; a local failure in the same bounce
# keeps its x-qmail diagnostic. The sink is on 127.0.0.130, reached
# through control/smtproutes, so no DNS is involved.
# smoke
import email, email.policy, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink

t = Tap()


def rcpt(a):
    if a.startswith("gone"):
        return "550-5.1.1 the mailbox gone does not exist\r\n550 5.1.1 try another"
    if a.startswith("plain"):
        return "550 no such user"
    return "250 ok"


def groups(msg):
    """The delivery-status groups of a bounce: [per-message, per-recipient...]."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            return [dict((k.lower(), str(v)) for k, v in g.items()) for g in part.get_payload()]
    return []


with Instance(t, name="example.test") as q, Sink("127.0.0.130", rcpt=rcpt) as s:
    q.control("smtproutes", ":[127.0.0.130]:2525")
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    q.start()
    q.queue("Subject: hi\n\nbody\n", "joe@example.test",
            ["ok@far.test", "gone@far.test", "plain@far.test", "nobody-here@example.test"])
    t.ok(q.wait(lambda: re.search(r"^end msg", q.logtext(), re.M) and q.maildir_count("alias/joebox") == 1, 30),
         "delivered, bounced, done", q.logtext())
    s.settle()
    t.ok(len(s.messages) == 1 and s.messages[0].rcpts == ["ok@far.test"], "the accepted recipient got it", s.messages)
    texts = q.maildir_texts("alias/joebox")
    raw = texts[0] if texts else ""
    m = email.message_from_string(raw, policy=email.policy.compat32)
    t.eq(m.get_content_type(), "multipart/report", "bounce is multipart/report", raw[:400])
    t.eq(m.get_param("report-type"), "delivery-status", "report-type=delivery-status")
    parts = m.get_payload() if m.is_multipart() else []
    human = parts[0].get_payload() if parts else ""
    t.ok("<gone@far.test>:\n127.0.0.130 does not like recipient.\n"
         "Remote host said: 550-5.1.1 the mailbox gone does not exist\n550 5.1.1 try another\n\n" in human, "human part keeps qmail's text", human)
    g = groups(m)
    t.eq(g[0].get("reporting-mta") if g else None, "dns; example.test", "per-message Reporting-MTA")
    by = dict((x.get("final-recipient", "").split("; ")[-1], x) for x in g[1:])
    t.eq(sorted(by), ["gone@far.test", "nobody-here@example.test", "plain@far.test"], "one group per failed recipient", g)
    gone = by.get("gone@far.test", {})
    t.eq(gone.get("action"), "failed", "Action: failed")
    t.eq(gone.get("status"), "5.1.1", "Status: the server's enhanced code")
    t.eq(gone.get("remote-mta"), "dns; 127.0.0.130", "Remote-MTA: dns; the server")
    t.eq(re.sub(r"\s+", " ", gone.get("diagnostic-code", "")),
         "smtp; 550 5.1.1 the mailbox gone does not exist try another", "Diagnostic-Code: smtp; the whole reply")
    plain = by.get("plain@far.test", {})
    t.eq(plain.get("status"), "5.0.0", "no enhanced code: 5.0.0 from the reply's class")
    t.eq(plain.get("diagnostic-code"), "smtp; 550 no such user", "Diagnostic-Code without an enhanced code")
    t.eq(plain.get("remote-mta"), "dns; 127.0.0.130", "its Remote-MTA")
    loc = by.get("nobody-here@example.test", {})
    t.ok(loc.get("diagnostic-code", "").startswith("x-qmail; ") and "remote-mta" not in loc,
         "local failure: x-qmail diagnostic, no Remote-MTA", loc)
    q.stop()
t.done()
