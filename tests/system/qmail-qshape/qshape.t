#!/usr/bin/env python3
# smoke
# qmail-qshape counts the recipients not yet done, by destination domain
# and age bucket (Postfix's qshape: T 5 10 20 ... 1280 1280+ minutes by
# default), from todo/ and from the local/remote files of preprocessed
# messages; -s counts messages by sender domain (<> as MAILER-DAEMON);
# queue names select todo, local, remote, hold; -b, -t, -l change the
# buckets; -p adds parent domains with at least -m subdomains. Root and
# single-user mode.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qmail-qctl"))
from qtools import queue_msgs, preprocess, set_age, qctl, stop
from nqtest import Tap, Instance, TestUser, IS_ROOT, unique_user, run

t = Tap()
NAME = "example.test"
PM = "postmaster@" + NAME
HEAD = ["T", "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"]


def shape(q, *args):
    r = run([q.bin("qmail-qshape")] + list(args), user=q.as_owner())
    lines = r.stdout.decode().splitlines()
    rows = {}
    for l in lines[1:]:
        f = l.split()
        rows[f[0]] = [int(x) for x in f[1:]]
    return r.returncode, (lines[0].split() if lines else []), rows, r.stdout.decode() + r.stderr.decode()


def row(total, **b):
    """A row: total, then the count of each bucket named by its head."""
    v = [0] * len(HEAD)
    v[0] = total
    for k, n in b.items():
        v[HEAD.index(k.lstrip("_").replace("p", "+"))] = n
    return v


def check(q, who):
    a, b, c, d = queue_msgs(q, [
        (PM, ["x@far.example", "y@FAR.example", "z@other.example", PM]),
        ("", ["w@far.example"]),
        ("s@a.sender.example", ["v@sub.far.example"]),
        (PM, ["h@held.example"]),
    ])
    t.ok(preprocess(q, [a, b, c, d]), "%s: messages taken in" % who, q.logtext())
    set_age(q, b, 7 * 60)            # bucket 10 (5 <= age < 10 min)
    set_age(q, c, 3 * 24 * 3600)     # bucket 1280+
    qctl(q, "hold", str(d))
    e, = queue_msgs(q, [(PM, ["t@todo.example"])])   # stays in todo/
    rc, head, rows, out = shape(q)
    t.eq((rc, head), (0, HEAD), "%s: Postfix's columns" % who, out)
    want = {
        "TOTAL": row(8, _5=6, _10=1, _1280p=1),
        "far.example": row(3, _5=2, _10=1),
        "other.example": row(1, _5=1),
        "example.test": row(1, _5=1),
        "sub.far.example": row(1, _1280p=1),
        "held.example": row(1, _5=1),
        "todo.example": row(1, _5=1),
    }
    t.eq(rows, want, "%s: recipients by domain and age" % who, out)
    t.eq(list(rows)[:2], ["TOTAL", "far.example"], "%s: largest first" % who, out)

    rc, head, rows, out = shape(q, "-s")
    t.eq(rows, {"TOTAL": row(5, _5=3, _10=1, _1280p=1), "example.test": row(3, _5=3),
                "MAILER-DAEMON": row(1, _10=1), "a.sender.example": row(1, _1280p=1)},
         "%s: -s: messages by sender domain" % who, out)

    rc, head, rows, out = shape(q, "remote")
    t.eq(rows, {"TOTAL": row(5, _5=3, _10=1, _1280p=1), "far.example": row(3, _5=2, _10=1),
                "other.example": row(1, _5=1), "sub.far.example": row(1, _1280p=1)},
         "%s: only the remote queue" % who, out)
    rc, head, rows, out = shape(q, "hold", "todo")
    t.eq(rows, {"TOTAL": row(2, _5=2), "held.example": row(1, _5=1), "todo.example": row(1, _5=1)},
         "%s: held and todo messages" % who, out)
    rc, head, rows, out = shape(q, "local")
    t.eq(rows, {"TOTAL": row(1, _5=1), "example.test": row(1, _5=1)}, "%s: only the local queue" % who, out)

    rc, head, rows, out = shape(q, "-b", "3", "-t", "4", "remote")
    t.eq((head, rows["TOTAL"]), (["T", "4", "8", "8+"], [5, 3, 1, 1]), "%s: -b 3 -t 4" % who, out)
    rc, head, rows, out = shape(q, "-l", "-b", "4", "-t", "3", "remote")
    t.eq((head, rows["TOTAL"]), (["T", "3", "6", "9", "9+"], [5, 3, 0, 1, 1]), "%s: -l: linear buckets" % who, out)
    rc, head, rows, out = shape(q, "-p", "-m", "1", "remote")
    t.eq(rows.get(".far.example"), [1] + [0] * 9 + [1], "%s: -p: parent domain with a subdomain" % who, out)
    rc, head, rows, out = shape(q, "-p", "remote")
    t.ok(".far.example" not in rows, "%s: -p: fewer than -m (5) subdomains: not shown" % who, out)
    rc, head, rows, out = shape(q, "bogus")
    t.eq(rc, 100, "%s: an unknown queue name is refused" % who, out)


users = []
try:
    if IS_ROOT:
        with Instance(t, name=NAME) as q:
            check(q, "root")
    owner = None
    if IS_ROOT:
        owner = TestUser(unique_user("qs"))
        users.append(owner)
    with Instance(t, name=NAME, mode="single", owner=owner.name if owner else None) as q:
        check(q, "single-user")
finally:
    for u in users:
        u.remove()
t.done()
