#!/usr/bin/env python3
# qmail-report on a log whose figures were worked out by hand: the same
# events as multilog files (given out of order), as syslog lines through
# splogger (with other programs' lines and a cut line), as accustamp
# files rotated and gzipped, and as a plain file without stamps. The log
# has a clock step back, a message still queued at the end and lines in
# the forms older qmail versions wrote.
# smoke
import os, shutil, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reportlib import PART1, PART2, PART3, lines, run, kv, table, write_gz, T0, tai, acc, bsd
from nqtest import Tap

t = Tap()
tmp = tempfile.mkdtemp(prefix="nqt-report-")

# The hand-worked answers (see lib.py for the log):
#  msg 1: new 10, deliveries 1 (local, 11->13 ok) and 2 (remote, 12->20 ok), end 20
#  msg 2: new 100, delivery 3 (101->105 deferral), 4 (500->530 failure), bounce, end 531
#  msg 3: new 532 from <>, delivery 5 (local, 533->534 ok), end 534
#  msg 4: new 400 (clock back 134 s), 6 (401->402 deferral), 7 (4000->4005 deferral); queued
WANT = {
    "Messages received (new msg)": "4",
    "Bytes received": "3800",
    "Completed messages": "3",
    "Recipients for completed messages": "4",              # 2 + 1 + 1
    "Total delivery attempts for completed messages": "5",  # 2 + 2 + 1
    "Average delivery attempts per completed message": "1.67",
    "Bytes in completed messages": "3500",
    "Bytes weighted by success": "4000",                    # 1000*2 + 500*0 + 2000*1
    "Average message qtime (s)": "147.667",                 # (10 + 431 + 2) / 3
    "Messages still in the queue at the end": "1",
    "Oldest message still in the queue, age at the end (s)": "3605.000",
    "Total delivery attempts": "7",
    "success": "3",
    "failure": "1",
    "deferral": "3",
    "Local attempts": "2",
    "Local results": "success 2, failure 0, deferral 0",
    "Remote attempts": "5",
    "Remote results": "success 1, failure 1, deferral 3",
    "Total ddelay (s)": "15.000",                           # 3 + 10 + 2
    "Average ddelay per success (s)": "5.000",
    "Total xdelay (s)": "51.000",                           # 2+8+4+30+1+1+5
    "Average xdelay per delivery attempt (s)": "7.286",
    "Time span (days)": "0.046354",                         # 4005 s
    "Average concurrency": "0.0127",                        # 51 / 4005
    "Peak concurrency": "local 1/10, remote 1/20",
    "Bounces sent": "1",
    "Double bounces sent": "0",
    "Bounce messages received (from <>)": "1",
    "Clock steps back": "1",
    "Largest clock step back (s)": "134.000",
}


def check(name, out, timed=True):
    d = kv(out)
    bad = {k: (d.get(k), v) for k, v in WANT.items()
           if (timed or ("(s)" not in k and "days" not in k and "concurrency" not in k
                         and "Clock" not in k and "clock" not in k and "Oldest" not in k))
           and d.get(k) != v}
    t.ok(not bad, "%s: overall figures" % name, "got/want: %r" % bad)
    if not timed:
        return
    dl = table(out, "Delays (new msg to final delivery; new msg to each success)")
    # queue delays 10, 430, 2: p50 10, p90 430; ddelays 3, 10, 2: p50 3, max 10
    t.eq(dl and dl[0][:9], ["queue", "delay", "(per", "message)", "3", "10.000", "430.000", "430.000", "430.000"],
         "%s: queue delay percentiles" % name, out)
    t.eq(dl and len(dl) > 1 and dl[1][4:9], ["3", "3.000", "10.000", "10.000", "10.000"], "%s: ddelay percentiles" % name)
    dist = dict((r[0], r[1]) for r in (table(out, "Queue delay distribution") or []))
    t.eq((dist.get("2-5s"), dist.get("10-30s"), dist.get("5-10m"), dist.get("<1s")), ("1", "1", "1", "0"),
         "%s: delay distribution" % name)
    hrs = table(out, "Per hour")
    t.eq(hrs, [["2024-01-02", "10:00", "4", "3800", "6", "2", "4", "3", "2", "1", "1", "1/1"],
               ["2024-01-02", "11:00", "0", "0", "1", "0", "1", "0", "1", "0", "0", "0/1"]],
         "%s: per hour" % name, out)
    t.eq(table(out, "Top failure reasons"),
         [["1", "30.00", "Sorry,_I_couldn't_find_any_host_named_d.example._(#5.1.2)"]], "%s: failure reasons" % name)
    t.eq(table(out, "Top deferral reasons"),
         [["2", "6.00", "Connection_refused"], ["1", "4.00", "Connected_to_192.0.2.9_but_greeting_failed."]],
         "%s: deferral reasons" % name)
    t.eq(table(out, "Top deferring destinations"), [["2", "e.example"], ["1", "d.example"]],
         "%s: deferring destinations" % name)
    t.eq(table(out, "Largest senders"),
         [["2", "1500", "2", "1", "alice@a.example"], ["1", "2000", "1", "0", "<>"],
          ["1", "300", "0", "0", "bob@b.example"]], "%s: senders" % name)
    t.eq(table(out, "Recipients' domains"),
         [["1", "2000", "0", "0", "a.example"], ["1", "1000", "0", "0", "b.example"],
          ["1", "1000", "0", "0", "c.example"], ["0", "0", "1", "1", "d.example"],
          ["0", "0", "0", "2", "e.example"]], "%s: recipients' domains" % name)


try:
    # 1. multilog: a rotated file and current, named out of order
    ml = os.path.join(tmp, "multilog")
    os.mkdir(ml)
    old = os.path.join(ml, tai(T0 + 106).replace(" ", "") + ".s")
    with open(old, "w") as f:
        f.write(lines(PART1, "tai"))
    cur = os.path.join(ml, "current")
    with open(cur, "w") as f:
        f.write(lines(PART2, "tai") + lines(PART3, "tai"))
    r = run([cur, old])
    t.eq(r.returncode, 0, "multilog: exit 0", r.stderr)
    out = r.stdout.decode()
    check("multilog", out)
    t.eq(kv(out).get("Lines read"), str(len(PART1) + len(PART2) + len(PART3)), "multilog: lines read")

    # 2. syslog through splogger on stdin, with other programs' lines and
    #    delivery 4's failure cut in two pieces as splogger does
    text = lines(PART1 + PART2 + PART3, "syslog").splitlines()
    out2 = []
    for line in text:
        if "delivery 4: failure: " in line:
            cut = line.index("named_") + len("named_")
            stamp = acc(T0 + 530)
            out2.append(line[:cut])
            out2.append("%s mx qmail: %s+%s" % (bsd(T0 + 530), stamp, line[cut:]))
            continue
        out2.append(line)
        if "end msg 1" in line:
            out2.append("%s mx postfix/smtpd[99]: connect from unknown[192.0.2.1]" % bsd(T0 + 21))
    r = run([], input=("\n".join(out2) + "\n").encode())
    t.eq(r.returncode, 0, "syslog: exit 0", r.stderr)
    out = r.stdout.decode()
    check("syslog", out)
    t.eq(kv(out).get("Lines not from qmail-send"), "1", "syslog: the postfix line is not ours")

    # 3. accustamp (qmail 1.03's logs), rotated and gzipped: log.2.gz log.1.gz log
    ad = os.path.join(tmp, "acc")
    os.mkdir(ad)
    write_gz(os.path.join(ad, "log.2.gz"), lines(PART1, "acc"))
    write_gz(os.path.join(ad, "log.1.gz"), lines(PART2, "acc"))
    with open(os.path.join(ad, "log"), "w") as f:
        f.write(lines(PART3, "acc"))
    r = run([os.path.join(ad, n) for n in ("log", "log.1.gz", "log.2.gz")])
    t.eq(r.returncode, 0, "accustamp: exit 0", r.stderr)
    check("accustamp", r.stdout.decode())

    # 4. a plain file, no stamps, rotated names: counts still right
    pd = os.path.join(tmp, "plain")
    os.mkdir(pd)
    for n, part in (("send.log.1", PART1 + PART2), ("send.log", PART3)):
        with open(os.path.join(pd, n), "w") as f:
            f.write(lines(part, "plain"))
    r = run([os.path.join(pd, "send.log"), os.path.join(pd, "send.log.1")])
    out = r.stdout.decode()
    check("plain", out, timed=False)
    t.eq(kv(out).get("Lines without a time stamp"), str(len(PART1) + len(PART2) + len(PART3)), "plain: no stamps")

    # 5. usage and unreadable files
    t.eq(run(["--bogus"]).returncode, 100, "unknown option: exit 100")
    r = run([os.path.join(tmp, "nonexistent")])
    t.ok(r.returncode == 111 and b"qmail-report: unable to open" in r.stderr, "missing file: exit 111", r.stderr)
    r = run(["--top", "1", cur, old])
    t.eq(table(r.stdout.decode(), "Top deferral reasons"), [["2", "6.00", "Connection_refused"]], "--top 1")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
