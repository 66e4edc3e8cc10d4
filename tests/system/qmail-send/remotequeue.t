#!/usr/bin/env python3
# Remote recipients in qmail-send's queue and bounces (issue 5), with a
# real qmail-rspawn/qmail-remote and a sink on 127.0.0.186 that offers
# ENHANCEDSTATUSCODES:
#  - a deferred remote recipient is shown by qmail-qread ("\tremote\t")
#    and counted by qmail-qstat while it waits;
#  - a remote 5xx bounces From: bouncefrom@bouncehost, greeting with
#    bouncehost, the server's enhanced code kept in the human text and in
#    the delivery-status (Status:, Diagnostic-Code: smtp;);
#  - past control/queuelifetime the remote deferral becomes a failure:
#    qmail's "too long" text beside the server's reply, Action: failed;
#  - one message to 150 recipients at one domain goes in transactions of
#    at most 100 recipients (qmail-rspawn(8)), every recipient once.
import email, email.policy, os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-remote"))
from nqtest import Tap, Instance, run
from remotelib import Sink, PORT

t = Tap()
EXT = ("PIPELINING", "SIZE 10000000", "8BITMIME", "ENHANCEDSTATUSCODES")


def rcpt(a):
    if a.startswith("gone"):
        return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % a
    if a.startswith("slow"):
        return "451 4.2.0 <%s>: mailbox busy, try later" % a
    return "250 2.1.5 ok"


def dsn(text):
    m = email.message_from_string(text, policy=email.policy.compat32)
    for part in m.walk():
        if part.get_content_type() == "message/delivery-status":
            return m, [dict((k.lower(), str(v)) for k, v in g.items()) for g in part.get_payload()]
    return m, []


def bounce_for(q, what):
    return ([x for x in q.maildir_texts("alias/joebox") if what in x] or [""])[0]


with Instance(t, name="example.test") as q, Sink("127.0.0.186", ext=EXT, rcpt=rcpt) as s:
    q.control("smtproutes", ":[127.0.0.186]:%d" % PORT)
    q.control("bouncefrom", "Postmeister")
    q.control("bouncehost", "bounces.example.test")
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    q.start()

    # ---- a deferred remote recipient in qmail-qread and qmail-qstat --------
    q.queue("Subject: waiting\n\nx\n", "joe@example.test", ["slow@far.test"])
    t.ok(q.wait(lambda: "deferral: 127.0.0.186_does_not_like_recipient./Remote_host_said:_451_4.2.0" in q.logtext(), 20),
         "remote 4xx: deferral logged", q.logtext())
    r = run([q.bin("qmail-qread")], user=q.as_owner())
    out = r.stdout.decode(errors="replace")
    t.ok(r.returncode == 0 and re.search(r"^\tremote\tslow@far\.test$", out, re.M)
         and re.search(r"#\d+\s+\d+\s+<joe@example\.test>", out), "qmail-qread shows the remote recipient", out)
    r = run([q.bin("qmail-qstat")], user=q.as_owner())
    t.eq(r.stdout.decode(errors="replace"), "messages in queue: 1\nmessages in queue but not yet preprocessed: 0\n",
         "qmail-qstat counts it")

    # ---- a remote 5xx: bouncefrom/bouncehost, enhanced code kept --------------
    q.queue("Subject: to gone\n\nx\n", "joe@example.test", ["gone@far.test"])
    t.ok(q.wait(lambda: bounce_for(q, "Subject: to gone"), 20), "remote 5xx bounced", q.logtext())
    text = bounce_for(q, "Subject: to gone")
    m, g = dsn(text)
    t.eq(m["From"], "Postmeister@bounces.example.test", "From: bouncefrom@bouncehost")
    t.ok("This is the qmail-send program at bounces.example.test." in text, "greeting names bouncehost", text[:600])
    t.ok("<gone@far.test>:\n127.0.0.186 does not like recipient.\nRemote host said: 550 5.1.1 <gone@far.test>: "
         "Recipient address rejected: User unknown\n" in text, "human text: qmail's words, the reply with its enhanced code", text)
    rg = g[1] if len(g) > 1 else {}
    t.eq(rg.get("status"), "5.1.1", "Status: the peer's ENHANCEDSTATUSCODES code")
    t.eq(re.sub(r"\s+", " ", rg.get("diagnostic-code", "")),
         "smtp; 550 5.1.1 <gone@far.test>: Recipient address rejected: User unknown", "Diagnostic-Code: smtp; with the code")
    t.eq(rg.get("remote-mta"), "dns; 127.0.0.186", "Remote-MTA")
    q.stop()

    # ---- queuelifetime: the remote deferral becomes a failure ---------------
    q.control("queuelifetime", "2")
    # older than 2 s in whole seconds (qmail compares time(0) - birth > lifetime)
    time.sleep(3.2)
    mark = len(q.logtext())
    q.start()
    up = q.wait(lambda: "status: local" in q.logtext()[mark:], 30)
    t.ok(up, "qmail-send started again", [(p["pid"], p["comm"], p["state"], p["uid"]) for p in q.session_procs()])
    q.send_pid_signal(signal.SIGALRM)
    want = ("failure: 127.0.0.186_does_not_like_recipient./Remote_host_said:_451_4.2.0_<slow@far.test>:_mailbox_busy,_try_later/"
            "Giving_up_on_127.0.0.186./I'm_not_going_to_try_again;_this_message_has_been_in_the_queue_too_long./")
    t.ok(q.wait(lambda: want in q.logtext(), 20), "past queuelifetime: the remote deferral is a failure", q.logtext()[-4000:])
    t.ok(q.wait(lambda: bounce_for(q, "Subject: waiting"), 20), "and bounces")
    text = bounce_for(q, "Subject: waiting")
    t.ok("<slow@far.test>:\n127.0.0.186 does not like recipient.\nRemote host said: 451 4.2.0 <slow@far.test>: mailbox busy, try later\n"
         "Giving up on 127.0.0.186.\nI'm not going to try again; this message has been in the queue too long.\n" in text, "bounce: the reply and qmail's reason", text)
    m, g = dsn(text)
    t.eq(g[1].get("action") if len(g) > 1 else None, "failed", "Action: failed")
    t.ok(q.wait(lambda: run([q.bin("qmail-qstat")], user=q.as_owner()).stdout.startswith(b"messages in queue: 0\n"), 10),
         "the queue is empty afterwards")
    q.stop()
    os.unlink(q.path("control/queuelifetime"))

    # ---- 150 recipients at one domain: transactions of at most 100 ----------
    s.messages.clear()
    q.start()
    rc = ["u%d@big.test" % i for i in range(150)]
    q.queue("Subject: many\n\nx\n", "joe@example.test", rc)
    t.ok(q.wait(lambda: len(re.findall(r"^delivery \d+: success", q.logtext(), re.M)) >= 150, 40), "150 deliveries",
         q.logtext()[-1000:])
    s.settle()
    got = [r for x in s.messages for r in x.rcpts]
    t.eq(sorted(got), sorted(rc), "every recipient once")
    sizes = [len(x.rcpts) for x in s.messages]
    t.ok(sizes and max(sizes) <= 100 and len(sizes) >= 2, "at most 100 recipients per transaction", sizes)
    q.stop()
t.done()
