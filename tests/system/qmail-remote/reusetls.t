#!/usr/bin/env python3
# Kept connections (reuse.t) together with STARTTLS and AUTH, through
# qmail-send and qmail-rspawn with control/concurrencyremote 1:
#  - a kept TLS session carries the next messages encrypted: every
#    message arrives over TLS, fewer connections than messages, one
#    STARTTLS per session, and every success line in the log names TLS
#    (with "verified" under a verify policy, for the later messages too);
#  - a kept session to a smarthost with AUTH carries the next message
#    without a second AUTH;
#  - two senders routed (control/authsenders) to the same relay with
#    different credentials never share a session: each session carries
#    only the mail of the account it authenticated as.
# Sinks on 127.0.0.190-191; certificates made here with openssl.
# smoke
import os, re, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance
from remotelib import Sink, Dns, make_ca, make_cert, PORT

t = Tap()
N = 6


def successes(q):
    return re.findall(r"^delivery \d+: success: (.*)$", q.logtext(), re.M)


def senders(sess):
    return [re.match(r"MAIL FROM:<([^>]*)>", c).group(1) for c in sess.cmds if c.upper().startswith("MAIL FROM:")]


certs = tempfile.mkdtemp(prefix="nqt-certs-")
os.chmod(certs, 0o755)
try:
    ca = make_ca(certs)
    good = make_cert(certs, "good", ["mx.tls.test"])

    # ---- TLS: may, then verify ----------------------------------------------
    for policy, word in (("may", "not verified"), ("verify:" + ca, "verified")):
        with Instance(t, name="example.test") as q, Dns(["host-record=mx.tls.test,127.0.0.190"]) as d, \
                Sink("127.0.0.190", cert=good) as s:
            q.control("dnsservers", d.server_line())
            q.control("smtproutes", "tls.test:mx.tls.test:%d" % PORT)
            q.control("tlsdestinations", "tls.test:" + policy)
            q.control("concurrencyremote", "1")
            q.start()
            for i in range(N):
                q.queue("Subject: tls %d\n\nsecret-%d\n" % (i, i), "joe@example.test", ["u@tls.test"])
            what = policy.split(":")[0]
            t.ok(q.wait(lambda: len(successes(q)) == N, 40), "%s: %d deliveries" % (what, N), q.logtext()[-2000:])
            s.settle()
            got = sorted(set(re.findall(rb"secret-\d+", b"".join(m.data for m in s.messages))))
            t.eq(len(got), N, "%s: every message at the sink" % what)
            t.ok(s.messages and all(m.tls for m in s.messages), "%s: every message went encrypted" % what,
                 [m.tls for m in s.messages])
            per = [len(senders(x)) for x in s.sessions]
            t.ok(s.connections < N and max(per or [0]) > 1, "%s: a session carried more than one message" % what,
                 (s.connections, per))
            t.ok(all(x.cmds.count("STARTTLS") == 1 and x.tls for x in s.sessions if senders(x)),
                 "%s: one STARTTLS per session, not per message" % what, [x.cmds for x in s.sessions])
            lines = successes(q)
            pat = r"TLS:_TLSv1\.[23]_\S+,_certificate_%s\./" % word.replace(" ", "_")
            t.ok(lines and all(re.search(pat, l) for l in lines), "%s: every success line says TLS, %s" % (what, word), lines)
            q.stop()

    # ---- AUTH to a smarthost; two accounts on one relay -------------------
    with Instance(t, name="example.test") as q, Dns(["host-record=smart.test,127.0.0.191"]) as d, \
            Sink("127.0.0.191", port=2587, cert=good, auth=("joe", "s3cret")) as s:
        s.auth_also.append(("boss", "b0ss"))
        q.control("dnsservers", d.server_line())
        q.control("smtproutes", ":smart.test:2587")
        q.control("authsenders", "@boss.test:smart.test:2587\n")
        q.write("control/smtpauth", "smart.test:joe:s3cret\n@boss.test:boss:b0ss\n", mode=0o600,
                owner="qmailr" if q.mode == "root" else None)
        q.control("concurrencyremote", "1")
        q.start()
        for i in range(N):
            q.queue("Subject: auth %d\n\njoe-%d\n" % (i, i), "me@example.test", ["u@far.test"])
        t.ok(q.wait(lambda: len(successes(q)) == N, 40), "AUTH: %d deliveries" % N, q.logtext()[-2000:])
        s.settle()
        used = [x for x in s.sessions if senders(x)]
        t.eq(len(set(re.findall(rb"joe-\d+", b"".join(m.data for m in s.messages)))), N, "AUTH: every message at the relay")
        t.ok(used and max(len(senders(x)) for x in used) > 1, "AUTH: a session carried more than one message",
             [senders(x) for x in used])
        t.ok(used and all(sum(1 for c in x.cmds if c.upper().startswith("AUTH")) == 1 for x in used),
             "AUTH: one AUTH per session, none again for the kept one", [x.cmds for x in used])
        t.ok(all(m.tls for m in s.messages), "AUTH: all over TLS")

        # interleaved senders with different credentials on the same relay
        mark = len(successes(q))
        s.sessions.clear()
        for i in range(N):
            q.queue("Subject: mix %d\n\nmix-%d\n" % (i, i), "me@example.test" if i % 2 else "ceo@boss.test", ["v@far.test"])
        t.ok(q.wait(lambda: len(successes(q)) == mark + N, 40), "two accounts: %d deliveries" % N, q.logtext()[-2000:])
        s.settle()
        wrong = []
        for x in s.sessions:
            who = x.auth[0] if x.auth else None
            for snd in senders(x):
                if (snd.endswith("@boss.test")) != (who == "boss"):
                    wrong.append((who, snd))
        t.ok(not wrong, "each session carried only the mail of the account it authenticated as", wrong)
        t.eq(len(set(re.findall(rb"mix-\d+", b"".join(m.data for m in s.messages)))), N, "two accounts: every message arrived")
        q.stop()
finally:
    shutil.rmtree(certs, ignore_errors=True)
t.done()
