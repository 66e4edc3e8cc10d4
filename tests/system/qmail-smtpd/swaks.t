#!/usr/bin/env python3
# swaks as the client: a plain pipelined message, STARTTLS with AUTH LOGIN
# and PLAIN relaying to another domain (submission mode), SMTPS (TLS on
# connect), and a refused recipient, each checked in the queue.
import os, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, queued, clear, make_cert
from nqtest import Tap, Instance, run

t = Tap()
if not shutil.which("swaks"):
    t.skip("swaks", "swaks is not installed")
    t.done()


def swaks(port, *args):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--helo", "client.test",
                        "--timeout", "20"] + list(args), capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace")


with Instance(t, name="example.test") as q:
    prepare(q)
    cert = make_cert(q.path("control/servercert.pem"))
    if q.mode == "root":
        os.chown(cert, 0, q.role_ids()["qmaild"][1])
    run([q.bin("qmail-vuser"), "add", "joe@example.test"], input="pw-joe\n")
    args = [q.bin("checkpassword"), "/bin/true"]
    with Server(q, args=args) as s:
        clear(q)
        code, out = swaks(s.port, "--pipeline", "--from", "a@b.test", "--to", "postmaster@example.test",
                          "--header", "Subject: swaks plain", "--body", "plain body")
        t.eq(code, 0, "swaks --pipeline: delivered", out)
        m = queued(q)
        t.ok(m and m[0].rcpts == ["postmaster@example.test"] and b"plain body" in m[0].body, "queued intact")
        clear(q)
        code, out = swaks(s.port, "--to", "nobody@example.test", "--from", "a@b.test")
        t.ok(code != 0 and "550" in out, "swaks to an unknown local user: 550", out)
        t.eq(queued(q), [], "nothing queued")
        code, out = swaks(s.port, "--to", "x@other.test", "--from", "a@b.test")
        t.ok(code != 0 and "553" in out, "swaks relaying without AUTH: 553", out)
    with Server(q, args=args, env={"SUBMISSION": "1"}) as s:
        for mech in ("LOGIN", "PLAIN"):
            clear(q)
            code, out = swaks(s.port, "--tls", "--auth", mech, "--auth-user", "joe@example.test",
                              "--auth-password", "pw-joe", "--from", "joe@example.test", "--to", "x@other.test")
            t.eq(code, 0, "swaks --tls --auth %s: relayed" % mech, out)
            m = queued(q)
            t.ok(m and m[0].rcpts == ["x@other.test"] and "with ESMTPSA" in m[0].head, "queued, ESMTPSA")
        code, out = swaks(s.port, "--tls", "--from", "joe@example.test", "--to", "x@other.test")
        t.ok(code != 0 and "530" in out, "submission without AUTH: 530", out)
    with Server(q, env={"SMTPS": "1"}) as s:
        clear(q)
        code, out = swaks(s.port, "--tlsc", "--from", "a@b.test", "--to", "postmaster@example.test")
        t.eq(code, 0, "swaks --tlsc (SMTPS): delivered", out)
        m = queued(q)
        t.ok(m and "with ESMTPS" in m[0].head, "queued, ESMTPS")
t.done()
