"""spflib: helpers for the SPF and Authentication-Results tests.

session() runs DIR/bin/qmail-smtpd once on pipes (as tcpserver would, but
with TCPREMOTEIP set to any address we like, since libspf2 lets loopback
clients pass unchecked), sends one message, and returns the replies and
the message as a QMAILQUEUE program saw it. The DNS server is the test's
dnsmasq (remotelib.Dns), named in control/dnsservers."""
import os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-remote"))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-smtpd"))

BODY = "From: a@b.test\r\nSubject: spf\r\n\r\nhello\r\n"


class Capture:
    """A QMAILQUEUE program that keeps the message it is given."""
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nqt-spfcap-")
        os.chmod(self.dir, 0o777)
        self.msg = os.path.join(self.dir, "msg")
        self.prog = os.path.join(self.dir, "qq")
        with open(self.prog, "w") as f:
            f.write("#!/bin/sh\ncat > '%s' && cat <&1 > /dev/null\n" % self.msg)
        os.chmod(self.prog, 0o755)

    def take(self):
        try:
            with open(self.msg, "rb") as f:
                data = f.read()
            os.unlink(self.msg)
            return data.decode("utf-8", "replace")
        except FileNotFoundError:
            return None


def session(q, cap, ip, helo, sender, body=BODY, env=None, timeout=60, auth=None, args=()):
    """(list of reply lines, captured message or None). auth: a
    base64 AUTH PLAIN response, sent after EHLO."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TCPREMOTEIP": ip,
         "TCPLOCALIP": "127.0.0.1", "NORCPTCHECK": "1", "QMAILQUEUE": cap.prog}
    e.update(env or {})
    cmds = ("EHLO %s\r\n%sMAIL FROM:<%s>\r\nRCPT TO:<postmaster@%s>\r\nDATA\r\n%s.\r\nQUIT\r\n"
            % (helo, "AUTH PLAIN %s\r\n" % auth if auth else "", sender, q.name, body))
    r = subprocess.run([q.bin("qmail-smtpd")] + list(args), input=cmds.encode(), env=e,
                       capture_output=True, timeout=timeout)
    lines = r.stdout.decode("utf-8", "replace").split("\r\n")
    return lines, cap.take()


def mail_reply(lines):
    """The reply to MAIL: the first line after the EHLO reply."""
    for i, ln in enumerate(lines):
        if ln.startswith("250 ") and i > 0 and lines[i - 1].startswith("250-"):
            return lines[i + 1] if i + 1 < len(lines) else ""
    return ""


def header_fields(msg, name="authentication-results"):
    """Unfolded fields called name, in order, from the header of msg."""
    head = msg.split("\n\n", 1)[0]
    out, cur = [], None
    for ln in head.split("\n"):
        if ln[:1] in (" ", "\t") and cur is not None:
            cur += " " + ln.strip()
            continue
        if cur is not None:
            out.append(cur)
        cur = ln
    if cur is not None:
        out.append(cur)
    return [f for f in out if f.split(":", 1)[0].strip().lower() == name]


def spf_of(field):
    """The spf= result in an unfolded Authentication-Results field."""
    import re
    m = re.search(r"\bspf=([a-z]+)", field)
    return m.group(1) if m else None
