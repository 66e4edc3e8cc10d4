#!/usr/bin/env python3
# DMARC in qmail-smtpd (doc/qmail-smtpd.8, control/dmarcpolicy): records
# served by dnsmasq, messages signed by python3-dkim. Alignment relaxed
# (a signature by a subdomain passes) and strict (it does not; nor does
# SPF for a subdomain); a pass through SPF alone and through DKIM alone;
# a From subdomain with no record of its own gets the Organizational
# Domain's sp=; no record: none; a malformed record: permerror; a DNS
# failure: temperror; two From fields: permerror. Enforcement: by default
# a p=reject failure is only recorded (dmarc=fail, delivered); with
# control/dmarcpolicy reject it is refused after DATA with 550 5.7.1 and
# nothing is queued; quarantine adds X-DMARC-Quarantine: yes; clients we
# relay for are never refused. The same through tcpserver and qmail-send
# into a Maildir, root and single-user instances, where the .qmail line
# of qmail-control(5) sets the marked message aside.
import os, smtplib, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkimvlib import (RSAKey, txt, message, sign, session, data_reply, results, one,  # noqa: E402
                      Queue, header_fields)
from nqtest import Tap, Instance, TestUser, unique_user, IS_ROOT  # noqa: E402
from remotelib import Dns  # noqa: E402
from smtpdlib import Server, prepare  # noqa: E402

t = Tap()
key = RSAKey(1024)
GOOD, BAD = "192.0.2.10", "198.51.100.1"     # inside and outside every SPF record
SPF = "v=spf1 ip4:192.0.2.0/24 -all"
DNS = []
for dom in ("example.test", "mail.example.test", "strict.test", "mail.strict.test", "relaxed.test",
            "mail.relaxed.test", "rej.test", "q.test", "nodmarc.test", "bad.test", "x.broken.test"):
    DNS.append(txt("sel._domainkey." + dom, key.record()))
    DNS.append(txt(dom, SPF))
DNS += [txt("other.test", "v=spf1 -all"),
        txt("_dmarc.example.test", "v=DMARC1; p=reject; sp=none"),
        txt("_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s"),
        txt("_dmarc.relaxed.test", "v=DMARC1; p=reject"),
        txt("_dmarc.rej.test", "v=DMARC1; p=none; sp=reject"),
        txt("_dmarc.q.test", "v=DMARC1; p=quarantine"),
        txt("_dmarc.bad.test", "v=DMARC1; p=bogus"),
        txt("_dmarc.nodmarc.test", "v=spf1 -all")]
d = Dns(DNS, servfail=("broken.test",))
cap = Queue()


def comment(got):
    r = results(got, "dmarc")
    return r[0][2] if r else None


def fromprop(got):
    r = results(got, "dmarc")
    return r[0][1].get("header.from") if r else None


try:
    d.start()
    with Instance(t) as q:
        q.control("dnsservers", d.server_line())

        # --- alignment -------------------------------------------------------------
        m = sign(message(frm="a@relaxed.test"), key, "mail.relaxed.test")
        lines, got = session(q, cap, m, ip=BAD, sender="u@other.test")
        t.eq((one(got, "dkim"), one(got, "dmarc")), ("pass", "pass"),
             "relaxed: a signature by a subdomain aligns", header_fields(got or ""))
        t.eq(fromprop(got), "relaxed.test", "header.from is the From domain")
        m = sign(message(frm="a@strict.test"), key, "mail.strict.test")
        lines, got = session(q, cap, m, ip=BAD, sender="u@other.test")
        t.eq((one(got, "dkim"), one(got, "dmarc")), ("pass", "fail"),
             "strict (adkim=s): the same signature does not align", header_fields(got or ""))
        t.eq(comment(got), "p=reject dis=none", "the comment names the policy and what we did")
        lines, got = session(q, cap, message(frm="a@strict.test"), ip=GOOD, sender="u@mail.strict.test")
        t.eq((one(got, "spf"), one(got, "dmarc")), ("pass", "fail"), "strict (aspf=s): SPF for a subdomain does not align")
        lines, got = session(q, cap, message(frm="a@relaxed.test"), ip=GOOD, sender="u@mail.relaxed.test")
        t.eq((one(got, "spf"), one(got, "dmarc")), ("pass", "pass"), "relaxed: SPF for a subdomain aligns")

        # --- through SPF alone, DKIM alone -------------------------------------------------
        lines, got = session(q, cap, message(frm="a@example.test"), ip=GOOD, sender="u@example.test")
        t.eq((one(got, "spf"), one(got, "dkim"), one(got, "dmarc")), ("pass", "none", "pass"),
             "pass through SPF alone (no signature)")
        m = sign(message(frm="a@example.test"), key, "example.test")
        lines, got = session(q, cap, m, ip=BAD, sender="u@other.test")
        t.eq((one(got, "spf"), one(got, "dkim"), one(got, "dmarc")), ("fail", "pass", "pass"),
             "pass through DKIM alone (SPF fails for another domain)")
        m = sign(message(frm="a@example.test"), key, "other.test")
        lines, got = session(q, cap, m, ip=GOOD, sender="u@other.test")
        t.eq(one(got, "dmarc"), "fail", "a passing signature and SPF of another domain do not align",
             header_fields(got or ""))

        # --- policy discovery --------------------------------------------------------------
        lines, got = session(q, cap, message(frm="a@sub.example.test"), ip=BAD, sender="u@other.test")
        t.eq((one(got, "dmarc"), comment(got)), ("fail", "p=none dis=none"),
             "a subdomain without a record gets the Organizational Domain's sp=none", header_fields(got or ""))
        t.eq(fromprop(got), "sub.example.test", "header.from is still the subdomain")
        lines, got = session(q, cap, message(frm="a@x.rej.test"), ip=BAD, sender="u@other.test")
        t.eq(comment(got), "p=reject dis=none", "sp=reject applies to the subdomain, not p=none")
        lines, got = session(q, cap, message(frm="a@rej.test"), ip=BAD, sender="u@other.test")
        t.eq(comment(got), "p=none dis=none", "and p=none to the domain itself")
        lines, got = session(q, cap, message(frm="a@nodmarc.test"), ip=BAD, sender="u@other.test")
        t.eq(results(got, "dmarc"), [("none", {"header.from": "nodmarc.test"}, "")],
             "no DMARC record (only a TXT that is not one): none")
        lines, got = session(q, cap, message(frm="a@bad.test"), ip=BAD, sender="u@other.test")
        t.eq(one(got, "dmarc"), "permerror", "a malformed record: permerror")
        lines, got = session(q, cap, message(frm="a@x.broken.test"), ip=BAD, sender="u@other.test")
        t.eq(one(got, "dmarc"), "temperror", "the record's DNS lookup fails: temperror")
        lines, got = session(q, cap, message(frm="a@example.test", extra="From: b@example.test\r\n"),
                             ip=GOOD, sender="u@example.test")
        t.eq(one(got, "dmarc"), "permerror", "two From fields: permerror")

        # --- enforcement ---------------------------------------------------------------------
        fail_reject = message(frm="Boss <boss@relaxed.test>", subject="forged")
        lines, got = session(q, cap, fail_reject, ip=BAD, sender="u@other.test")
        t.ok(data_reply(lines).startswith("250 ") and one(got, "dmarc") == "fail",
             "default (record only): a p=reject failure is accepted with dmarc=fail", lines)
        t.ok("X-DMARC-Quarantine" not in (got or ""), "and not marked")
        q.control("dmarcpolicy", "reject")
        lines, got = session(q, cap, fail_reject, ip=BAD, sender="u@other.test")
        t.ok(data_reply(lines).startswith("550 5.7.1 "), "dmarcpolicy reject: 550 5.7.1 after DATA", lines)
        t.ok(got is None, "and nothing is queued")
        lines, got = session(q, cap, message(frm="a@q.test"), ip=BAD, sender="u@other.test")
        t.ok(data_reply(lines).startswith("250 "), "dmarcpolicy reject: a p=quarantine failure is accepted", lines)
        t.ok((got or "").split("\n\n")[0].count("\nX-DMARC-Quarantine: yes\n") == 1, "and marked X-DMARC-Quarantine: yes",
             (got or "")[:600])
        t.eq(comment(got), "p=quarantine dis=quarantine", "the comment says so")
        lines, got = session(q, cap, fail_reject, ip=BAD, sender="u@other.test", env={"RELAYCLIENT": ""})
        t.ok(data_reply(lines).startswith("250 ") and results(got, "dmarc") == [],
             "a RELAYCLIENT client is not checked, so not refused", lines)
        lines, got = session(q, cap, sign(message(frm="Boss <boss@relaxed.test>"), key, "relaxed.test"),
                             ip=BAD, sender="u@other.test")
        t.ok(data_reply(lines).startswith("250 ") and one(got, "dmarc") == "pass", "a passing message is accepted", lines)
        q.control("dmarcpolicy", "quarantine")
        lines, got = session(q, cap, fail_reject, ip=BAD, sender="u@other.test")
        t.ok(data_reply(lines).startswith("250 ") and "\nX-DMARC-Quarantine: yes\n" in (got or ""),
             "dmarcpolicy quarantine: a p=reject failure is accepted and marked", lines)
        t.eq(comment(got), "p=reject dis=quarantine", "the comment says so")
        q.control("dmarcpolicy", "bounce")
        lines, got = session(q, cap, fail_reject, ip=BAD, sender="u@other.test")
        t.ok(lines and lines[0].startswith("421 "), "an unknown control/dmarcpolicy is a temporary failure", lines)
        os.unlink(q.path("control/dmarcpolicy"))

    # --- the whole path -----------------------------------------------------------------
    def delivered(q, tag):
        prepare(q)
        q.control("dnsservers", d.server_line())
        q.control("dmarcpolicy", "reject")
        # the .qmail line of qmail-control(5): marked mail set aside
        q.write("alias/.qmail-postmaster",
                "|%s postmaster-junk@%s sh -c 'sed \"/^$/q\" | grep -q \"^X-DMARC-Quarantine: yes\"'\n./Maildir/\n"
                % (q.bin("condredirect"), q.name))
        q.write("alias/.qmail-postmaster-junk", "./Junk/\n")
        q.maildirmake("alias/Junk")
        q.start()
        with Server(q) as s:
            c = smtplib.SMTP("127.0.0.1", s.port, timeout=30)
            c.sendmail("u@example.test", ["postmaster@example.test"],
                       sign(message(frm="a@example.test", subject="e2e"), key, "example.test"))
            try:
                c.sendmail("u@other.test", ["postmaster@example.test"], message(frm="a@relaxed.test", subject="refused"))
                code = 250
            except smtplib.SMTPDataError as e:
                code = e.smtp_code
            c.sendmail("u@other.test", ["postmaster@example.test"], message(frm="a@q.test", subject="quarantined"))
            c.quit()
        t.eq(code, 550, tag + ": a p=reject failure is refused")
        ok = q.wait(lambda: q.maildir_count("alias/Maildir") >= 1 and q.maildir_count("alias/Junk") >= 1, 20)
        t.ok(ok, tag + ": the signed message and the quarantined one are delivered", q.logtext()[-500:])

        def texts(rel):
            out = []
            for m in q.maildir_texts(rel):
                out.append(m.decode("utf-8", "replace") if isinstance(m, bytes) else m)
            return out
        inbox, junk = texts("alias/Maildir"), texts("alias/Junk")
        m = inbox[0] if inbox else ""
        f = header_fields(m)
        t.eq(len(f), 1, tag + ": one Authentication-Results field", f)
        t.eq((one(m, "spf"), one(m, "dkim"), one(m, "dmarc")), ("pass", "pass", "pass"),
             tag + ": spf, dkim and dmarc pass", f)
        j = junk[0] if junk else ""
        t.ok("Subject: quarantined\n" in j and "\nX-DMARC-Quarantine: yes\n" in j and one(j, "dmarc") == "fail",
             tag + ": the p=quarantine failure is marked, and the .qmail line set it aside", j[:600])
        t.ok(q.wait(lambda: q.queue_count() == 0, 10) and len(inbox) == 1 and len(junk) == 1,
             tag + ": nothing else was queued or delivered", (len(inbox), len(junk)))

    with Instance(t) as q:
        delivered(q, "root")
    if IS_ROOT:
        o = TestUser(unique_user("dv"))
        try:
            with Instance(t, mode="single", owner=o.name) as q:
                delivered(q, "single-user")
        finally:
            o.remove()
finally:
    d.stop()
t.done()
