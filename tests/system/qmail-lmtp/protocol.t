#!/usr/bin/env python3
# qmail-lmtp against small LMTP servers written here (TCP on loopback and
# a unix socket), run as qmail-local runs it (message on stdin, SENDER,
# RECIPIENT, DTLINE): the commands it sends (LHLO, MAIL FROM with
# BODY=8BITMIME and SIZE when offered, RCPT TO from $RECIPIENT or -r);
# the data: DTLINE in front (not with -n), CRLF line ends, dot-stuffing, a
# bare CR made a line end, a last line without LF finished, one "." at the
# end; the exit codes: 2xx 0, 5xx 100 with the whole multi-line reply on
# stderr, 4xx 111; the list of servers: a dead one, a 554 greeting, an
# SMTP server refusing LHLO, a 4xx for the recipient or for the message
# pass the message to the next (from the start of the message again);
# silence after the data stops there (111, no second delivery now); a
# server that never answers times out (-t); usage mistakes defer (111).
# smoke
import os, shutil, socket, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, BUILD

t = Tap()
LMTP = os.path.join(BUILD, "bin", "qmail-lmtp")


SERVERS = []


def settle(timeout=5):
    """Wait until no server is still in a session: qmail-lmtp may exit
    right after its QUIT, before the server's thread has recorded it."""
    end = time.time() + timeout
    while time.time() < end and any(x.active for x in SERVERS):
        time.sleep(0.01)


class Server:
    """One LMTP server. replies: stage -> reply text (lines joined by \\n,
    sent CRLF) or "close" (hang up at that stage) or "silent" (say
    nothing, keep the connection). Stages: greeting lhlo mail rcpt data
    end. Records the commands and the raw data of each session."""

    def __init__(self, replies=None, unix=None):
        self.replies = {"greeting": "220 lmtp.test LMTP ready", "lhlo": "250-lmtp.test\n250-PIPELINING\n250-8BITMIME\n250 SIZE 1000000",
                        "mail": "250 2.1.0 ok", "rcpt": "250 2.1.5 ok", "data": "354 go ahead", "end": "250 2.0.0 saved"}
        self.replies.update(replies or {})
        self.cmds, self.data, self.sessions = [], [], 0
        self.active = False
        SERVERS.append(self)
        if unix:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.bind(unix)
            self.spec = "unix:" + unix
        else:
            self.s = socket.socket()
            self.s.bind(("127.0.0.1", 0))
            self.spec = "127.0.0.1:%d" % self.s.getsockname()[1]
        self.s.listen(5)
        self.s.settimeout(0.2)
        self.stop = False
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except OSError:
                continue
            self.sessions += 1
            self.active = True
            try:
                self.session(c)
            except OSError:
                pass
            finally:
                c.close()
                self.active = False

    def say(self, c, stage):
        r = self.replies[stage]
        if r == "close":
            return False
        if r == "silent":
            time.sleep(5)
            return False
        c.sendall(("\r\n".join(r.split("\n")) + "\r\n").encode())
        return True

    def session(self, c):
        c.settimeout(10)
        f = c.makefile("rb")
        if not self.say(c, "greeting"):
            return
        while True:
            line = f.readline()
            if not line:
                return
            self.cmds.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            verb = line[:4].upper()
            stage = {b"LHLO": "lhlo", b"MAIL": "mail", b"RCPT": "rcpt", b"DATA": "data"}.get(verb)
            if verb == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            if stage is None:
                c.sendall(b"500 what\r\n")
                continue
            if not self.say(c, stage):
                return
            if stage == "data" and self.replies["data"].startswith("354"):
                raw = b""
                while not raw.endswith(b"\r\n.\r\n"):
                    d = f.readline()
                    if not d:
                        return
                    raw += d
                self.data.append(raw)
                if not self.say(c, "end"):
                    return

    def close(self):
        self.stop = True
        self.th.join(5)
        self.s.close()


LAST = {}


def lmtp(args, message=b"Subject: x\n\nhello\n", env=None, onfile=True, timeout=60):
    LAST["start"] = time.time()
    e = {"PATH": "/usr/bin:/bin", "SENDER": "from@example.test", "RECIPIENT": "joe@dove.test",
         "DTLINE": "Delivered-To: alias-dove-joe@dove.test\n"}
    e.update(env or {})
    e = {k: v for k, v in e.items() if v is not None}
    if onfile:
        f = tempfile.TemporaryFile()
        f.write(b"not the message\n")
        pos = f.tell()
        f.write(message)
        f.seek(pos)
        p = subprocess.run([LMTP] + args, stdin=f, capture_output=True, env=e, timeout=timeout)
        f.close()
    else:
        p = subprocess.run([LMTP] + args, input=message, capture_output=True, env=e, timeout=timeout)
    LAST["elapsed"] = time.time() - LAST["start"]
    settle()
    return p.returncode, p.stderr.decode("utf-8", "replace")


def dead():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % p


# The conversation and the data.
s = Server()
msg = b"Subject: dots\n\n.\n.leading\n..two\na\rb\nd\xe9j\xe0\nno newline at the end"
code, err = lmtp([s.spec], msg)
t.eq(code, 0, "2xx after the data: exit 0", err)
t.ok("delivered: 250 2.0.0 saved" in err, "the server's answer on stderr (for qmail-send's log)", err)
t.eq(s.cmds[1:4], ["MAIL FROM:<from@example.test> BODY=8BITMIME SIZE=%d" % (len(msg) + len("Delivered-To: alias-dove-joe@dove.test\n")),
                  "RCPT TO:<joe@dove.test>", "DATA"], "MAIL FROM with BODY and SIZE, RCPT TO $RECIPIENT, DATA", s.cmds)
t.ok(s.cmds[0].startswith("LHLO ") and len(s.cmds[0]) > 5, "LHLO names this host", s.cmds)
want = (b"Delivered-To: alias-dove-joe@dove.test\r\nSubject: dots\r\n\r\n..\r\n..leading\r\n...two\r\n"
        b"a\r\nb\r\nd\xe9j\xe0\r\nno newline at the end\r\n.\r\n")
t.eq(s.data[0] if s.data else None, want, "DTLINE first, CRLF, dot-stuffing, bare CR ended, last line finished, one dot")
t.eq(s.cmds[-1:], ["QUIT"], "QUIT at the end")
s.cmds, s.data = [], []
code, err = lmtp(["-n", "-r", "ann@dove.test", s.spec], b"Subject: y\n\nz\n", env={"SENDER": ""}, onfile=False)
t.eq(code, 0, "-n -r, null sender, message on a pipe: exit 0", err)
t.eq(s.cmds[1:3], ["MAIL FROM:<> BODY=8BITMIME", "RCPT TO:<ann@dove.test>"],
     "MAIL FROM:<> (no SIZE from a pipe), RCPT TO the -r address", s.cmds)
t.eq(s.data[0] if s.data else None, b"Subject: y\r\n\r\nz\r\n.\r\n", "-n: no Delivered-To added")
s.close()

# Refusals and deferrals, multi-line replies.
s = Server({"rcpt": "550-5.1.1 <joe@dove.test> no such user here\n550-5.1.1 second line of the reason\n550 5.1.1 third line"})
code, err = lmtp([s.spec])
t.eq(code, 100, "a multi-line 550 for the recipient: exit 100", err)
t.ok("RCPT TO refused" in err and "no such user here" in err and "second line of the reason" in err and "550 5.1.1 third line" in err,
     "every line of the reply on stderr (the bounce)", err)
t.eq(s.data, [], "no data sent")
s.close()

ok_server = Server()
s = Server({"rcpt": "452-4.2.2 mailbox full\n452 4.2.2 try later"})
code, err = lmtp([s.spec])
t.eq(code, 111, "a multi-line 452 for the recipient: exit 111", err)
t.ok("RCPT TO deferred" in err and "mailbox full" in err and "452 4.2.2 try later" in err, "with the whole reply", err)
code, err = lmtp([s.spec, ok_server.spec])
t.ok(code == 0 and len(ok_server.data) == 1, "and with a second server, the second one takes it", err)
s.close()

s = Server({"end": "451-4.3.0 temporary failure\n451 4.3.0 while saving"})
ok_server.data = []
code, err = lmtp([s.spec])
t.eq(code, 111, "451 after the data: exit 111", err)
t.ok("message deferred" in err and "while saving" in err, "says so", err)
code, err = lmtp([s.spec, ok_server.spec], b"Subject: again\n\nfrom the start\n")
t.ok(code == 0 and ok_server.data and ok_server.data[0].endswith(b"Subject: again\r\n\r\nfrom the start\r\n.\r\n"),
     "after a 451 at the end, the next server gets the whole message again", (err, ok_server.data))
s.close()

s = Server({"end": "554-5.6.0 message refused\n554 5.6.0 content"})
code, err = lmtp([s.spec, ok_server.spec])
t.ok(code == 100 and "message refused" in err and "content" in err, "554 after the data: exit 100, no other server asked", err)
s.close()

s = Server({"end": "close"})
ok_server.data = []
code, err = lmtp([s.spec, ok_server.spec])
t.eq(code, 111, "connection lost after the data: exit 111", err)
t.ok(ok_server.data == [] and "may have been delivered" in err, "and no second server now (no double delivery)", err)
s.close()

# Servers passed over.
greet = Server({"greeting": "554 5.3.2 not now"})
smtp = Server({"lhlo": "500 5.5.1 unrecognized command"})
ok_server.data = []
code, err = lmtp([dead(), greet.spec, smtp.spec, "localhost:24", ok_server.spec])
t.eq(code, 0, "dead, 554 greeting, LHLO refused, a host name: all passed over, the last delivers", err)
t.ok("unable to connect" in err and "greeting" in err and "LHLO" in err and "not unix:PATH" in err,
     "each failure reported", err)
t.eq(len(ok_server.data), 1, "delivered once")
code, err = lmtp([dead(), greet.spec])
t.ok(code == 111 and "no LMTP server took the message" in err, "none takes it: exit 111", err)
greet.close()
smtp.close()

# A unix socket.
d = tempfile.mkdtemp(prefix="nqt-lmtp-")
u = Server(unix=os.path.join(d, "lmtp"))
code, err = lmtp([u.spec])
t.ok(code == 0 and len(u.data) == 1, "unix:PATH works", err)
u.close()
code, err = lmtp(["unix:" + os.path.join(d, "gone")])
t.ok(code == 111 and "unable to connect" in err, "a missing socket: exit 111", err)

# Timeouts.
s = Server({"greeting": "silent"})
start = time.time()
code, err = lmtp(["-t", "1", s.spec])
t.ok(code == 111 and "timed out" in err and LAST["elapsed"] < 4, "a silent server: -t 1 times out, exit 111", err)
s.close()

# Mistakes in the .qmail line defer.
for args, env, why in (([], None, "no server"), (["-x", ok_server.spec], None, "an unknown option"),
                       ([ok_server.spec], {"SENDER": None}, "no SENDER"),
                       ([ok_server.spec], {"RECIPIENT": None}, "no RECIPIENT and no -r"),
                       ([ok_server.spec], {"RECIPIENT": "a\rb@c"}, None)):
    code, err = lmtp(args, env=env)
    if why:
        t.eq(code, 111, "%s: exit 111" % why, err)
    else:
        t.eq(code, 100, "a recipient holding a CR: exit 100", err)
ok_server.close()
shutil.rmtree(d, ignore_errors=True)
t.done()
