#!/usr/bin/env python3
# QMAILQUEUE (as in netqmail): qmail-smtpd runs that program instead of
# qmail-queue, so a content filter sees the message (with qmail-smtpd's
# Received line) and the envelope, and its exit code decides the reply:
# 0 accepted (250), 11-40 permanent (554), others temporary (451), 82
# with its own reason on descriptor 6.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtpdlib import prepare, Server, Raw, queued, clear
from nqtest import Tap, Instance

t = Tap()
with Instance(t, name="example.test") as q:
    prepare(q)
    rec = q.path("rec")
    os.makedirs(rec)
    os.chmod(rec, 0o777)
    filt = q.write("filter", "#!/bin/sh\n"
                   "cat > %s/msg\n"
                   "cat 0<&1 > %s/env\n"
                   "case \"$(cat %s/msg)\" in\n"
                   "*PERM*) exit 31 ;;\n"
                   "*TEMP*) exit 71 ;;\n"
                   "*CUSTOM*) printf 'Dvirus found (#5.7.1)' >&6; exit 82 ;;\n"
                   "*PASS*) printf '%%s' \"$(cat %s/msg)\" | %s 1<%s/env; exit $? ;;\n"
                   "esac\n"
                   "exit 0\n" % (rec, rec, rec, rec, q.bin("qmail-queue"), rec), mode=0o755)
    with Server(q, env={"QMAILQUEUE": filt}) as s:
        def send(body):
            r = Raw(s.port)
            r.reply()
            r.cmd("EHLO client.test")
            r.cmd("MAIL FROM:<s@a.test>")
            r.cmd("RCPT TO:<postmaster@example.test>")
            r.cmd("DATA")
            code, text = r.cmd(body + "\r\n.")
            r.cmd("QUIT")
            return code, text
        clear(q)
        code, text = send("Subject: plain\r\n\r\nclean")
        t.eq(code, 250, "filter exit 0: 250", text)
        msg = open(os.path.join(rec, "msg"), "rb").read()
        env = open(os.path.join(rec, "env"), "rb").read()
        t.ok(msg.startswith(b"Received: from unknown (HELO client.test)") and msg.endswith(b"clean\n"),
             "the filter got the message with qmail-smtpd's Received line", msg)
        t.eq(env, b"Fs@a.test\0Tpostmaster@example.test\0\0", "the filter got the envelope")
        t.ok(not queued(q), "the real queue was not used")
        code, text = send("Subject: x\r\n\r\nPERM")
        t.ok(code == 554 and "5.3.0" in text, "filter exit 31: 554", text)
        code, text = send("Subject: x\r\n\r\nTEMP")
        t.ok(code == 451 and "4.3.0" in text, "filter exit 71: 451", text)
        code, text = send("Subject: x\r\n\r\nCUSTOM")
        t.ok(code == 554 and "virus found" in text, "filter exit 82 with a reason: 554 and the reason", text)
        code, text = send("Subject: x\r\n\r\nPASS")
        t.eq(code, 250, "a filter that passes to qmail-queue: 250", text)
        m = queued(q)
        t.ok(len(m) == 1 and m[0].rcpts == ["postmaster@example.test"], "and the message is queued")
t.done()
