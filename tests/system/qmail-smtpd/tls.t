#!/usr/bin/env python3
# TLS: STARTTLS is offered when control/servercert.pem exists, works with
# Python's ssl, is not offered again inside TLS, and the Received line
# then says ESMTPS with the TLS version and cipher. Bytes a client
# pipelines after STARTTLS, before the handshake, are thrown away (the
# CVE-2011-0411 class). SMTPS (env SMTPS) starts TLS before the greeting.
# A broken certificate gives 454, a failed handshake ends the session.
# IPv6: the same over ::1.
import os, smtplib, socket, ssl, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queued, clear, make_cert
from nqtest import Tap, Instance

t = Tap()


def noverify():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


with Instance(t, name="example.test") as q:
    prepare(q)
    cert = make_cert(q.path("control/servercert.pem"), "mx.example.test")
    if q.mode == "root":
        os.chown(cert, 0, q.role_ids()["qmaild"][1])
    with Server(q) as s:
        c = smtplib.SMTP("127.0.0.1", s.port, local_hostname="client.test", timeout=30)
        code, text = c.ehlo()
        t.ok(b"STARTTLS" in text, "EHLO offers STARTTLS", text)
        code, text = c.starttls(context=noverify())
        t.eq(code, 220, "STARTTLS: 220", text)
        t.ok(isinstance(c.sock, ssl.SSLSocket), "the session is encrypted")
        peer = c.sock.getpeercert(binary_form=True)
        t.ok(peer and b"mx.example.test" in peer, "the certificate of control/servercert.pem", peer)
        version, cipher = c.sock.version(), c.sock.cipher()[0]
        code, text = c.ehlo()
        t.ok(b"STARTTLS" not in text, "no STARTTLS inside TLS", text)
        t.eq(c.docmd("STARTTLS")[0], 503, "STARTTLS again: 503")
        clear(q)
        c.sendmail("s@a.test", ["postmaster@example.test"], "Subject: tls\r\n\r\nsecret\r\n")
        c.quit()
        m = queued(q)
        rec = [x for x in m[0].received() if "nqmail" in x] if m else []
        t.ok(rec and "with ESMTPS (%s %s " % (version, cipher) in rec[0], "Received: ESMTPS, version and cipher", rec)
        clear(q)

        # Pipelined after STARTTLS: dropped, never executed inside TLS.
        r = Raw(s.port)
        r.reply()
        r.cmd("EHLO client.test")
        r.send("STARTTLS\r\nMAIL FROM:<evil@a.test>\r\n")
        code, _ = r.reply()
        t.eq(code, 220, "STARTTLS with a command pipelined behind it: 220")
        r.starttls()
        code, text = r.cmd("EHLO client.test")
        t.ok(code == 250 and text.startswith("250-example.test"), "the first reply inside TLS is EHLO's", text)
        code, text = r.cmd("MAIL FROM:<a@b.test>")
        t.eq(code, 250, "the pipelined MAIL was discarded: a new MAIL is not nested", text)
        r.close()

        # Inside TLS, state from before is forgotten (RFC 3207).
        r = Raw(s.port)
        r.reply()
        r.cmd("EHLO client.test")
        r.cmd("STARTTLS")
        r.starttls()
        t.eq(r.cmd("MAIL FROM:<a@b.test>")[0], 503, "after STARTTLS, HELO/EHLO is needed again")
        r.close()

        # A failed handshake ends the session and is logged.
        r = Raw(s.port)
        r.reply()
        r.cmd("EHLO client.test")
        r.cmd("STARTTLS")
        r.send(b"this is not a TLS ClientHello\r\n" * 4)
        t.ok(r.closed(10), "garbage instead of a handshake: connection closed")
        t.ok("TLS handshake failed" in s.log(), "and logged", s.log())

    # SMTPS: TLS first, then the greeting.
    with Server(q, env={"SMTPS": "1"}) as s:
        clear(q)
        c = smtplib.SMTP_SSL("127.0.0.1", s.port, local_hostname="client.test", timeout=30, context=noverify())
        code, text = c.ehlo()
        t.eq(code, 250, "SMTPS: EHLO inside TLS", text)
        t.ok(b"STARTTLS" not in text, "SMTPS: no STARTTLS offered", text)
        c.sendmail("s@a.test", ["postmaster@example.test"], "Subject: smtps\r\n\r\nhi\r\n")
        c.quit()
        m = queued(q)
        t.ok(m and "with ESMTPS (TLS" in m[0].head, "SMTPS message: Received says ESMTPS", m[0].head if m else "")
        clear(q)
        raw = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        raw.sendall(b"EHLO plain.test\r\n")
        raw.settimeout(10)
        try:
            got = raw.recv(100)
        except OSError:
            got = b""
        t.ok(not got.startswith(b"220") and not got.startswith(b"250"), "SMTPS: a plain-text client gets no SMTP", got)
        raw.close()

    # A certificate that cannot be used: 454, and the session goes on.
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    with Server(q) as s:
        r = Raw(s.port)
        r.reply()
        r.cmd("EHLO client.test")
        code, text = r.cmd("STARTTLS")
        t.eq(code, 454, "unusable servercert.pem: 454", text)
        t.eq(r.cmd("NOOP")[0], 250, "the session continues in plain text")
        r.close()
    os.unlink(cert)

    # IPv6 loopback, when the machine has it.
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
        v6 = True
    except OSError:
        v6 = False
    if v6:
        with Server(q, addr="::1") as s:
            clear(q)
            c = smtplib.SMTP("::1", s.port, local_hostname="client.test", timeout=30)
            c.sendmail("s@a.test", ["postmaster@example.test"], "Subject: v6\r\n\r\nhi\r\n")
            c.quit()
            m = queued(q)
            t.ok(m and "([IPv6:::1])" in m[0].head, "over ::1: Received names [IPv6:::1]", m[0].head if m else "")
    else:
        t.skip("over ::1", "no IPv6 loopback")
t.done()
