#!/usr/bin/env python3
# STARTTLS details of issue 5 that tls.t does not look at: SNI (the
# exchanger's or the relay's name in the ClientHello; none for an
# address literal, RFC 6066 3), and "TLS 1.2+": a peer that can speak
# at most TLS 1.1 (checked here with a Python client first, so the case
# is real) gets no TLS session from us — under "may" the message then
# goes in plain text on a second connection, under "encrypt" it is
# deferred with nothing sent; a peer limited to TLS 1.2 is used and the
# report says TLSv1.2. Sinks on 127.0.0.195-196; certificates made here.
import os, re, shutil, smtplib, ssl, sys, tempfile, warnings
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, remote, make_cert, PORT, MXROUTE

warnings.simplefilter("ignore", DeprecationWarning)
t = Tap()
MSG = "Subject: tls\n\nx\n"


def lets(reps):
    return "".join(l for l, _ in reps)


def sni_recorder(names):
    def setup(ctx):
        ctx.sni_callback = lambda sock, name, c: names.append(name)
    return setup


def old_tls(ctx):
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1


def only_12(ctx):
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2


certs = tempfile.mkdtemp(prefix="nqt-certs-")
os.chmod(certs, 0o755)
try:
    cert = make_cert(certs, "mx", ["mx.tls.test", "smart.test"], self_signed=True)
    DNS = ["mx-host=tls.test,mx.tls.test,10", "host-record=mx.tls.test,127.0.0.195", "host-record=smart.test,127.0.0.196"]
    with Instance(t, name="example.test") as q, Dns(DNS) as d:
        q.control("dnsservers", d.server_line())

        # ---- SNI -------------------------------------------------------------
        q.control("smtproutes", MXROUTE)
        names = []
        with Sink("127.0.0.195", cert=cert) as s:
            s.tls_setup = sni_recorder(names)
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls, "delivered over TLS", reps)
            t.eq(names, ["mx.tls.test"], "SNI: the exchanger's name")
        q.control("smtproutes", ":smart.test:%d" % PORT)
        names = []
        with Sink("127.0.0.196", cert=cert) as s:
            s.tls_setup = sni_recorder(names)
            reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "rK" and names == ["smart.test"], "SNI: the relay's name from smtproutes", (reps, names))
        q.control("smtproutes", ":[127.0.0.196]:%d" % PORT)
        names = []
        with Sink("127.0.0.196", cert=cert) as s:
            s.tls_setup = sni_recorder(names)
            reps, _ = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
            t.ok(lets(reps) == "rK" and names == [None], "no SNI for an address literal", (reps, names))

        # ---- TLS 1.2 or better --------------------------------------------
        q.control("smtproutes", MXROUTE)
        with Sink("127.0.0.195", cert=cert) as s:
            s.tls_setup = old_tls
            # the control: this sink does speak TLS 1.1
            cl = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            cl.check_hostname = False
            cl.verify_mode = ssl.CERT_NONE
            cl.set_ciphers("ALL:@SECLEVEL=0")
            cl.minimum_version = ssl.TLSVersion.TLSv1
            ver = None
            try:
                c = smtplib.SMTP("127.0.0.195", PORT, timeout=10)
                c.ehlo("probe.test")
                c.starttls(context=cl)
                ver = c.sock.version()
                c.quit()
            except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
                ver = repr(e)
            t.eq(ver, "TLSv1.1", "the TLS 1.1 peer works for a client that allows 1.1")
            s.settle()
            s.sessions.clear()
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and not s.messages[0].tls and len(s.sessions) == 2,
                 "may: no TLS 1.1 session; sent in plain text on a new connection", (reps, len(s.sessions), s.messages))
            t.ok(not re.search(r"TLSv1\.[01]\b", " ".join(x for _, x in reps)), "the report never says TLSv1.1", reps)
            s.messages.clear()
            q.control("tlsdestinations", "tls.test:encrypt")
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "Z" and not s.messages, "encrypt: a TLS 1.1 peer defers, nothing sent", reps)
        with Sink("127.0.0.195", cert=cert) as s:
            s.tls_setup = only_12
            reps, _ = remote(q, "tls.test", "joe@example.test", ["a@tls.test"], MSG)
            t.ok(lets(reps) == "rK" and s.messages and s.messages[0].tls and "TLS: TLSv1.2 " in reps[-1][1],
                 "a TLS 1.2 peer: encrypted, the report says TLSv1.2", reps)
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
