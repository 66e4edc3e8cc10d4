#!/usr/bin/env python3
# qmail-send bounces: a message to an unknown local user comes back to its
# sender as an RFC 3464 multipart/report whose text part is qmail's QSBMF
# text, From MAILER-DAEMON@bouncehost, envelope sender <>; a bounce that
# fails becomes a double bounce to doublebounceto@doublebouncehost; a
# double bounce that fails is discarded and logged (triple bounce).
import email, email.policy, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()

QSBMF = ("Hi. This is the qmail-send program at %s.\n"
         "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
         "This is a permanent error; I've given up. Sorry it didn't work out.\n\n")
NOBOX = "Sorry, no mailbox here by that name. (#5.1.1)"


def one(q, box, n=1):
    if not q.wait(lambda: q.maildir_count(box) >= n, 15):
        return None
    return q.maildir_texts(box)[n - 1]


with Instance(t, name="example.test") as q:
    for box in ("joebox", "dblbox"):
        q.maildirmake("alias/" + box)
    q.write("alias/.qmail-joe", "./joebox/\n")
    q.write("alias/.qmail-dbl", "./dblbox/\n")
    q.control("doublebounceto", "dbl")
    q.control("virtualdomains", "virt.test:vu")
    q.start()

    # --- single bounce ------------------------------------------------------
    orig = "From: joe@example.test\nSubject: lost letter\nMessage-ID: <orig@example.test>\n\nline 1\nline 2\n"
    t.eq(q.queue(orig, "joe@example.test", ["nobody@example.test", "nobody@virt.test"]), 0, "queued")
    text = one(q, "alias/joebox")
    t.ok(text, "bounce delivered to the sender", q.logtext())
    text = text or ""
    t.ok(text.startswith("Return-Path: <>\n"), "envelope sender of the bounce is <>")
    msg = email.message_from_string(text, policy=email.policy.compat32)
    t.eq(msg["From"], "MAILER-DAEMON@example.test", "From: MAILER-DAEMON@bouncehost")
    t.eq(msg["To"], "joe@example.test", "To: the sender")
    t.eq(msg["Subject"], "failure notice", "Subject")
    t.ok(msg["Date"] and re.match(r"\d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000$", msg["Date"]), "Date", msg["Date"])
    t.eq(msg.get_content_type(), "multipart/report", "multipart/report")
    t.eq(msg.get_param("report-type"), "delivery-status", "report-type=delivery-status")
    parts = msg.get_payload() if msg.is_multipart() else []
    t.eq([p.get_content_type() for p in parts], ["text/plain", "message/delivery-status", "message/rfc822"],
         "three parts in RFC 3464 order")
    if len(parts) == 3:
        body = parts[0].get_payload()
        head = QSBMF % "example.test"
        tail = "--- Below this line is a copy of the message.\n"
        blocks = body[len(head):-len(tail)] if body.startswith(head) and body.endswith(tail) else ""
        # the blocks come in the order the deliveries finished
        t.eq(sorted(blocks.split("\n\n")),
             sorted(["", "<nobody@example.test>:\n" + NOBOX, "<nobody@virt.test>:\n" + NOBOX]),
             "QSBMF text exactly (virtualdomains prepend taken off)", body)
        groups = parts[1].get_payload()
        t.eq(groups[0]["Reporting-MTA"], "dns; example.test", "Reporting-MTA")
        t.ok(groups[0]["Arrival-Date"], "Arrival-Date")
        t.eq(sorted((g["Final-Recipient"], g["Action"], g["Status"]) for g in groups[1:]),
             [("rfc822; nobody@example.test", "failed", "5.1.1"), ("rfc822; nobody@virt.test", "failed", "5.1.1")],
             "per-recipient groups")
        t.ok(groups[1]["Diagnostic-Code"] == "x-qmail; " + NOBOX, "Diagnostic-Code", groups[1]["Diagnostic-Code"])
        inner = parts[2].get_payload()[0]
        t.eq(inner["Return-Path"], "<joe@example.test>", "original's Return-Path")
        t.eq(inner["Subject"], "lost letter", "original headers")
        t.eq(inner.get_payload(), "line 1\nline 2\n", "original body")
        t.ok(inner["Received"] and "qmail" in inner["Received"], "original with its Received line")
    log = q.logtext()
    m = re.search(r"^bounce msg (\d+) qp (\d+)$", log, re.M)
    t.ok(m, "bounce msg N qp P logged", log)
    if m:
        t.ok(re.search(r"^info msg \d+: bytes \d+ from <> qp %s uid \d+$" % m.group(2), log, re.M),
             "the bounce is queued as a message from <> with that qp")
        t.ok(log.index("bounce msg %s " % m.group(1)) < log.index("end msg %s\n" % m.group(1)),
             "bounce queued before end msg")
    t.ok(re.search(r"^delivery \d+: failure: Sorry,_no_mailbox_here_by_that_name._\(#5.1.1\)/$", log, re.M),
         "failure logged as qmail does")

    # --- double bounce: the bounce itself fails ---------------------------------
    q.queue("Subject: from a ghost\n\nboo\n", "ghost@example.test", ["nobody@example.test"])
    text = one(q, "alias/dblbox")
    t.ok(text, "double bounce delivered to doublebounceto", q.logtext())
    msg = email.message_from_string(text or "", policy=email.policy.compat32)
    t.eq(msg["To"], "dbl@example.test", "double bounce To: doublebounceto@doublebouncehost")
    t.ok((text or "").startswith("Return-Path: <>\n"), "double bounce sender <>")
    parts = msg.get_payload() if msg.is_multipart() else []
    if parts:
        body = parts[0].get_payload()
        t.ok(body.startswith("Hi. This is the qmail-send program at example.test.\n"
                             "I tried to deliver a bounce message to this address, but the bounce bounced!\n\n"
                             "<ghost@example.test>:\n" + NOBOX + "\n\n"), "double bounce text", body)
        t.ok(body.endswith("--- Below this line is the original bounce.\n"), "double bounce break line")
        inner = parts[2].get_payload()[0]
        t.eq(inner["Return-Path"], "<>", "original bounce inside")
        t.eq(inner["Subject"], "failure notice", "original bounce's subject")

    # a message from <> that fails: straight to a double bounce
    q.queue("Subject: null sender\n\nx\n", "", ["nobody@example.test"])
    t.ok(one(q, "alias/dblbox", 2), "message from <> failing gives a double bounce")
    q.stop()

    # --- triple bounce: doublebounceto does not exist -----------------------------
    q.control("doublebounceto", "nothere")
    q.control("bouncefrom", "Postmeister")
    q.control("bouncehost", "bounces.example.test")
    q.start()
    before = q.maildir_count("alias/dblbox")
    q.queue("Subject: doomed\n\nx\n", "", ["nobody@example.test"])
    t.ok(q.wait(lambda: "triple bounce: discarding bounce/" in q.logtext(), 15), "triple bounce logged", q.logtext())
    m = re.search(r"^triple bounce: discarding bounce/(\d+)$", q.logtext(), re.M)
    t.ok(m and not os.path.exists(q.path("queue/bounce/" + m.group(1))), "bounce/N removed")
    t.ok(q.wait(lambda: re.search(r"^end msg %s$" % (m.group(1) if m else "x"), q.logtext(), re.M), 5),
         "discarded message ends")
    t.eq(q.maildir_count("alias/dblbox"), before, "nothing delivered for the triple bounce")
    t.eq(len(re.findall(r"^bounce msg ", q.logtext(), re.M)), 5, "one double bounce for it, then nothing (five bounces in all)")

    # bouncefrom and bouncehost
    q.queue("Subject: again\n\nx\n", "joe@example.test", ["nobody@example.test"])
    one(q, "alias/joebox", 2)
    text = ([x for x in q.maildir_texts("alias/joebox") if "Subject: again" in x] or [""])[0]
    msg = email.message_from_string(text, policy=email.policy.compat32)
    t.eq(msg["From"], "Postmeister@bounces.example.test", "From: bouncefrom@bouncehost")
    t.ok("Hi. This is the qmail-send program at bounces.example.test.\n" in text, "greeting names bouncehost")
t.done()
