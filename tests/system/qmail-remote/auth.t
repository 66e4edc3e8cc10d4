#!/usr/bin/env python3
# A smarthost with authentication (qmail-remote(8)): control/smtproutes
# names the relay, control/smtpauth holds its credentials (never in
# smtproutes); AUTH PLAIN (or LOGIN when that is all the relay offers) is
# sent only over TLS — a relay without STARTTLS gets no password and the
# delivery is deferred; refused credentials defer with the relay's text;
# control/authsenders routes the mail of a sender (address or @domain)
# through another relay with other credentials. Relays on 127.0.0.76-77.
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, remote, make_cert

t = Tap()
MSG = "Subject: auth\n\nx\n"
certs = tempfile.mkdtemp(prefix="nqt-certs-")
os.chmod(certs, 0o755)


def lets(reps):
    return "".join(l for l, _ in reps)


try:
    cert = make_cert(certs, "smart", ["smart.test"], self_signed=True)
    with Instance(t, name="example.test") as q, Dns(["host-record=smart.test,127.0.0.76"]) as d:
        q.control("dnsservers", d.server_line())
        q.control("smtproutes", ":smart.test:2587")   # relays on their own ports
        q.control("authsenders", "@boss.test:[127.0.0.77]:2588\nfree@boss.test:smart.test:2587\n")
        q.write("control/smtpauth", "smart.test:joe:s3cret:with:colons\n@boss.test:boss:b0ss\n", mode=0o600,
                owner="qmailr" if q.mode == "root" else None)
        with Sink("127.0.0.76", port=2587, cert=cert, auth=("joe", "s3cret:with:colons")) as s:
            reps, _ = remote(q, "far.test", "me@example.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "rK" and len(s.messages) == 1 and s.messages[0].tls, "AUTH PLAIN over TLS to the smarthost", reps)
            t.eq(s.sessions[0].auth if s.sessions else None, ("joe", "s3cret:with:colons"), "credentials from control/smtpauth")
            s.sessions.clear()
            reps, _ = remote(q, "far.test", "free@boss.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "rK" and s.sessions and s.sessions[0].auth == ("joe", "s3cret:with:colons"),
                 "authsenders: a whole address before @domain", reps)
        with Sink("127.0.0.76", port=2587, cert=cert, auth=("joe", "s3cret:with:colons"), auth_mechs="LOGIN") as s:
            reps, _ = remote(q, "far.test", "me@example.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "rK" and s.sessions and s.sessions[0].auth == ("joe", "s3cret:with:colons"), "AUTH LOGIN", reps)
        with Sink("127.0.0.76", port=2587, cert=cert, auth=("joe", "other")) as s:
            reps, _ = remote(q, "far.test", "me@example.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "Z" and "authentication was refused" in reps[0][1] and "535 5.7.8" in reps[0][1] and not s.messages,
                 "refused credentials: deferred with the relay's text", reps)
        with Sink("127.0.0.76", port=2587, auth=("joe", "s3cret:with:colons"), ext=("PIPELINING", "AUTH PLAIN LOGIN")) as s:
            reps, _ = remote(q, "far.test", "me@example.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "Z" and "only over TLS" in reps[0][1] and not s.messages, "no STARTTLS: no password sent, deferred", reps)
            t.ok(not any(c.startswith("AUTH") for x in s.sessions for c in x.cmds), "AUTH never said in plain text")
        with Sink("127.0.0.77", port=2588, cert=cert, auth=("boss", "b0ss")) as s:
            reps, _ = remote(q, "far.test", "ceo@boss.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "rK" and s.sessions and s.sessions[0].auth == ("boss", "b0ss"),
                 "authsenders: @domain to its own relay with its own credentials", reps)
        st = os.stat(q.path("control/smtpauth"))
        t.ok(st.st_mode & 0o077 == 0, "control/smtpauth stays private")
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
