#!/usr/bin/env python3
# DANE for SMTP (RFC 7672) with control/tlsdestinations "dane" and
# "dane-only": a zone signed here with ldns-signzone is served by Debian's
# unbound (authoritative), and a second unbound validates it with the
# zone's key as its only trust anchor; control/dnsservers names the
# validating one, so its AD bit is trusted. OpenSSL's DANE code checks
# the certificates. Cases: DANE-EE 3 1 1 matching (delivered, verified);
# its failing twins each defer with nothing at the sink: TLSA mismatch,
# bogus signature (the resolver says SERVFAIL), no STARTTLS; DANE-TA
# 2 0 1 on the test's CA (delivered); no TLSA record: "dane" is "may",
# "dane-only" defers; TLSA records from a resolver that does not
# validate (no AD) are not believed. Sinks 127.0.0.110-115.
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, SignedZone, remote, make_ca, make_cert, spki_sha256, cert_sha256, PORT, MXROUTE

t = Tap()
if not shutil.which("unbound") or not shutil.which("ldns-signzone"):
    t.skip("DANE", "needs Debian's unbound and ldnsutils")
    t.done()

MSG = "Subject: dane\n\nx\n"
certs = tempfile.mkdtemp(prefix="nqt-certs-")
os.chmod(certs, 0o755)


def lets(reps):
    return "".join(l for l, _ in reps)


try:
    ca = make_ca(certs)
    ee = make_cert(certs, "ee", ["mx.dane.test"], self_signed=True)
    other = make_cert(certs, "other", ["mx.dane.test"], self_signed=True)
    ta = make_cert(certs, "ta", ["mxta.dane.test"])
    with open(ta, "a") as f:
        f.write(open(ca).read())        # the chain ends with the trust anchor
    h_ee = spki_sha256(os.path.join(certs, "ee.crt"))
    h_ca = cert_sha256(ca)
    # TLSA names carry the port: the sinks' (see remotelib.py)
    P = "_%d._tcp." % PORT
    recs = ["@ IN MX 10 mx", "mx IN A 127.0.0.110", P + "mx IN TLSA 3 1 1 " + h_ee,
            "bad IN MX 10 mxbad", "mxbad IN A 127.0.0.111", P + "mxbad IN TLSA 3 1 1 " + "00" * 32,
            "none IN MX 10 mxnone", "mxnone IN A 127.0.0.112",
            "bogus IN MX 10 mxbogus", "mxbogus IN A 127.0.0.113", P + "mxbogus IN TLSA 3 1 1 " + h_ee,
            "ta IN MX 10 mxta", "mxta IN A 127.0.0.114", P + "mxta IN TLSA 2 0 1 " + h_ca]
    with Instance(t, name="example.test") as q, SignedZone("dane.test", recs, corrupt=(P + "mxbogus",)) as z:
        q.control("dnsservers", z.server_line())
        q.control("smtproutes", MXROUTE)
        q.control("tlsdestinations", ":dane")
        with Sink("127.0.0.110", cert=ee) as s:
            reps, _ = remote(q, "dane.test", "joe@example.test", ["a@dane.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls, "DANE-EE 3 1 1 matching: delivered over TLS", reps)
            t.ok(reps and "certificate verified." in reps[-1][1], "and the report says verified", reps)
        with Sink("127.0.0.110", cert=other) as s:
            reps, _ = remote(q, "dane.test", "joe@example.test", ["a@dane.test"], MSG)
            t.ok(lets(reps) == "Z" and "#4.7.5" in reps[0][1] and not s.messages, "another key than the TLSA record: deferred", reps)
        with Sink("127.0.0.110") as s:
            reps, _ = remote(q, "dane.test", "joe@example.test", ["a@dane.test"], MSG)
            t.ok(lets(reps) == "Z" and not s.messages, "secure TLSA and no STARTTLS: deferred, never plain text", reps)
        with Sink("127.0.0.111", cert=ee) as s:
            reps, _ = remote(q, "bad.dane.test", "joe@example.test", ["a@bad.dane.test"], MSG)
            t.ok(lets(reps) == "Z" and not s.messages, "TLSA mismatch: deferred, nothing sent", reps)
        with Sink("127.0.0.113", cert=ee) as s:
            reps, _ = remote(q, "bogus.dane.test", "joe@example.test", ["a@bogus.dane.test"], MSG)
            t.ok(lets(reps) == "Z" and "TLSA lookup" in reps[0][1] and not s.sessions, "bogus signature: deferred, not even connected", reps)
        with Sink("127.0.0.114", cert=ta) as s:
            reps, _ = remote(q, "ta.dane.test", "joe@example.test", ["a@ta.dane.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls, "DANE-TA 2 0 1: delivered", reps)
        with Sink("127.0.0.112", cert=other) as s:
            reps, _ = remote(q, "none.dane.test", "joe@example.test", ["a@none.dane.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls and "not verified" in reps[-1][1],
                 "no TLSA record: dane is may", reps)
            q.control("tlsdestinations", ":dane-only")
            s.messages.clear()
            reps, _ = remote(q, "none.dane.test", "joe@example.test", ["a@none.dane.test"], MSG)
            t.ok(lets(reps) == "Z" and "dane-only" in reps[0][1] and not s.messages, "no TLSA record: dane-only defers", reps)
            q.control("tlsdestinations", ":dane")
    # the same zone through a resolver that does not validate: no AD
    with Instance(t, name="example.test") as q, SignedZone("dane.test", recs, anchor=False) as z:
        q.control("dnsservers", z.server_line())
        q.control("smtproutes", MXROUTE)
        q.control("tlsdestinations", ":dane")
        with Sink("127.0.0.111", cert=ee) as s:
            reps, _ = remote(q, "bad.dane.test", "joe@example.test", ["a@bad.dane.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and "not verified" in reps[-1][1],
                 "TLSA records without AD are not believed (opportunistic TLS)", reps)
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
