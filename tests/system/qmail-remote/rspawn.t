#!/usr/bin/env python3
# qmail-rspawn under qmail-send (qmail-rspawn(8), qmail-send(8)): remote
# recipients are delivered by SMTP and logged as qmail logs them
# ("delivery N: success: 127.0.0.60_accepted_message./Remote_host_said:_
# 250_.../"), one starting/delivery pair per recipient although the
# recipients of a message at one domain share one SMTP transaction;
# a 4xx deferral is retried after ALRM and after `qmailctl flush`; a 5xx
# bounces to the sender with the remote's whole text; recipients at two
# domains make two connections; qmail-rspawn runs as qmailr; QMAILREMOTE
# runs a site's own qmail-remote with qmail's command line; a
# single-user instance delivers remotely too. Sinks on 127.0.0.60-64.
import os, re, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nqtest import Tap, Instance, TestUser, unique_user, IS_ROOT, run, proc_uid
from remotelib import Sink, Dns, MXROUTE

t = Tap()
DNS = ["mx-host=far.test,mx.far.test,10", "host-record=mx.far.test,127.0.0.60",
       "mx-host=other.test,mx.other.test,10", "host-record=mx.other.test,127.0.0.61"]
state = {"n": 0}


def rcpt(a):
    if a.startswith("bad"):
        return "550-5.1.1 the mailbox bad does not exist\r\n550 5.1.1 see you"
    if a.startswith("later"):
        state["n"] += 1
        return "451 4.2.1 come back later" if state["n"] == 1 else "250 ok"
    return "250 ok"


with Instance(t, name="example.test") as q, Dns(DNS) as d:
    q.control("dnsservers", d.server_line())
    q.control("smtproutes", MXROUTE)
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    with Sink("127.0.0.60", rcpt=rcpt, final="250 2.0.0 ok: queued as X1") as s, Sink("127.0.0.61") as o:
        q.start()
        q.queue("Subject: hi\n\nbody\n", "joe@example.test",
                ["a@far.test", "b@far.test", "bad@far.test", "c@other.test"])
        t.ok(q.wait(lambda: len(re.findall(r"^end msg", q.logtext(), re.M)) >= 1 and q.maildir_count("alias/joebox") == 1, 30),
             "delivered, bounced, done", q.logtext())
        log = q.logtext()
        t.eq(len(re.findall(r"^starting delivery \d+: msg \d+ to remote ", log, re.M)), 4, "one starting line per recipient", log)
        t.eq(len(re.findall(r"^delivery \d+: success: 127\.0\.0\.60_accepted_message\./Remote_host_said:_250_2\.0\.0_ok:_queued_as_X1/$",
                            log, re.M)), 2, "qmail's success lines", log)
        t.ok(re.search(r"^delivery \d+: failure: 127\.0\.0\.60_does_not_like_recipient\./Remote_host_said:_550-5\.1\.1_the_mailbox_bad_does_not_exist/550_5\.1\.1_see_you/$",
                       log, re.M), "failure line with the multi-line reply", log)
        t.ok(re.search(r"^delivery \d+: success: 127\.0\.0\.61_accepted_message\./", log, re.M), "the other domain", log)
        s.settle()
        o.settle()
        t.eq(len(s.sessions), 1, "three recipients at far.test: one connection")
        t.ok(len(s.messages) == 1 and sorted(s.messages[0].rcpts) == ["a@far.test", "b@far.test"], "one transaction",
             s.messages)
        t.eq(len(o.messages), 1, "other.test: its own connection")
        b = q.maildir_texts("alias/joebox")[0] if q.maildir_count("alias/joebox") else ""
        t.ok("<bad@far.test>:\n127.0.0.60 does not like recipient.\nRemote host said: 550-5.1.1 the mailbox bad does not exist\n550 5.1.1 see you\n" in b,
             "the bounce has qmail's text and the whole reply", b)
        if q.mode == "root":
            uids = set()
            for p in q.session_procs():
                if p["exe"] == q.bin("qmail-rspawn"):
                    uids.add(p["uid"])
            t.eq(uids, {q.role_ids()["qmailr"][0]}, "qmail-rspawn runs as qmailr")

        # a deferral, retried on ALRM
        mark = len(q.logtext())
        q.queue("Subject: later\n\nx\n", "joe@example.test", ["later@far.test"])
        t.ok(q.wait(lambda: re.search(r"deferral: 127\.0\.0\.60_does_not_like_recipient\./Remote_host_said:_451_4\.2\.1_come_back_later/",
                                      q.logtext()[mark:]), 20), "4xx: deferral logged", q.logtext()[mark:])
        t.ok(not re.search(r"^end msg", q.logtext()[mark:], re.M), "still queued")
        q.send_pid_signal(signal.SIGALRM)
        t.ok(q.wait(lambda: re.search(r"^end msg", q.logtext()[mark:], re.M), 20), "ALRM: retried and delivered", q.logtext()[mark:])
        q.stop()

    # QMAILREMOTE: a wrapper with qmail's command line
    rec = os.path.join(q.base, "args")
    wrapper = q.write("bin/my-remote", "#!/bin/sh\necho \"$@\" >> %s\nexec %s \"$@\"\n" % (rec, q.bin("qmail-remote")), mode=0o755,
                      owner="root" if q.mode == "root" else None)
    os.chmod(q.base, 0o755)
    open(rec, "w").close()
    os.chmod(rec, 0o666)
    with Sink("127.0.0.60") as s:
        os.environ["QMAILREMOTE"] = wrapper
        try:
            mark = len(q.logtext())
            q.start()
        finally:
            del os.environ["QMAILREMOTE"]
        q.queue("Subject: w\n\nx\n", "joe@example.test", ["x@far.test", "y@far.test"])
        t.ok(q.wait(lambda: re.search(r"^end msg", q.logtext()[mark:], re.M), 20), "delivered through QMAILREMOTE", q.logtext()[mark:])
        t.eq(open(rec).read(), "far.test joe@example.test x@far.test y@far.test\n", "host sender recip recip")
        q.stop()

    # qmailctl flush: the timeout table is emptied and the queue retried
    state["n"] = 0
    env = dict(os.environ, NQ_NO_DAEMONTOOLS="1")
    env.pop("NQMAIL_HOME", None)
    for kind in ("smtpd", "submission", "smtps", "pop3", "pop3s"):
        q.control(kind + "-listen", "")      # qmail-send only, no SMTP listener
    with Sink("127.0.0.60", rcpt=rcpt) as s:
        r = run([q.bin("qmailctl"), "start"], env=env, user=q.as_owner())
        t.eq(r.returncode, 0, "qmailctl start", r.stderr)
        logf = q.path("log/qmail-send/current")
        logt = lambda: open(logf, errors="replace").read() if os.path.exists(logf) else ""
        q.wait(lambda: "status:" in logt(), 10)
        q.queue("Subject: later\n\nx\n", "joe@example.test", ["later@far.test"])
        t.ok(q.wait(lambda: "deferral: 127.0.0.60_does_not_like_recipient" in logt(), 20), "deferred", logt())
        with open(q.path("queue/lock/tcpto"), "ab") as f:
            f.write(b"\4\2" + b"\0" * 30)
        r = run([q.bin("qmailctl"), "flush"], env=env, user=q.as_owner())
        t.eq(r.returncode, 0, "qmailctl flush", r.stderr)
        t.ok(q.wait(lambda: "success: 127.0.0.60_accepted_message" in logt(), 20), "flush: retried now", logt())
        t.eq(os.path.getsize(q.path("queue/lock/tcpto")), 0, "and the timeout table emptied")
        run([q.bin("qmailctl"), "stop"], env=env, user=q.as_owner())

if IS_ROOT:
    u = TestUser(unique_user("rsp"))
    try:
        with Instance(t, name="single.test", mode="single", owner=u.name) as q, Dns(DNS) as d:
            q.control("dnsservers", d.server_line())
            with Sink("127.0.0.62", port=2626) as s:
                q.control("smtproutes", ":[127.0.0.62]:2626")
                q.start()
                r = q.inject("To: someone@far.test\nSubject: single\n\nhello\n")
                t.eq(r.returncode, 0, "single-user: qmail-inject", r.stderr)
                t.ok(q.wait(lambda: "success: 127.0.0.62_accepted_message" in q.logtext(), 20), "single-user: delivered remotely",
                     q.logtext())
                s.settle()
                t.ok(s.messages and s.messages[0].rcpts == ["someone@far.test"] and b"Subject: single" in s.messages[0].data,
                     "single-user: the message", s.messages)
                q.stop()
    finally:
        u.remove()
t.done()
