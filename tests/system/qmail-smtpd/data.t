#!/usr/bin/env python3
# DATA as qmail-smtpd(8) and RFC 5321 say: CR LF stored as LF, leading dots
# removed, only CR LF . CR LF ends the message, the Received line names
# HELO, the client's IP, TCPREMOTEHOST when tcpserver knows it, and the
# protocol; a client that drops before the final dot queues nothing;
# control/databytes (552), 100 hops (554), NUL bytes (554) queue nothing;
# 8-bit and long lines pass untouched; 1000 recipients in one message; and
# a delivery all the way to a Maildir with qmail-send running.
# smoke
import os, re, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queued, clear, queue_empty
from nqtest import Tap, Instance

t = Tap()


def start(port, helo="client.test"):
    r = Raw(port)
    r.reply()
    r.cmd("EHLO " + helo)
    return r


def txn(port, body, rcpts=("postmaster@example.test",), sender="s@a.test", helo="client.test"):
    r = start(port, helo)
    r.cmd("MAIL FROM:<%s>" % sender)
    for x in rcpts:
        r.cmd("RCPT TO:<%s>" % x)
    code, text = r.cmd("DATA")
    assert code == 354, text
    r.send(body)
    got = r.reply()
    r.cmd("QUIT")
    r.close()
    return got


with Instance(t, name="example.test") as q:
    prepare(q)
    q.control("databytes", "20000")
    with Server(q) as s:
        clear(q)
        code, text = txn(s.port, b"Subject: dots\r\n\r\n..leading dot\r\n\r\n...two\r\nend\r\n.\r\n")
        t.eq(code, 250, "message accepted", text)
        t.ok(text.startswith("250 2.0.0 ok ") and " qp " in text, "qmail's 'ok ... qp N' reply", text)
        m = queued(q)
        t.eq(len(m), 1, "one message queued")
        if m:
            t.eq(m[0].body, b".leading dot\n\n..two\nend\n", "dots removed, CR LF stored as LF")
            t.eq(m[0].sender, "s@a.test", "envelope sender")
            rec = m[0].received()
            t.eq(len(rec), 2, "two Received lines: qmail-smtpd's and qmail-queue's", m[0].head)
            mine = [x for x in rec if "HELO" in x]
            t.ok(mine and "from unknown (HELO client.test) ([127.0.0.1])" in mine[0], "HELO and IP in Received", rec)
            t.ok(mine and "by example.test (nqmail) with ESMTP;" in mine[0], "protocol ESMTP in Received", rec)
        clear(q)

        # Only CR LF . CR LF ends: "\r\n.\r\n" inside a word does not, ". \r\n" does not.
        code, text = txn(s.port, b"a\r\n. \r\nb.\r\n.x\r\n.\r\n")
        t.eq(code, 250, "dot lines that are not the end", text)
        m = queued(q)
        t.eq(m[0].body if m else None, b"", "header-only message parsed")
        # after the fields qmail-queue and qmail-smtpd add (Received,
        # Authentication-Results)
        t.eq(re.sub(rb"\A(?:(?:Received|Authentication-Results):.*\n(?:[ \t].*\n)*)*", b"", m[0].data) if m else None, b"a\n \nb.\nx\n", "body kept as sent")
        clear(q)

        # 8-bit and a NUL.
        code, text = txn(s.port, "Subject: caf\u00e9\r\n\r\n\u00fcber\r\n.\r\n".encode())
        t.eq(code, 250, "8-bit message accepted")
        m = queued(q)
        t.ok(m and "\u00fcber".encode() in m[0].data, "8-bit bytes kept")
        clear(q)
        code, text = txn(s.port, b"Subject: nul\r\n\r\na\0b\r\n.\r\n")
        t.eq(code, 554, "NUL byte in DATA: 554", text)
        t.ok(queue_empty(q), "nothing queued for the NUL message", q.queue_files())

        # databytes
        code, text = txn(s.port, b"Subject: big\r\n\r\n" + b"x" * 30000 + b"\r\n.\r\n")
        t.eq(code, 552, "message over databytes: 552", text)
        t.ok(queue_empty(q), "nothing queued for the big message")

        # hops
        hops = b"".join(b"Received: from x%d\r\n" % i for i in range(60)) + \
            b"".join(b"Delivered-To: y%d\r\n" % i for i in range(40))
        code, text = txn(s.port, hops + b"\r\nbody\r\n.\r\n")
        t.eq(code, 554, "100 Received/Delivered-To fields: 554", text)
        t.ok("5.4.6" in text, "looping: 5.4.6", text)
        code, text = txn(s.port, hops[:-len(b"Delivered-To: y39\r\n")] + b"\r\nbody\r\n.\r\n")
        t.eq(code, 250, "99 hops: accepted", text)
        t.ok("Delivered-To: y38" not in (queued(q)[0].body.decode() if queued(q) else ""), "hops are header only")
        clear(q)
        body_hops = b"Subject: x\r\n\r\n" + b"Received: in body\r\n" * 150 + b".\r\n"
        t.eq(txn(s.port, body_hops)[0], 250, "Received lines in the body do not count")
        clear(q)

        # A client that drops before the final dot.
        for tail, name in ((b"", "right after DATA"), (b"Subject: x\r\n\r\npartial", "in the middle"),
                           (b"Subject: x\r\n\r\nline\r\n", "after a full line"),
                           (b"Subject: x\r\n\r\nline\r\n.", "before the CR LF of the dot")):
            r = start(s.port)
            r.cmd("MAIL FROM:<s@a.test>")
            r.cmd("RCPT TO:<postmaster@example.test>")
            r.cmd("DATA")
            r.send(tail)
            r.close()
            time.sleep(0.3)
            t.ok(queue_empty(q), "drop " + name + ": nothing queued", q.queue_files())

        # 1000 recipients in one message.
        clear(q)
        q.control("maxrcpt", "1000")
        q.write("alias/.qmail-default", "./Maildir/\n")
        r = start(s.port)
        r.cmd("MAIL FROM:<s@a.test>")
        batch = "".join("RCPT TO:<r%d@example.test>\r\n" % i for i in range(1000))
        r.send(batch)
        codes = [r.reply()[0] for _ in range(1000)]
        t.eq(codes.count(250), 1000, "1000 recipients accepted (pipelined)")
        t.eq(r.cmd("DATA")[0], 354, "DATA after 1000 recipients")
        r.send("Subject: many\r\n\r\nhi\r\n.\r\n")
        t.eq(r.reply()[0], 250, "message to 1000 recipients accepted")
        m = queued(q)
        t.eq(len(m[0].rcpts) if m else 0, 1000, "envelope holds 1000 recipients")
        t.eq(m[0].rcpts[999] if m else None, "r999@example.test", "in order")
        r.close()
        clear(q)

    # TCPREMOTEHOST, TCPREMOTEINFO and the Received line's defences.
    # tcpserver -H -R leaves these out, so run qmail-smtpd directly on a
    # socket pair with the variables tcpserver would set.
    import socket, subprocess
    a, b = socket.socketpair()
    env = {"PATH": "/usr/bin:/bin", "TCPREMOTEIP": "192.0.2.7", "TCPREMOTEHOST": "client.example.net",
           "TCPREMOTEINFO": "joe"}
    ids = q.role_ids()
    pre = None
    if q.mode == "root":
        def pre():
            os.setgroups([])
            os.setgid(ids["qmaild"][1])
            os.setuid(ids["qmaild"][0])
    p = subprocess.Popen([q.bin("qmail-smtpd")], stdin=b, stdout=b, env=env, preexec_fn=pre)
    b.close()
    a.sendall(b"HELO evil)(\tname\r\nMAIL FROM:<s@a.test>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n"
              b"Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")
    out = b""
    a.settimeout(10)
    try:
        while True:
            d = a.recv(4096)
            if not d:
                break
            out += d
    except OSError:
        pass
    p.wait(10)
    m = queued(q)
    rec = ([x for x in m[0].received() if "by example.test" in x] + [""])[0] if m else ""
    t.ok("from client.example.net (HELO evil???name) (joe@[192.0.2.7])" in rec,
         "Received: remote host, cleaned HELO, remote info, IP", rec + "\n" + out.decode())
    t.ok("with SMTP;" in rec, "HELO session: protocol SMTP", rec)
    clear(q)

    # All the way to a Maildir.
    q.start()
    with Server(q) as s:
        code, text = txn(s.port, b"Subject: to maildir\r\n\r\nhello maildir\r\n.\r\n")
        t.eq(code, 250, "accepted for delivery")
        t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "delivered to alias/Maildir", q.logtext())
        texts = q.maildir_texts("alias/Maildir")
        t.ok(texts and "hello maildir" in texts[0] and "Received: from unknown (HELO client.test)" in texts[0],
             "Maildir file has the body and the Received line", texts)
t.done()
