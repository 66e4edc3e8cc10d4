#!/usr/bin/env python3
# smoke
# qmail-metrics prints valid Prometheus text (checked by a strict parser):
# the queue's gauges (messages, bytes, by state, recipients, oldest age,
# qmail-send running) from a real queue, and concurrency and counters
# from qmail-send's log since its last start: a real log, and a crafted
# one with multilog stamps, splogger lines and a restart, whose figures
# are written here by hand. -H answers an HTTP request (tcpserver).
import os, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qmail-qctl"))
sys.path.insert(0, HERE)
from qtools import queue_msgs, preprocess, set_age, qctl, start, stop
from promparse import parse, value
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run, wait

t = Tap()
NAME = "example.test"
PM = "postmaster@" + NAME

CRAFTED = """@400000006500000000000000 status: local 0/10 remote 0/20
@400000006500000000000001 new msg 100
@400000006500000000000002 info msg 100: bytes 300 from <a@b> qp 1 uid 0
@400000006500000000000003 starting delivery 1: msg 100 to local x@example.test
@400000006500000000000004 status: local 1/10 remote 0/20
@400000006500000000000005 delivery 1: success: did_1+0+0/
@400000006500000000000006 status: exiting
@400000006500000000000007 status: local 0/10 remote 0/20
Nov 29 17:00:00 host qmail: 1701277200.000001 new msg 200
Nov 29 17:00:00 host qmail: 1701277200.000002 new msg 201
starting delivery 1: msg 200 to remote r@far.example
starting delivery 2: msg 201 to local l@example.test
starting delivery 3: msg 201 to remote s@far.example
delivery 1: deferral: Sorry,_I_couldn't_find_any_host_by_that_name._(#4.1.2)/
delivery 2: success: did_1+0+0/
delivery 3: failure: Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/
delivery 77: success: started_before_the_log/
bounce msg 201 qp 5
end msg 201
triple bounce: discarding bounce/300
status: local 1/10 remote 2/30
"""


def metrics(q, *args, stdin=None):
    r = run([q.bin("qmail-metrics")] + list(args), user=q.as_owner(), input=stdin)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def check(q, who):
    a, b, c, d = queue_msgs(q, [(PM, [PM, "r1@far.example"]), (PM, ["r2@far.example"]), (PM, [PM]),
                                (PM, ["r3@far.example"])])
    t.ok(preprocess(q, [a, b, c, d]), "%s: messages taken in" % who, q.logtext())
    qctl(q, "hold", str(d))
    qctl(q, "bounce", "-r", "r1@far.example", str(a))
    e, = queue_msgs(q, [(PM, ["r4@far.example"])])      # stays in todo/ for now
    set_age(q, b, 1000)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(q.path("queue/mess")) for f in fs)

    rc, out, err = metrics(q, "-l", q.log)
    t.eq(rc, 0, "%s: exit 0" % who, err)
    try:
        fam = parse(out)
        t.ok(True, "%s: strict Prometheus text" % who)
    except ValueError as x:
        t.ok(False, "%s: strict Prometheus text" % who, "%s\n%s" % (x, out))
        return
    v = lambda n, **l: value(fam, n, **l)
    t.eq([v("nqmail_up"), v("nqmail_queue_messages"), v("nqmail_queue_bytes"), v("nqmail_send_running")],
         [1, 5, size, 0], "%s: up, messages, bytes, qmail-send stopped" % who, out)
    t.eq([v("nqmail_queue_state_messages", state=s) for s in ("todo", "local", "remote", "bounce", "hold")],
         [1, 2, 2, 1, 1], "%s: messages by state" % who, out)
    t.eq([v("nqmail_queue_recipients", channel=c) for c in ("local", "remote", "todo")], [2, 2, 1],
         "%s: recipients to do" % who, out)
    t.ok(1000 <= v("nqmail_queue_oldest_message_age_seconds") < 1100, "%s: oldest message's age" % who, out)
    t.eq([v("nqmail_log_up"), v("nqmail_messages_received_total"), v("nqmail_deliveries_started_total", channel="remote")],
         [1, 0, 0], "%s: counters start again after status: exiting" % who, out)
    t.eq(fam["nqmail_deliveries_total"]["type"], "counter", "%s: counters are typed counter" % who)

    # running again: e is taken in and tried once
    q.control("concurrencyremote", "7")
    start(q)
    wait(lambda: "msg %d to remote" % e in q.logtext() and ": deferral:" in q.logtext().split("status: exiting")[-1], 20)
    time.sleep(0.3)
    rc, out, err = metrics(q, "-l", q.log)
    fam = parse(out)
    t.eq([v("nqmail_send_running"), v("nqmail_messages_received_total"),
          v("nqmail_deliveries_started_total", channel="remote"),
          v("nqmail_deliveries_total", channel="remote", result="deferral"),
          v("nqmail_concurrency_limit", channel="local"), v("nqmail_concurrency_limit", channel="remote"),
          v("nqmail_concurrency_used", channel="remote")],
         [1, 1, 1, 1, 0, 7, 0], "%s: running: counters since its start, concurrency" % who, out + q.logtext())
    stop(q)

    # the default log is DIR/log/qmail-send/current; missing: log_up 0, no counters
    rc, out, err = metrics(q)
    fam = parse(out)
    t.ok(v("nqmail_log_up") == 0 and "nqmail_messages_received_total" not in fam, "%s: no log: no counters" % who, out)

    # a crafted log: stamps, splogger, a restart
    p = os.path.join(q.base, "crafted.log")
    with open(p, "w") as f:
        f.write(CRAFTED)
    os.chmod(p, 0o644)
    rc, out, err = metrics(q, "-l", p)
    fam = parse(out)
    got = {k[0] + str(dict(k[1])): val for f in fam.values() for k, val in f["samples"].items()
           if k[0].startswith(("nqmail_messages", "nqmail_deliveries", "nqmail_bounces", "nqmail_triple", "nqmail_concurrency"))}
    want = {
        "nqmail_messages_received_total{}": 2, "nqmail_messages_done_total{}": 1,
        "nqmail_bounces_total{}": 1, "nqmail_triple_bounces_total{}": 1,
        "nqmail_deliveries_started_total{'channel': 'local'}": 1,
        "nqmail_deliveries_started_total{'channel': 'remote'}": 2,
        "nqmail_deliveries_total{'channel': 'local', 'result': 'success'}": 1,
        "nqmail_deliveries_total{'channel': 'local', 'result': 'deferral'}": 0,
        "nqmail_deliveries_total{'channel': 'local', 'result': 'failure'}": 0,
        "nqmail_deliveries_total{'channel': 'remote', 'result': 'success'}": 0,
        "nqmail_deliveries_total{'channel': 'remote', 'result': 'deferral'}": 1,
        "nqmail_deliveries_total{'channel': 'remote', 'result': 'failure'}": 1,
        "nqmail_deliveries_total{'channel': 'unknown', 'result': 'success'}": 1,
        "nqmail_concurrency_used{'channel': 'local'}": 1, "nqmail_concurrency_used{'channel': 'remote'}": 2,
        "nqmail_concurrency_limit{'channel': 'local'}": 10, "nqmail_concurrency_limit{'channel': 'remote'}": 30,
    }
    t.eq(got, want, "%s: crafted log: the figures by hand" % who, out)

    # -H: one HTTP exchange
    rc, out, err = metrics(q, "-H", "-l", p, stdin=b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = out.partition("\r\n\r\n")
    cl = [l for l in head.split("\r\n") if l.lower().startswith("content-length:")]
    t.ok(head.startswith("HTTP/1.0 200 OK") and "text/plain; version=0.0.4" in head and cl
         and int(cl[0].split(":")[1]) == len(body.encode()), "%s: -H: an HTTP response" % who, out)
    try:
        parse(body)
        t.ok(True, "%s: -H: its body parses" % who)
    except ValueError as x:
        t.ok(False, "%s: -H: its body parses" % who, x)
    rc, out, err = metrics(q, "-H", stdin=b"POST / HTTP/1.0\r\n\r\n")
    t.ok(out.startswith("HTTP/1.0 405"), "%s: -H: only GET and HEAD" % who, out)
    rc, out, err = metrics(q, "-H", stdin=b"HEAD / HTTP/1.0\r\n\r\n")
    t.ok(out.startswith("HTTP/1.0 200") and out.endswith("\r\n\r\n"), "%s: -H: HEAD has no body" % who, out)


users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            check(q, "root")
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qm"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user")
finally:
    for u in users:
        u.remove()
t.done()
