#!/usr/bin/env python3
# qmail-showctl: the instance's settings, every control file nqmail knows
# (every one a program in src/ reads) with its value or "(Default.)" and
# the default, the listen files' defaults for root and single-user
# instances, unknown files named, unreadable values reported with exit
# 111, never a secret printed.
# smoke
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance, TestUser, IS_ROOT, run, unique_user

t = Tap()
KNOWN = """aliases authratelimit authsenders authservid badmailfrom badrcptto bouncefrom bouncehost
concurrencyincoming concurrencylocal concurrencyremote databytes defaultdelivery defaultdomain
defaulthost dkim dkimverify dmarcpolicy dnsservers doublebouncehost doublebounceto envnoathost greetdelay helohost idhost
localiphost locals loginsenders maxperip maxrcpt me milters moreipme morercpthosts morercpthosts.cdb mtasts mtastscafile
notipme outgoingip outgoingip6 percenthack plusdomain pop3-listen pop3plainloopback pop3s-listen qmqpservers
queuelifetime rcptcheck rcpthosts servercert.pem smtpauth smtpd-listen smtpgreeting smtproutes
smtps-listen spfpolicy srs srsdomain srsmaxage submission-listen tcp.smtp tcp.smtp.cdb tcpremotehost timeoutconnect timeoutremote
timeoutsmtpd tlsdestinations reuseconnections qmqp-listen qmtp-listen tcp.qmqp tcp.qmqp.cdb tcp.qmtp tcp.qmtp.cdb tlsserverciphers virtualdomains""".split()

# Every control file a program reads must be in KNOWN: the names given
# to the control-file readers in src/, and "control/NAME" strings.
import re
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src")
read = set()
for sub in ("cmd", "mail"):
    for f in os.listdir(os.path.join(SRC, sub)):
        if f.endswith(".c") and f != "qmail-showctl.c":
            text = open(os.path.join(SRC, sub, f), errors="replace").read()
            # the first lower-case string given to a control-file reader
            for args in re.findall(r'\b(?:control_read\w*|readdef|setting|addrlist_load)\(([^;{]*)', text):
                # a file below a directory of control/ counts as the directory
                names = re.findall(r'"([a-z0-9][a-z0-9.+-]*)(?:/[^"]*)?"', args)
                if names:
                    read.add(names[0])
            read.update(re.findall(r'"control/([A-Za-z0-9.+-]+)[/"]', text))


def show(q):
    r = run([q.bin("qmail-showctl")], user=q.as_owner())
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def entry(out, name):
    """The text qmail-showctl prints for one file (up to the next blank line)."""
    key = "\n%s: " % name
    i = out.find(key)
    if i < 0:
        return None
    j = out.find("\n\n", i + 1)
    return out[i + len(key):j if j >= 0 else len(out)].rstrip("\n")


LISTEN = ("smtpd", "submission", "smtps", "pop3", "pop3s")


def no_listen_files(q):
    """The test harness writes empty listen files (nothing may listen on
    public addresses); the defaults shown here are those of missing ones."""
    for k in LISTEN:
        try:
            os.unlink(q.path("control/%s-listen" % k))
        except FileNotFoundError:
            pass


with Instance(t, name="show.example.test") as q:
    no_listen_files(q)
    rc, out, err = show(q)
    t.eq(rc, 0, "exit 0 on a fresh instance")
    t.ok(out.startswith("qmail home directory: %s.\n" % q.dir), "it names the home directory", out[:200])
    ids = q.role_ids()
    t.ok("user ids: alias %d, qmaild %d" % (ids["alias"][0], ids["qmaild"][0]) in out, "it lists the role uids")
    t.ok(("instance: root" if q.mode == "root" else "instance: single-user") in out, "it says which kind of instance")
    t.ok("subdirectory split: 23." in out and "silent concurrency limit: 120." in out, "compiled-in limits")
    missing = [n for n in KNOWN if entry(out, n) is None]
    t.eq(missing, [], "every known control file is explained")
    t.eq(sorted(read - set(KNOWN)), [], "every control file the programs read is known", sorted(read))
    t.ok(entry(out, "rcptcheck").startswith("(Default.) Recipient check at RCPT time is 1"), "rcptcheck default",
         entry(out, "rcptcheck"))
    t.eq(entry(out, "maxrcpt"), "(Default.) SMTP recipients per message: at most 1000 (0: the default, 1000).", "maxrcpt default")
    t.ok(entry(out, "greetdelay").startswith("(Default.) SMTP greeting delay is 0"), "greetdelay default")
    t.ok(entry(out, "maxperip").startswith("(Default.) SMTP sessions at once from one client address: at most 0"),
         "maxperip default")
    t.ok(entry(out, "concurrencyincoming").startswith("(Default.)") and "100" in entry(out, "concurrencyincoming"),
         "concurrencyincoming default 100")
    t.ok("self-signed by qmail-mkcert for show.example.test" in entry(out, "servercert.pem"),
         "servercert.pem: setup's certificate, for the instance's name", entry(out, "servercert.pem"))
    t.ok("only to addresses without a domain" not in entry(out, "rcpthosts"), "rcpthosts set by config-fast")
    if q.mode == "root":
        t.eq(entry(out, "smtpd-listen"),
             "(Default.) SMTP listens on 0.0.0.0:25 and [::]:25 (every address, IPv4 and IPv6).",
             "root instance: smtpd-listen defaults to every address on 25")
        t.ok("0.0.0.0:587 and [::]:587" in entry(out, "submission-listen") and
             "0.0.0.0:465 and [::]:465" in entry(out, "smtps-listen"), "submission 587, smtps 465")
        t.eq(entry(out, "pop3-listen"),
             "(Default.) POP3 listens on 0.0.0.0:110 and [::]:110 (every address, IPv4 and IPv6).",
             "root instance: pop3-listen defaults to every address on 110")
        t.ok("0.0.0.0:995 and [::]:995" in entry(out, "pop3s-listen"), "pop3s 995")
    t.ok(all("does not start" not in entry(out, k + "-listen") for k in LISTEN), "qmailctl starts SMTP and POP3")
    t.ok(entry(out, "pop3plainloopback").startswith("(Default.)") and "0" in entry(out, "pop3plainloopback"),
         "pop3plainloopback default 0", entry(out, "pop3plainloopback"))
    t.eq(entry(out, "me"), "My name is show.example.test.", "me")
    t.eq(entry(out, "locals"), "\nMessages for show.example.test are delivered locally.", "locals, one line per host")
    t.eq(entry(out, "concurrencylocal"), "(Default.) Local concurrency is 10.", "a default number")
    t.eq(entry(out, "bouncehost"), "(Default.) Bounce host name is show.example.test.", "a default taken from me")
    t.eq(entry(out, "queuelifetime"), "(Default.) Message lifetime in the queue is 604800 seconds.", "queuelifetime default")
    t.ok(entry(out, "defaultdelivery").startswith("(Default.)") and "./Maildir/" in entry(out, "defaultdelivery"),
         "defaultdelivery defaults to ./Maildir/")
    t.ok("(Default.)" in entry(out, "smtpd-listen") and ":25" in entry(out, "smtpd-listen"), "smtpd-listen default")
    t.ok("I have no idea" not in out, "no unknown file in a fresh instance", out)

    q.control("concurrencylocal", "200")
    q.control("bogus", "x")
    q.control("smtpd-listen", "127.0.0.1:2525\n[::1]:2525")
    q.control("submission-listen", "")
    q.control("servercert.pem", "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n")
    q.control("smtpauth", "relay.test:joe:SECRETPASSWORD")
    os.unlink(q.path("control/rcpthosts"))
    q.control("morercpthosts", "more.example.test")
    q.control("me", "odd\x01name.test")
    q.control("defaultdelivery", "|preline procmail\n./Maildir/")
    rc, out, err = show(q)
    t.eq(rc, 0, "exit 0 with these files")
    t.ok("200" in entry(out, "concurrencylocal") and "silent limit makes it 120" in entry(out, "concurrencylocal"),
         "a concurrency above the silent limit is explained", entry(out, "concurrencylocal"))
    t.eq(entry(out, "bogus"), "I have no idea what this file does.", "an unknown file is named")
    t.ok("127.0.0.1:2525" in entry(out, "smtpd-listen") and "[::1]:2525" in entry(out, "smtpd-listen"),
         "listen addresses shown", entry(out, "smtpd-listen"))
    t.ok(entry(out, "submission-listen").startswith("Off"), "an empty listen file means off", entry(out, "submission-listen"))
    t.ok("SECRETKEY" not in out, "the key is never printed")
    t.ok("SECRETPASSWORD" not in out and entry(out, "smtpauth").startswith("Credentials"),
         "smtpauth: there, never printed", entry(out, "smtpauth"))
    t.ok("anyone may read it" in entry(out, "smtpauth"), "a world-readable smtpauth is pointed out")
    t.ok("self-signed" not in entry(out, "servercert.pem"), "another certificate is not called qmail-mkcert's")
    t.ok(entry(out, "rcpthosts").startswith("(Default.)") and "no open relay" in entry(out, "rcpthosts"),
         "no rcpthosts: no relaying at all, unlike qmail", entry(out, "rcpthosts"))
    t.ok("morercpthosts.cdb doesn't" in entry(out, "morercpthosts.cdb"), "a missing compiled cdb is reported")
    t.eq(entry(out, "me"), "My name is odd?name.test.", "control characters shown as ?")
    t.ok("|preline procmail" in entry(out, "defaultdelivery") and "./Maildir/" in entry(out, "defaultdelivery"),
         "every line of defaultdelivery shown", entry(out, "defaultdelivery"))

    q.control("databytes", "lots")
    rc, out, err = show(q)
    t.eq(rc, 111, "a malformed number makes it exit 111")
    t.ok(entry(out, "databytes").startswith("Oops!"), "and says Oops! for that file", entry(out, "databytes"))
    t.ok(entry(out, "virtualdomains") is not None, "the files after it are still shown")
    r = run([q.bin("qmail-showctl"), "extra"])
    t.eq(r.returncode, 100, "an argument is a usage error")

if IS_ROOT:
    u = TestUser(unique_user("shw"))
    try:
        with Instance(t, name="single.example.test", mode="single", owner=u.name) as q:
            no_listen_files(q)
            rc, out, err = show(q)
            t.eq(rc, 0, "single-user: exit 0")
            t.ok("instance: single-user" in out and "user ids: alias %d," % u.uid in out,
                 "single-user: every role is the owner", out[:600])
            t.ok(all(entry(out, k + "-listen").startswith("(Default.) Off") for k in LISTEN),
                 "single-user: the SMTP and POP3 listeners default to off", entry(out, "pop3-listen"))
    finally:
        u.remove()
t.done()
