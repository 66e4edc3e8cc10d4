#!/usr/bin/env python3
# qmail-send retries: a deferral (a .qmail program exiting 111) is not
# retried before its time, is retried at once on SIGALRM, keeps its next
# retry time across a restart (the channel file's mtime, qmail's schedule
# 100 s, 400 s, ... after birth); past queuelifetime the last try's
# deferral becomes a failure and a bounce.
import email, os, re, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()


def count(q, pat):
    return len(re.findall(pat, q.logtext(), re.M))


def chanfile(q, n):
    return q.path("queue/local/%d/%d" % (int(n) % 23, int(n)))


with Instance(t, name="example.test") as q:
    q.write("alias/.qmail-defer", "|echo not now; exit 111\n")
    q.maildirmake("alias/joebox")
    q.write("alias/.qmail-joe", "./joebox/\n")
    q.start()
    q.queue("Subject: later\n\nx\n", "joe@example.test", ["defer@example.test"])
    t.ok(q.wait(lambda: count(q, r"^delivery 1: deferral: not_now/$") == 1), "deferral logged with the program's output",
         q.logtext())
    n = re.search(r"^new msg (\d+)$", q.logtext(), re.M).group(1)
    f = chanfile(q, n)
    t.ok(os.path.exists(f) and open(f, "rb").read() == b"Tdefer@example.test\0", "recipient still marked T")
    time.sleep(2)
    t.eq(count(q, r"^starting delivery"), 1, "no retry before its time")
    q.send_pid_signal(signal.SIGALRM)
    t.ok(q.wait(lambda: count(q, r"^delivery \d+: deferral:") == 2), "SIGALRM: retried at once")
    time.sleep(0.5)
    t.eq(count(q, r"^starting delivery"), 2, "exactly one retry per SIGALRM")

    # the next retry time survives a restart
    q.stop()
    t.ok("status: exiting" in q.logtext(), "clean exit")
    birth = os.stat(q.path("queue/info/%d/%s" % (int(n) % 23, n))).st_mtime
    gap = int(os.stat(f).st_mtime) - int(birth)
    t.ok(gap in (100, 121, 144, 169), "next retry saved as the mtime: birth + (sqrt(age) + 10)^2", gap)
    q.start()
    time.sleep(1.5)
    t.eq(count(q, r"^starting delivery"), 2, "not retried at restart before its time")
    q.write("alias/.qmail-defer", "./Maildir/\n")
    q.send_pid_signal(signal.SIGALRM)
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") == 1), "delivered on the next try")
    t.ok(q.wait(lambda: re.search(r"^end msg %s$" % n, q.logtext(), re.M) and not os.path.exists(f)),
         "message leaves the queue")
    q.stop()

    # queuelifetime: the last try's deferral is a failure
    q.write("alias/.qmail-defer", "|echo still not; exit 111\n")
    q.control("queuelifetime", "2")
    q.start()
    q.queue("Subject: too old\n\nold\n", "joe@example.test", ["defer@example.test"])
    t.ok(q.wait(lambda: count(q, r"deferral: still_not/$") == 1), "young message: deferral")
    time.sleep(3.2)
    t.eq(q.maildir_count("alias/joebox"), 0, "no bounce while young")
    q.send_pid_signal(signal.SIGALRM)
    want = "failure: still_not/I'm_not_going_to_try_again;_this_message_has_been_in_the_queue_too_long./"
    t.ok(q.wait(lambda: want in q.logtext()), "past queuelifetime: the deferral is logged as a failure", q.logtext())
    t.ok(q.wait(lambda: q.maildir_count("alias/joebox") == 1), "and bounces")
    text = (q.maildir_texts("alias/joebox") or [""])[0]
    t.ok("<defer@example.test>:\nstill not\nI'm not going to try again; this message has been in the queue too long.\n\n"
         in text, "bounce text gives both reasons", text)
    t.ok("Status: 4.0.0" not in text and "Action: failed" in text, "delivery-status says failed")
t.done()
