#!/usr/bin/env python3
# DKIM verification in qmail-smtpd (doc/qmail-smtpd.8): messages signed by
# Debian's python3-dkim, keys served by dnsmasq through control/dnsservers.
# RSA (a 1024-bit key in one TXT string, a 2048-bit one cut into several),
# Ed25519 (RFC 8463) and a message with both signatures get dkim=pass, one
# result per signature with header.d, header.s and header.b; a changed
# body or Subject, or a wrong key in DNS, gives fail; an expired x= or a
# missing key permerror (a future x= still passes: the signature itself is
# good); a DNS failure temperror; an unsigned message dkim=none. The
# signed message is queued byte for byte as sent; a forged
# Authentication-Results field in our name is removed without breaking
# the signature; control/dkimverify 0 and RELAYCLIENT clients get no
# dkim or dmarc result.
# smoke
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkimvlib import (RSAKey, EdKey, txt, message, sign, sign_times, session, data_reply,  # noqa: E402
                      results, one, Queue, header_fields)
from nqtest import Tap, Instance  # noqa: E402
from remotelib import Dns  # noqa: E402

t = Tap()
rsa, rsa2, ed, other = RSAKey(1024), RSAKey(2048), EdKey(), RSAKey(1024)
DNS = [txt("sel._domainkey.example.test", rsa.record()),
       txt("big._domainkey.example.test", rsa2.record()),
       txt("ed._domainkey.example.test", ed.record()),
       txt("wrong._domainkey.example.test", other.record()),
       "txt-record=example.test,v=spf1 ip4:192.0.2.0/24 -all",
       txt("_dmarc.example.test", "v=DMARC1; p=none")]
d = Dns(DNS, servfail=("broken.test",))
cap = Queue()
try:
    d.start()
    with Instance(t) as q:
        q.control("dnsservers", d.server_line())

        msg = sign(message(), rsa, "example.test")
        lines, got = session(q, cap, msg)
        t.ok(data_reply(lines).startswith("250 "), "a signed message is accepted", lines)
        r = results(got, "dkim")
        t.eq([x[0] for x in r], ["pass"], "RSA-SHA256 (1024-bit key, one TXT string): dkim=pass", r)
        props = r[0][1] if r else {}
        t.eq((props.get("header.d"), props.get("header.s")), ("example.test", "sel"),
             "header.d and header.s name the signer", props)
        b = props.get("header.b", "")
        t.ok(len(b) >= 8 and b"b=" + b.encode() in msg.replace(b"\r\n\t", b"").replace(b"\r\n ", b"").replace(b" ", b""),
             "header.b is the start of the signature's b= (%s)" % b)
        body = (got or "").split("\n\n", 1)
        t.eq(body[1] if len(body) > 1 else None, "hello\n.leading dot\n", "the body is queued as sent")
        t.ok("\nDKIM-Signature: v=1; a=rsa-sha256;" in "\n" + (got or ""), "the signature field is kept")
        t.eq(one(got, "dmarc"), "pass", "and DMARC passes through the aligned signature")

        lines, got = session(q, cap, sign(message(subject="two keys"), rsa2, "example.test", "big"))
        t.eq(one(got, "dkim"), "pass", "RSA 2048-bit key cut into several TXT strings: pass", results(got, "dkim"))

        lines, got = session(q, cap, sign(message(subject="ed"), ed, "example.test", "ed"))
        t.eq(one(got, "dkim"), "pass", "Ed25519-SHA256 (RFC 8463): pass", results(got, "dkim"))

        both = sign(sign(message(subject="both"), rsa, "example.test"), ed, "example.test", "ed")
        lines, got = session(q, cap, both)
        r = results(got, "dkim")
        t.eq(sorted((x[0], x[1].get("header.s")) for x in r), [("pass", "ed"), ("pass", "sel")],
             "two signatures: two results, each with its selector", r)
        t.ok(len(r) == 2 and r[0][1].get("header.b") != r[1][1].get("header.b"), "header.b tells them apart", r)

        # --- failures -------------------------------------------------------------
        signed = sign(message(), rsa, "example.test")
        lines, got = session(q, cap, signed.replace(b"hello", b"hullo"))
        t.eq(one(got, "dkim"), "fail", "a changed body: fail", results(got, "dkim"))
        t.ok("body hash" in (results(got, "dkim") or [("", {}, "")])[0][2], "the comment says the body hash", results(got, "dkim"))
        lines, got = session(q, cap, signed.replace(b"Subject: signed", b"Subject: changed"))
        t.eq(one(got, "dkim"), "fail", "a changed Subject: fail", results(got, "dkim"))
        lines, got = session(q, cap, sign(message(), rsa, "example.test", "wrong"), ip="198.51.100.1")
        t.eq(one(got, "dkim"), "fail", "signed with a key that is not the one in DNS: fail", results(got, "dkim"))
        t.eq(one(got, "dmarc"), "fail", "and with SPF failing too, DMARC fails (p=none: recorded only)",
             header_fields(got or ""))
        t.ok(data_reply(lines).startswith("250 "), "the message is still accepted", lines)

        now = int(time.time())
        lines, got = session(q, cap, sign_times(message(), rsa, "example.test", now - 7200, now - 3600))
        r = results(got, "dkim")
        t.eq([x[0] for x in r], ["permerror"], "an expired signature (x= an hour ago): permerror", r)
        t.ok(r and "expired" in r[0][2], "the comment says it expired", r)
        lines, got = session(q, cap, sign_times(message(), rsa, "example.test", now - 60, now + 3600))
        t.eq(one(got, "dkim"), "pass", "the same signature made with x= in the future passes", results(got, "dkim"))

        lines, got = session(q, cap, sign(message(), rsa, "example.test", "nokey"))
        t.eq(one(got, "dkim"), "permerror", "no key record: permerror", results(got, "dkim"))
        lines, got = session(q, cap, sign(message(frm="a@x.broken.test"), rsa, "x.broken.test"))
        t.eq(one(got, "dkim"), "temperror", "the key's DNS lookup fails: temperror", results(got, "dkim"))

        lines, got = session(q, cap, message(subject="unsigned"))
        t.eq(results(got, "dkim"), [("none", {}, "")], "an unsigned message: dkim=none")

        # --- our field ------------------------------------------------------------
        forged = sign(message(extra="Authentication-Results: example.test; dkim=pass header.d=evil.test\r\n"),
                      rsa, "example.test")
        lines, got = session(q, cap, forged)
        f = header_fields(got or "")
        t.eq(len(f), 1, "a forged field in our name is removed: one field is left", f)
        t.eq(one(got, "dkim"), "pass", "and the signature (made over it) still verifies", f)
        t.ok(f and f[0].startswith("Authentication-Results: example.test; spf=pass smtp.mailfrom=joe@example.test; dkim=pass"),
             "spf, then dkim, then dmarc, in one field", f)

        lines, got = session(q, cap, msg, env={"RELAYCLIENT": ""})
        t.eq(header_fields(got or ""), ["Authentication-Results: example.test; none"],
             "a RELAYCLIENT client is not checked", lines)
        q.control("dkimverify", "0")
        lines, got = session(q, cap, msg)
        t.ok(results(got, "dkim") == [] and results(got, "dmarc") == [] and one(got, "spf") == "pass",
             "control/dkimverify 0: no dkim or dmarc result, spf still", header_fields(got or ""))
        os.unlink(q.path("control/dkimverify"))
finally:
    d.stop()
t.done()
