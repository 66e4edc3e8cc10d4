"""dkimvlib: helpers for the DKIM verification and DMARC tests of
qmail-smtpd.

Keys are made here (RSA with openssl, Ed25519 with PyNaCl, as Debian's
python3-dkim uses them), messages are signed by python3-dkim, and the
public keys and DMARC records are served by dnsmasq on loopback
(remotelib.Dns) named in control/dnsservers. session() runs
DIR/bin/qmail-smtpd once on pipes, as tcpserver would, with TCPREMOTEIP
set to any address (so SPF can pass or fail), and returns the replies and
the message a QMAILQUEUE program received."""
import base64, hashlib, os, re, subprocess, sys, tempfile

try:
    import dkim
    import nacl.signing
except ImportError:
    # python3-dkim is Debian's, for /usr/bin/python3, which may not be
    # the first python3 on PATH
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-dkim or python3-nacl is not installed")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
for d in ("lib", "spf", "qmail-remote", "qmail-smtpd"):
    sys.path.insert(0, os.path.join(HERE, "..", d))
from spflib import Capture, header_fields  # noqa: E402,F401


class Queue(Capture):
    """A QMAILQUEUE program that keeps the message only when the envelope
    that follows it is complete, as qmail-queue queues it only then: a
    message refused after DATA is not kept."""
    def __init__(self):
        Capture.__init__(self)
        with open(self.prog, "w") as f:
            f.write("#!/usr/bin/python3\n"
                    "import os, sys\n"
                    "m = sys.stdin.buffer.read()\n"
                    "e = os.fdopen(1, 'rb').read()\n"
                    "if not (e.startswith(b'F') and e.endswith(b'\\0\\0')): sys.exit(81)\n"
                    "open(%r, 'wb').write(m)\n" % self.msg)
        os.chmod(self.prog, 0o755)


class RSAKey:
    def __init__(self, bits=1024):
        self.pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)],
                                  capture_output=True, check=True).stdout
        der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=self.pem,
                             capture_output=True, check=True).stdout
        self.p = base64.b64encode(der).decode()
        self.alg = b"rsa-sha256"
        self.priv = self.pem

    def record(self):
        return "v=DKIM1; k=rsa; p=" + self.p


class EdKey:
    def __init__(self):
        sk = nacl.signing.SigningKey.generate()
        self.priv = base64.b64encode(bytes(sk))
        self.p = base64.b64encode(bytes(sk.verify_key)).decode()
        self.alg = b"ed25519-sha256"

    def record(self):
        return "v=DKIM1; k=ed25519; p=" + self.p


def txt(name, text):
    """A dnsmasq txt-record option; text is cut into strings of at most
    200 bytes (a comma separates strings for dnsmasq; quotes on its
    command line would be kept as text), which a verifier must join."""
    parts = [text[i:i + 200] for i in range(0, len(text), 200)]
    return "txt-record=%s,%s" % (name, ",".join(parts))


HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]


def message(frm="Joe <joe@example.test>", subject="signed", body="hello\r\n.leading dot\r\n", extra=""):
    return ("From: %s\r\nTo: postmaster@example.test\r\nSubject: %s\r\n"
            "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.test>\r\n%s\r\n%s"
            % (frm, subject, hashlib.md5((frm + subject + body).encode()).hexdigest(), extra, body)).encode()


def sign(msg, key, domain, selector="sel"):
    """msg with one more DKIM-Signature field (relaxed/relaxed) in front."""
    s = dkim.sign(msg, selector.encode(), domain.encode(), key.priv, signature_algorithm=key.alg,
                  canonicalize=(b"relaxed", b"relaxed"), include_headers=HEADERS)
    return s + msg


def sign_times(msg, key, domain, t, x, selector="sel"):
    """An RSA signature with t= and x= of our choosing (python3-dkim's own
    sign() has no x=), made with its pieces."""
    d = dkim.DKIM(msg)
    canon = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    d.include_headers = tuple(HEADERS)
    d.hasher = dkim.HASH_ALGORITHMS[b"rsa-sha256"]
    bh = base64.b64encode(hashlib.sha256(canon.canonicalize_body(d.body)).digest())
    fields = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", domain.encode()),
              (b"s", selector.encode()), (b"t", str(t).encode()), (b"x", str(x).encode()),
              (b"h", b":".join(HEADERS)), (b"bh", bh), (b"b", b"0" * 60)]
    pk = dkim.crypto.parse_pem_private_key(key.priv)
    return b"DKIM-Signature: " + d.gen_header(fields, tuple(HEADERS), canon, b"DKIM-Signature", pk) + msg


def stuff(msg):
    """DATA's dot-stuffing."""
    if msg.startswith(b"."):
        msg = b"." + msg
    return msg.replace(b"\r\n.", b"\r\n..")


def session(q, cap, msg, ip="192.0.2.10", sender="joe@example.test", env=None, timeout=60, measure=False):
    """(reply lines, captured message or None[, peak RSS kB of qmail-smtpd])."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TCPREMOTEIP": ip,
         "TCPLOCALIP": "127.0.0.1", "NORCPTCHECK": "1", "QMAILQUEUE": cap.prog}
    e.update(env or {})
    cmds = (b"EHLO client.test\r\nMAIL FROM:<" + sender.encode() + b">\r\nRCPT TO:<postmaster@" +
            q.name.encode() + b">\r\nDATA\r\n" + stuff(msg) + b".\r\nQUIT\r\n")
    argv = [q.bin("qmail-smtpd")]
    if measure:
        argv = ["/usr/bin/time", "-f", "MAXRSS %M"] + argv
    r = subprocess.run(argv, input=cmds, env=e, capture_output=True, timeout=timeout)
    lines = r.stdout.decode("utf-8", "replace").split("\r\n")
    got = cap.take()
    if measure:
        m = re.search(r"MAXRSS (\d+)", r.stderr.decode("utf-8", "replace"))
        return lines, got, int(m.group(1)) if m else None
    return lines, got


def data_reply(lines):
    """The reply after the message: the line after 354."""
    for i, ln in enumerate(lines):
        if ln.startswith("354 "):
            return lines[i + 1] if i + 1 < len(lines) else ""
    return ""


def results(msg, method):
    """[(result, {prop: value}, comment)] for method in our (first)
    Authentication-Results field."""
    f = header_fields(msg or "")
    if not f:
        return []
    out = []
    for part in f[0].split(";")[1:]:
        part = part.strip()
        m = re.match(r"([a-z]+)=([a-z]+)\s*(\(([^)]*)\))?\s*(.*)$", part)
        if not m or m.group(1) != method:
            continue
        props = dict(re.findall(r"([a-z]+\.[a-z]+)=(\S+)", m.group(5)))
        out.append((m.group(2), props, m.group(4) or ""))
    return out


def one(msg, method):
    r = results(msg, method)
    return r[0][0] if len(r) == 1 else (None if not r else [x[0] for x in r])
