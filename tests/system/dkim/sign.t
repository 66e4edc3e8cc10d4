#!/usr/bin/env python3
# DKIM signing of outbound mail (doc/dkim.5, doc/qmail-dkimkey.8):
# qmail-dkimkey makes an RSA and an Ed25519 key (the private key owned by
# the signing uid, mode 0400) and prints TXT records that parse; a message
# from our domain relayed by qmail-remote to a sink carries two
# DKIM-Signature fields (rsa-sha256, ed25519-sha256, relaxed/relaxed) that
# Debian's python3-dkim verifies with those records as its DNS; a tampered
# body or Subject fails; mail from a domain without keys is not signed; a
# forward (Delivered-To) is judged by its envelope sender; the signing
# table's "-", other-domain and one-selector lines work; a key the signer
# cannot read defers the message; the whole path through qmail-send and
# qmail-rspawn signs too. Sinks on 127.0.0.150-151.
# smoke
import os, re, subprocess, sys
try:
    import dkim
except ImportError:
    # python3-dkim is Debian's, for /usr/bin/python3, which may not be
    # the first python3 on PATH
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dkim is not installed")
    sys.exit(0)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-remote"))
from nqtest import Tap, Instance, IS_ROOT, run
from remotelib import Sink, Dns, remote, MXROUTE

t = Tap()
DNS = ["mx-host=far.test,mx.far.test,10", "host-record=mx.far.test,127.0.0.150"]
MSG = ("From: Joe <joe@example.test>\nTo: a@far.test\nSubject: signed\nDate: Sun, 29 Nov 2026 10:00:00 +0000\n"
       "Message-ID: <1@example.test>\n\nhello\n.leading dot\ntrailing space   \n\n\n")
records = {}     # "selector._domainkey.domain" -> the TXT text


def parse_record(out):
    """The zone-file line qmail-dkimkey prints: NAME IN TXT ( "..." ... )."""
    m = re.match(r'^(\S+)\.\s+IN\s+TXT\s+\((.*)\)\s*$', out.strip(), re.S)
    if not m:
        return None, None
    parts = re.findall(r'"([^"]*)"', m.group(2))
    if any(len(p) > 255 for p in parts):
        return None, None
    return m.group(1), "".join(parts)


def dns(name, timeout=5):
    n = name.decode().rstrip(".")
    return records.get(n, "").encode()


def unstuff(data):
    """The message as the receiver stores it: the sink keeps the bytes
    after DATA with their dot-stuffing (RFC 5321 4.5.2)."""
    if data.startswith(b".."):
        data = data[1:]
    return data.replace(b"\r\n..", b"\r\n.")


def sigs(data):
    return [l for l in data.split(b"\r\n") if l.lower().startswith(b"dkim-signature:")]


def verify_all(data, quiet=False):
    n = len(sigs(data))
    if not n:
        return False
    d = dkim.DKIM(unstuff(data))
    try:
        return all(d.verify(idx=i, dnsfunc=dns) for i in range(n))
    except dkim.DKIMException as e:
        if not quiet:
            t.diag("dkim: %s" % e)
        return False


def tags(data, i=0):
    """The tags of the i-th signature, unfolded."""
    raw = data.split(b"\r\n\r\n", 1)[0].decode()
    fields = re.split(r"\r\n(?![ \t])", raw)
    s = [f for f in fields if f.lower().startswith("dkim-signature:")][i]
    v = re.sub(r"\s+", "", s.split(":", 1)[1])
    return dict(x.split("=", 1) for x in v.split(";") if "=" in x)


with Instance(t, name="example.test") as q, Dns(DNS) as d:
    q.control("dnsservers", d.server_line())
    q.control("smtproutes", MXROUTE)
    env = dict(os.environ, NQMAIL_HOME=q.dir)

    # ---- qmail-dkimkey ---------------------------------------------------------
    for args in (["example.test", "rsa1"], ["-t", "ed25519", "example.test", "ed1"], ["other.test", "o1"]):
        r = run([q.bin("qmail-dkimkey")] + args, env=env)
        t.eq(r.returncode, 0, "qmail-dkimkey %s" % " ".join(args), r.stderr)
        name, txt = parse_record(r.stdout.decode())
        t.ok(name and txt and re.match(r"^v=DKIM1; k=(rsa|ed25519); p=[A-Za-z0-9+/]+=*$", txt), "its record parses", r.stdout)
        if name:
            records[name] = txt
    t.ok("rsa1._domainkey.example.test" in records and "k=rsa;" in records["rsa1._domainkey.example.test"], "RSA record name and k=rsa")
    t.ok("k=ed25519;" in records.get("ed1._domainkey.example.test", ""), "Ed25519 record k=ed25519")
    key = q.path("control/dkim/example.test/rsa1.key")
    st = os.stat(key)
    t.eq(st.st_mode & 0o777, 0o400, "the private key is mode 0400")
    if IS_ROOT and q.mode == "root":
        import pwd
        t.eq(st.st_uid, pwd.getpwnam("qmailr").pw_uid, "the private key belongs to qmailr, the signing uid")
    r = run([q.bin("qmail-dkimkey"), "example.test", "rsa1"], env=env)
    t.ok(r.returncode == 100 and os.stat(key).st_ino == st.st_ino, "an existing key is not replaced without -f", r.stderr)
    r = run([q.bin("qmail-dkimkey"), "../etc", "x"], env=env)
    t.eq(r.returncode, 100, "a domain that is not a name is refused")
    r = run([q.bin("qmail-dkimkey"), "-p", "example.test", "rsa1"], env=env)
    t.eq(parse_record(r.stdout.decode())[1], records.get("rsa1._domainkey.example.test"), "-p prints the same record again")

    with Sink("127.0.0.150") as s:
        # ---- signed, verified by python3-dkim ----------------------------------
        reps, p = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.ok(reps and reps[-1][0] == "K", "delivered", reps)
        data = s.messages[-1].data if s.messages else b""
        t.eq(len(sigs(data)), 2, "two DKIM-Signature fields", data[:600])
        algs = sorted(tags(data, i).get("a") for i in range(len(sigs(data))))
        t.eq(algs, ["ed25519-sha256", "rsa-sha256"], "RSA-SHA256 and Ed25519-SHA256")
        t.ok(all(tags(data, i).get("c") == "relaxed/relaxed" and tags(data, i).get("d") == "example.test"
                 for i in range(len(sigs(data)))), "relaxed/relaxed, d=example.test")
        t.ok(verify_all(data), "python3-dkim verifies both signatures")
        body_at = data.index(b"\r\n\r\n") if b"\r\n\r\n" in data else 0
        bad = data[:body_at] + data[body_at:].replace(b"hello", b"hellO")
        t.ok(not verify_all(bad, True), "a tampered body fails")
        t.ok(not verify_all(data.replace(b"Subject: signed", b"Subject: signeD"), True), "a tampered Subject fails")
        m = s.messages[-1] if s.messages else None
        t.ok(m and m.params is not None, "sink saw the transaction")

        # ---- a big message: signing streams ------------------------------------
        big = MSG + ("x" * 999 + "\n") * 3000
        reps, p = remote(q, "far.test", "joe@example.test", ["a@far.test"], big)
        t.ok(s.messages and verify_all(s.messages[-1].data), "a 3 MB message verifies", reps)

        # ---- not ours: not signed ------------------------------------------------
        n0 = len(s.messages)
        remote(q, "far.test", "someone@else.test", ["a@far.test"], MSG.replace("joe@example.test", "someone@else.test"))
        t.ok(len(s.messages) == n0 + 1 and not sigs(s.messages[-1].data), "a domain without keys is not signed")

        # ---- the envelope sender's domain when From is not ours -----------------
        remote(q, "far.test", "list-owner@example.test", ["a@far.test"], MSG.replace("joe@example.test", "someone@else.test"))
        data = s.messages[-1].data
        t.ok(sigs(data) and tags(data).get("d") == "example.test" and verify_all(data), "envelope sender of ours signs", data[:300])

        # ---- a forward from elsewhere is not signed as ours ---------------------
        fwd = "Delivered-To: x@example.test\n" + MSG
        remote(q, "far.test", "someone@else.test", ["a@far.test"], fwd)
        t.ok(not sigs(s.messages[-1].data), "a .qmail forward of outside mail is not signed")
        q.control("dkim/signforwards", "1")
        # control files are read per run: no restart needed for qmail-remote
        remote(q, "far.test", "someone@else.test", ["a@far.test"], fwd)
        t.ok(sigs(s.messages[-1].data) and verify_all(s.messages[-1].data), "... unless control/dkim/signforwards is 1")
        os.unlink(q.path("control/dkim/signforwards"))

        # ---- the signing table ---------------------------------------------------
        q.control("dkim/signingtable", "# exceptions\nexample.test:-\nthird.test:example.test:rsa1\n")
        remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
        t.ok(not sigs(s.messages[-1].data), "signingtable: '-' turns signing off for a domain")
        remote(q, "far.test", "a@third.test", ["a@far.test"], MSG.replace("joe@example.test", "a@third.test"))
        data = s.messages[-1].data
        t.ok(len(sigs(data)) == 1 and tags(data).get("d") == "example.test" and tags(data).get("s") == "rsa1" and verify_all(data),
             "signingtable: another domain's key, one selector", data[:300])
        os.unlink(q.path("control/dkim/signingtable"))

        # ---- a key the signer cannot read: deferred, not sent unsigned ---------
        if IS_ROOT and q.mode == "root":
            n0 = len(s.messages)
            os.chown(key, 0, 0)
            reps, p = remote(q, "far.test", "joe@example.test", ["a@far.test"], MSG)
            t.ok(reps and reps[-1][0] == "Z" and "DKIM" in reps[-1][1] and "rsa1.key" in reps[-1][1], "unreadable key: deferral that says why", reps)
            t.eq(len(s.messages), n0, "nothing sent")
            os.chown(key, st.st_uid, st.st_gid)

        # ---- the real path: qmail-send, qmail-rspawn ----------------------------
        n0 = len(s.messages)
        q.start()
        rc = q.queue(MSG, "joe@example.test", ["b@far.test"])
        t.eq(rc, 0, "queued")
        t.ok(q.wait(lambda: len(s.messages) > n0, timeout=30), "delivered through qmail-send", q.logtext()[-800:])
        if len(s.messages) > n0:
            data = s.messages[-1].data
            t.ok(len(sigs(data)) == 2 and verify_all(data), "signed on the way out through qmail-rspawn", data[:400])
        q.stop()

t.done()
