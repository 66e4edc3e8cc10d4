#!/usr/bin/env python3
# qmail-remote's STARTTLS and control/tlsdestinations (qmail-remote(8)):
# "may" (the default) uses TLS when offered without checking, and retries
# once in plain text when the handshake fails; "none" never uses it;
# "encrypt" requires it; "verify" requires a certificate valid for the
# exchanger's name that chains to the given CA file (or the system's
# store) — and each failing twin (wrong name, untrusted CA, expired,
# no STARTTLS) defers with nothing at the sink; data sent after the
# STARTTLS reply is an attack: the session is dropped. The report (and so
# qmail-send's log) says the TLS version and whether the peer was
# verified. Certificates are made here with openssl; sinks 127.0.0.70-75.
import os, re, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, remote, make_ca, make_cert, MXROUTE

t = Tap()
MSG = "Subject: tls\n\nsecret\n"
certs = tempfile.mkdtemp(prefix="nqt-certs-")
os.chmod(certs, 0o755)
try:
    ca = make_ca(certs)
    good = make_cert(certs, "good", ["mx.tls.test"])
    wrong = make_cert(certs, "wrong", ["other.test"])
    expired = make_cert(certs, "expired", ["mx.tls.test"], days=-1)
    selfs = make_cert(certs, "self", ["mx.tls.test"], self_signed=True)
    DNS = ["mx-host=tls.test,mx.tls.test,10", "host-record=mx.tls.test,127.0.0.70"]

    def lets(reps):
        return "".join(l for l, _ in reps)

    with Instance(t, name="example.test") as q, Dns(DNS) as d:
        q.control("dnsservers", d.server_line())
        q.control("smtproutes", MXROUTE)

        with Sink("127.0.0.70", cert=selfs) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls, "may (default): STARTTLS with a self-signed certificate", reps)
            t.ok(reps and re.search(r"^TLS: TLSv1\.[23] \S+, certificate not verified\.$", reps[-1][1], re.M),
                 "the report names the TLS version, not verified", reps)
            cmds = s.sessions[0].cmds if s.sessions else []
            t.ok(cmds[:3] == ["EHLO example.test", "STARTTLS", "EHLO example.test"], "EHLO again after STARTTLS", cmds)
        with Sink("127.0.0.70", cert=selfs, tls_fail=True) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.sessions) == 2 and s.messages and not s.messages[0].tls,
                 "may: a failed handshake is retried once in plain text", (reps, len(s.sessions)))

        q.control("tlsdestinations", "tls.test:none")
        with Sink("127.0.0.70", cert=selfs) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and not s.messages[0].tls and "STARTTLS" not in s.sessions[0].cmds,
                 "none: no STARTTLS", reps)

        q.control("tlsdestinations", ".example:none\n:encrypt")
        with Sink("127.0.0.70") as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "Z" and "#4.7.4" in reps[0][1] and not s.messages, "encrypt, no STARTTLS offered: deferred", reps)
        with Sink("127.0.0.70", cert=wrong) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages[0].tls, "encrypt: any certificate", reps)
        with Sink("127.0.0.70", cert=selfs, tls_fail=True) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "Z" and "TLS handshake failed" in reps[0][1] and not s.messages,
                 "encrypt: a failed handshake defers, never plain text", reps)

        q.control("tlsdestinations", "tls.test:verify:" + ca)
        for cert, what in ((wrong, "wrong name"), (selfs, "untrusted CA"), (expired, "expired")):
            with Sink("127.0.0.70", cert=cert) as s:
                reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
                t.ok(lets(reps) == "Z" and "#4.7.5" in reps[0][1] and not s.messages, "verify, " + what + ": deferred, nothing sent", reps)
        with Sink("127.0.0.70", cert=good) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls, "verify: valid for the exchanger's name, trusted CA", reps)
            t.ok(reps and "certificate verified." in reps[-1][1], "the report says verified", reps)
        q.control("tlsdestinations", "tls.test:verify")
        with Sink("127.0.0.70", cert=good) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "Z" and not s.messages, "verify against the system store: our test CA is not in it", reps)

        q.control("tlsdestinations", ":may")
        with Sink("127.0.0.70", cert=selfs, starttls_inject=True) as s:
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "Z" and "attack" in reps[0][1] and not s.messages, "data after the STARTTLS reply: dropped", reps)
            t.ok(all("MAIL" not in c for x in s.sessions for c in x.cmds), "no envelope sent in that session")

        # through qmail-send: the log line
        q.control("tlsdestinations", "tls.test:verify:" + ca)
        with Sink("127.0.0.70", cert=good) as s:
            q.start()
            q.queue(MSG, "joe@example.test", ["b@tls.test"])
            t.ok(q.wait(lambda: re.search(r"success: 127\.0\.0\.70_accepted_message\./Remote_host_said:_250_ok:_queued_as_1234/"
                                          r"TLS:_TLSv1\.[23]_\S+,_certificate_verified\./", q.logtext()), 20),
                 "qmail-send's log line says TLS and verified", q.logtext())
            q.stop()
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
