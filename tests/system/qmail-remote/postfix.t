#!/usr/bin/env python3
# Postfix from Debian as the real receiving MTA (issue 5): a private
# Postfix instance (postfix -c, its own directories; /etc/postfix is never
# touched) listens on 127.0.0.80 (port 2525, see remotelib.py) with a virtual mailbox domain
# pf.test, found through dnsmasq's MX. Through qmail-send and
# qmail-rspawn: mail lands in Postfix's Maildir with our bytes, over
# STARTTLS verified against the test's CA (tlsdestinations verify), with
# the recipients of one message in one transaction; a recipient Postfix
# does not know bounces with Postfix's own text; control/outgoingip sets
# the address Postfix sees us connect from.
import glob, os, pwd, re, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, IS_ROOT
from remotelib import Dns, make_ca, make_cert, PORT

t = Tap()
if not IS_ROOT or not shutil.which("postfix"):
    t.skip("Postfix as receiver", "needs root and Debian's postfix (sh scripts/deps.sh postfix)")
    t.done()

D = tempfile.mkdtemp(prefix="nqt-pf-")
os.chmod(D, 0o755)
pf = pwd.getpwnam("postfix")


def postfix(*args):
    return subprocess.run(["script", "-qc", " ".join(["postfix", "-c", D + "/conf"] + list(args)), "/dev/null"],
                          capture_output=True, timeout=60)


def maildir(user):
    return sorted(glob.glob(os.path.join(D, "mail", "pf.test", user, "new", "*")))


try:
    for sub in ("conf", "queue", "data", "mail"):
        os.makedirs(os.path.join(D, sub))
    os.chown(os.path.join(D, "data"), pf.pw_uid, pf.pw_gid)
    os.chown(os.path.join(D, "mail"), pf.pw_uid, pf.pw_gid)
    ca = make_ca(D)
    cert = make_cert(D, "pf", ["mx.pf.test"])
    with open(os.path.join(D, "conf", "main.cf"), "w") as f:
        f.write("""compatibility_level = 3.6
queue_directory = {D}/queue
data_directory = {D}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.pf.test
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = pf.test
virtual_mailbox_base = {D}/mail
virtual_mailbox_maps = texthash:{D}/conf/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
maillog_file = {D}/maillog
maillog_file_prefixes = {D}
smtpd_tls_cert_file = {D}/pf.crt
smtpd_tls_key_file = {D}/pf.key
smtpd_tls_security_level = may
smtputf8_enable = yes
""".format(D=D, uid=pf.pw_uid, gid=pf.pw_gid))
    with open(os.path.join(D, "conf", "vmailbox"), "w") as f:
        f.write("user@pf.test pf.test/user/\nother@pf.test pf.test/other/\n")
    master = open("/etc/postfix/master.cf").read()
    master = re.sub(r"(?m)^smtp\s+inet\s.*$", "127.0.0.80:%d inet n - n - - smtpd" % PORT, master)
    with open(os.path.join(D, "conf", "master.cf"), "w") as f:
        f.write(master)
    r = postfix("start")
    up = False
    for _ in range(50):
        if subprocess.run(["ss", "-ltn", "src", "127.0.0.80:%d" % PORT], capture_output=True).stdout.count(b"LISTEN"):
            up = True
            break
        time.sleep(0.1)
    t.ok(up, "private Postfix listening on 127.0.0.80:%d" % PORT, r.stdout)

    with Instance(t, name="example.test") as q, Dns(["mx-host=pf.test,mx.pf.test,10", "host-record=mx.pf.test,127.0.0.80"]) as d:
        q.control("dnsservers", d.server_line())
        q.control("tlsdestinations", "pf.test:verify:" + ca)
        q.control("outgoingip", "127.0.0.81")
        q.control("smtproutes", "pf.test::%d" % PORT)   # MX, on Postfix's port
        q.maildirmake("alias/joebox")
        q.write("alias/.qmail-joe", "./joebox/\n")
        q.start()
        body = "From: joe@example.test\nTo: user@pf.test\nSubject: to postfix\n\nline one\n.leading dot\nlast\n"
        q.queue(body, "joe@example.test", ["user@pf.test", "other@pf.test", "nobody@pf.test"])
        t.ok(q.wait(lambda: len(maildir("user")) == 1 and len(maildir("other")) == 1, 30), "delivered into Postfix's mailboxes",
             q.logtext() + open(os.path.join(D, "maillog")).read()[-2000:])
        got = open(maildir("user")[0], "rb").read() if maildir("user") else b""
        t.ok(b"\nline one\n.leading dot\nlast\n" in got and b"Subject: to postfix" in got, "the bytes arrived intact", got)
        t.ok(re.search(rb"Received: from example\.test \(unknown \[127\.0\.0\.81\]\)", got), "from control/outgoingip", got)
        t.ok(re.search(rb"with ESMTPS", got), "over TLS", got)
        pat = (r"success: 127\.0\.0\.80_accepted_message\./Remote_host_said:_250_2\.0\.0_Ok:_queued_as_\w+/"
               r"TLS:_TLSv1\.[23]_\S+,_certificate_verified\./")
        q.wait(lambda: len(re.findall(pat, q.logtext())) >= 2, 20)
        log = q.logtext()
        t.eq(len(re.findall(pat, log)), 2, "qmail-send logs each, verified TLS", log)
        t.ok(q.wait(lambda: q.maildir_count("alias/joebox") == 1, 30), "the unknown recipient bounced", log)
        b = q.maildir_texts("alias/joebox")[0] if q.maildir_count("alias/joebox") else ""
        t.ok("<nobody@pf.test>:\n127.0.0.80 does not like recipient.\nRemote host said: 550 5.1.1 <nobody@pf.test>: "
             "Recipient address rejected: User unknown in virtual mailbox table" in b, "with Postfix's text", b)
        # the session is kept open a few seconds for a next message (qmail-rspawn)
        discon = r"postfix/smtpd\[\d+\]: disconnect from .* rcpt=2/3 data=1"
        q.wait(lambda: re.search(discon, open(os.path.join(D, "maillog")).read()), 15)
        ml = open(os.path.join(D, "maillog")).read()
        t.eq(len(re.findall(r"postfix/smtpd\[\d+\]: disconnect from .* rcpt=2/3 data=1", ml)), 1,
             "one connection, one transaction for the three recipients", ml[-1500:])
        q.stop()
finally:
    postfix("stop")
    for _ in range(50):
        if not subprocess.run(["ss", "-ltn", "src", "127.0.0.80:%d" % PORT], capture_output=True).stdout.count(b"LISTEN"):
            break
        time.sleep(0.1)
    shutil.rmtree(D, ignore_errors=True)
t.done()
