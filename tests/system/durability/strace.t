#!/usr/bin/env python3
# Durability, checked in the system calls (strace -f -y) of a root instance:
#  - qmail-queue: mess/S/N and intd/N fsynced (and mess/S) before
#    intd/N is linked to todo/N, todo/ fsynced after, all before exit 0;
#  - qmail-local: a Maildir file fsynced in tmp/ before it is linked into
#    new/, new/ fsynced after, before exit 0; an mbox fsynced before exit 0;
#  - qmail-send: info/S/N, local/S/N (and their directories) fsynced before
#    todo/N goes away; every 'D' mark fsynced (group commit: the marks of
#    a file are fsynced together, later) or its file removed, before the
#    message's info/S/N goes and before qmail-send exits; bounce/N (and
#    bounce/) fsynced before the failed recipient is marked done; the
#    bounce itself queued by a qmail-queue that passes the qmail-queue
#    checks before bounce/N is removed.
import os, re, subprocess, sys, tempfile
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True     # no __pycache__ beside the tests
from nqtest import Tap, Instance, IS_ROOT, run
import straceparse as sp

t = Tap()
NAME = "example.test"
if not IS_ROOT or not os.path.exists("/usr/bin/strace"):
    t.skip("durability under strace", "needs root and strace")
    t.done()


def before(a, b):
    return a is not None and b is not None and a["i"] < b["i"]


def show(ev, pids=None, n=80):
    out = []
    for e in ev:
        if pids is None or e["pid"] in pids:
            if e["call"] != "open" or "/queue/" in (e.get("path") or "") or "Maildir" in (e.get("path") or ""):
                out.append(str(e))
    return "\n".join(out[-n:])


def check_qmail_queue(ev, parent, qdir, pid, what):
    """The qmail-queue rules for the qmail-queue process pid."""
    mine = sp.descendants(parent, pid)
    evs = [e for e in ev if e["pid"] in mine]
    pub = sp.find(evs, lambda e: e["call"] == "link" and re.match(re.escape(qdir) + r"/todo/\d+$", e["dst"] or ""))
    if not t.ok(pub, "%s: todo/N is published by link/rename" % what, show(ev, mine)):
        return
    n = int(pub["dst"].rsplit("/", 1)[1])
    intd = "%s/intd/%d" % (qdir, n)
    mess = "%s/mess/%d/%d" % (qdir, n % 23, n)
    t.eq(pub["src"], intd, "%s: todo/%d comes from intd/%d" % (what, n, n))
    messnames = sp.same_file(ev, mess)
    f_mess = sp.find([e for e in evs if e["i"] < pub["i"]], lambda e: e["call"] == "fsync" and e["path"] in messnames)
    t.ok(f_mess, "%s: mess/%d/%d fsynced before todo/%d appears" % (what, n % 23, n, n), show(ev, mine))
    intdnames = sp.same_file(ev, intd, pub["i"])
    f_intd = sp.find([e for e in evs if e["i"] < pub["i"]], lambda e: e["call"] == "fsync" and e["path"] in intdnames)
    t.ok(f_intd, "%s: intd/%d fsynced before todo/%d appears" % (what, n, n), show(ev, mine))
    f_messdir = sp.find([e for e in evs if e["i"] < pub["i"]],
                        lambda e: e["call"] == "fsync" and e["path"] == "%s/mess/%d" % (qdir, n % 23))
    t.ok(f_messdir, "%s: directory mess/%d fsynced before todo/%d appears" % (what, n % 23, n), show(ev, mine))
    f_todo = sp.find([e for e in evs if e["i"] > pub["i"]], lambda e: e["call"] == "fsync" and e["path"] == qdir + "/todo")
    t.ok(f_todo, "%s: directory todo/ fsynced after the link" % what, show(ev, mine))
    ex = sp.find(evs, lambda e: e["call"] == "exit" and e["pid"] == pid)
    t.ok(ex and ex["code"] == 0, "%s: exits 0" % what, ex)
    t.ok(ex and f_todo and f_mess and f_intd and ex["i"] > max(f_todo["i"], f_mess["i"], f_intd["i"]),
         "%s: every fsync comes before exit 0" % what)
    return n


def check_maildir(ev, parent, top, maildir, what, need_exit=True):
    """Every file published into maildir/new by top's process tree."""
    mine = sp.descendants(parent, top) if top else set(e["pid"] for e in ev)
    evs = [e for e in ev if e["pid"] in mine]
    pubs = [e for e in evs if e["call"] == "link" and (e["dst"] or "").startswith(maildir + "/new/")]
    if not t.ok(pubs, "%s: a file is linked or renamed into new/" % what, show(ev, mine)):
        return
    for pub in pubs:
        t.ok((pub["src"] or "").startswith(maildir + "/tmp/"), "%s: it comes from tmp/" % what, pub)
        names = sp.same_file(ev, pub["src"], pub["i"])
        f = sp.find([e for e in evs if e["i"] < pub["i"]], lambda e: e["call"] == "fsync" and e["path"] in names)
        t.ok(f, "%s: the tmp/ file is fsynced before the link into new/" % what, show(ev, mine))
        d = sp.find([e for e in evs if e["i"] > pub["i"]], lambda e: e["call"] == "fsync" and e["path"] == maildir + "/new")
        t.ok(d, "%s: new/ is fsynced after the link" % what, show(ev, mine))
        ex = sp.find([e for e in evs if e["i"] > pub["i"]], lambda e: e["call"] == "exit" and e["pid"] == pub["pid"])
        if need_exit or ex:
            t.ok(ex and d and ex["i"] > d["i"] and (ex["code"] == 0 or not need_exit),
                 "%s: the delivering process exits after both fsyncs" % what, ex)
    if need_exit:
        ex = sp.find(evs, lambda e: e["call"] == "exit" and e["pid"] == top)
        t.ok(ex and ex["code"] == 0 and ex["i"] > pubs[-1]["i"], "%s: exits 0 after the delivery" % what, ex)


with Instance(t, name=NAME) as q:
    qdir = q.path("queue")
    tmp = q.base

    # --- 1. qmail-queue, called directly --------------------------------
    out = os.path.join(tmp, "qq.strace")
    env = b"Fs@example.test\0Tx@example.test\0\0"
    rfd, wfd = os.pipe()
    os.write(wfd, env)
    os.close(wfd)
    p = subprocess.run(sp.trace_cmd(out) + [q.bin("qmail-queue")], input=b"Subject: d\n\ndurable\n",
                       stdout=rfd, stderr=subprocess.PIPE, timeout=60, cwd=tmp)
    os.close(rfd)
    t.eq(p.returncode, 0, "qmail-queue under strace exits 0")
    ev, parent = sp.parse(out, tmp)
    pr = sp.progs(ev, parent)
    qq = [e["pid"] for e in ev if e["call"] == "exec" and e["path"] == q.bin("qmail-queue")]
    if t.ok(qq, "qmail-queue was traced"):
        check_qmail_queue(ev, parent, qdir, qq[0], "qmail-queue")

    # --- 2. qmail-local, called directly: Maildir and mbox ----------------
    home = os.path.join(tmp, "home")
    os.mkdir(home, 0o755)
    for sub in ("", "tmp", "new", "cur"):
        os.makedirs(os.path.join(home, "Maildir", sub), 0o700, exist_ok=True)
    msgf = os.path.join(tmp, "msg")
    with open(msgf, "wb") as f:
        f.write(b"Subject: local\n\nFrom me\nlocal body\n")
    for kind, dd in (("Maildir", "./Maildir/"), ("mbox", "./Mailbox")):
        out = os.path.join(tmp, "local-%s.strace" % kind)
        with open(msgf, "rb") as fin:
            p = subprocess.run(sp.trace_cmd(out) + [q.bin("qmail-local"), "root", home, "x", "", "", NAME,
                                                    "s@" + NAME, dd],
                               stdin=fin, capture_output=True, timeout=60, cwd=home)
        t.eq(p.returncode, 0, "qmail-local %s delivery under strace exits 0" % kind)
        if p.returncode:
            t.diag(p.stdout + p.stderr)
        ev, parent = sp.parse(out, home)
        top = [e["pid"] for e in ev if e["call"] == "exec" and e["path"] == q.bin("qmail-local")]
        if not t.ok(top, "qmail-local was traced (%s)" % kind):
            continue
        if kind == "Maildir":
            check_maildir(ev, parent, top[0], os.path.join(home, "Maildir"), "qmail-local Maildir")
        else:
            mbox = os.path.join(home, "Mailbox")
            mine = sp.descendants(parent, top[0])
            evs = [e for e in ev if e["pid"] in mine]
            w = [e for e in evs if e["call"] == "write" and e["path"] == mbox]
            f = [e for e in evs if e["call"] == "fsync" and e["path"] == mbox]
            ex = sp.find(evs, lambda e: e["call"] == "exit" and e["pid"] == top[0])
            t.ok(w, "qmail-local mbox: writes to the mbox", show(ev, mine))
            t.ok(w and f and f[-1]["i"] > w[-1]["i"], "qmail-local mbox: fsync after the last write", show(ev, mine))
            t.ok(f and ex and ex["code"] == 0 and ex["i"] > f[-1]["i"], "qmail-local mbox: fsync before exit 0", ex)
            t.ok(os.path.exists(mbox) and b">From me" in open(mbox, "rb").read(), "the mbox has the message")

    # --- 3. the daemons, started under strace -f -------------------------
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.write("alias/.qmail-snd", "./Maildir-snd/\n")
    q.maildirmake("alias/Maildir-snd")
    out = os.path.join(tmp, "daemons.strace")
    q.start(wrap=sp.trace_cmd(out))
    if not t.ok(q.wait(lambda: q.pids("qmail-send"), 10), "qmail-send runs under strace", q.logtext()):
        t.done()
    rc = q.queue("Subject: two\n\ndaemon-body\n", "snd@" + NAME, ["x@" + NAME, "nobody@" + NAME])
    t.eq(rc, 0, "queued a message for x@ and nobody@")
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir") >= 1, 60), "x@ delivered", q.logtext())
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-snd") >= 1, 60), "the bounce reached snd@", q.logtext())
    t.ok(q.wait(lambda: not q.queue_files(), 30), "queue empty", q.queue_files())
    # Many recipients (marks written while other deliveries are requested,
    # fsynced together later) and one that defers (its file's marks are
    # fsynced when the message goes back to the schedule).
    q.write("alias/.qmail-many-default", "./Maildir-many/\n")
    q.write("alias/.qmail-later", "|exit 111\n")
    q.maildirmake("alias/Maildir-many")
    rc = q.queue("Subject: many\n\nmany\n", "snd@" + NAME, ["many-%d@%s" % (i, NAME) for i in range(25)] + ["later@" + NAME])
    t.eq(rc, 0, "queued a message for 25 recipients and one that defers")
    t.ok(q.wait(lambda: q.maildir_count("alias/Maildir-many") >= 25 and
                re.search(r"^delivery \d+: deferral:", q.logtext(), re.M), 60), "delivered and deferred", q.logtext())
    q.stop()
    ev, parent = sp.parse(out, q.dir)
    pr = sp.progs(ev, parent)
    send = [e["pid"] for e in ev if e["call"] == "exec" and e["path"] == q.bin("qmail-send")]
    if not t.ok(send, "qmail-send was traced"):
        t.done()
    S = send[0]
    # todo/N processing, for every message qmail-send took from todo/
    gone = [e for e in ev if e["call"] in ("unlink", "link") and
            re.match(re.escape(qdir) + r"/todo/\d+$", (e.get("path") if e["call"] == "unlink" else e["src"]) or "")]
    t.ok(len(gone) >= 2, "todo/N removed for the message and its bounce", show(ev))
    for g in gone:
        path = g["path"] if g["call"] == "unlink" else g["src"]
        n = int(path.rsplit("/", 1)[1])
        made = [e for e in ev if e["i"] < g["i"] and e["call"] in ("open", "link") and
                re.match(re.escape(qdir) + r"/(info|local|remote)/%d/%d$" % (n % 23, n),
                         (e.get("path") if e["call"] == "open" else e["dst"]) or "")]
        kinds = sorted(set(((e.get("path") if e["call"] == "open" else e["dst"]).split("/")[-3]) for e in made))
        t.ok("info" in kinds and "local" in kinds, "message %d: info/ and local/ written before todo/ removed" % n, kinds)
        for k in kinds:
            fn = "%s/%s/%d/%d" % (qdir, k, n % 23, n)
            names = sp.same_file(ev, fn, g["i"])
            f = sp.find(ev[:g["i"]], lambda e: e["call"] == "fsync" and e["path"] in names)
            t.ok(f, "message %d: %s/%d/%d fsynced before todo/%d is removed" % (n, k, n % 23, n, n), show(ev, {S}))
            d = sp.find(ev[:g["i"]], lambda e: e["call"] == "fsync" and e["path"] == "%s/%s/%d" % (qdir, k, n % 23))
            t.ok(d, "message %d: directory %s/%d fsynced before todo/%d is removed" % (n, k, n % 23, n), show(ev, {S}))
    # 'D' marks
    dmarks = [e for e in ev if e["call"] == "write" and re.match(re.escape(qdir) + r"/local/\d+/\d+$", e["path"] or "")
              and e["data"] == b"D"]
    t.ok(len(dmarks) >= 25, "qmail-send wrote 'D' marks (%d)" % len(dmarks))
    sexit = sp.find(ev, lambda e: e["call"] == "exit" and e["pid"] == S)
    t.ok(sexit, "qmail-send's exit was traced")
    bad = []
    for dm in dmarks:
        # Group commit: a mark need not be fsynced at once (it only spares
        # a second delivery after a crash), but it must become durable, or
        # its file be removed, before qmail-send exits and before the
        # message's info/S/N is removed.
        F = dm["path"]
        n = int(F.rsplit("/", 1)[1])
        info = "%s/info/%d/%d" % (qdir, n % 23, n)
        nxt = sp.find(ev[dm["i"] + 1:], lambda e: e["pid"] == dm["pid"] and (
            (e["call"] in ("fsync", "unlink") and e["path"] == F) or
            (e["call"] == "unlink" and e["path"] == info) or e["call"] == "exit"))
        if not (nxt and nxt["call"] in ("fsync", "unlink") and nxt["path"] == F):
            bad.append((dm, nxt))
    t.ok(dmarks and not bad, "every 'D' mark fsynced (or its file removed) before its info/ goes and before exit",
         "\n".join("%s -> %s" % x for x in bad[:5]))
    syncs = [e for e in ev if e["call"] == "fsync" and e["pid"] == S and
             re.match(re.escape(qdir) + r"/local/\d+/\d+$", e["path"] or "")]
    t.diag("%d 'D' marks, %d fsyncs of local/ files" % (len(dmarks), len(syncs)))
    # bounce/N
    bw = [e for e in ev if e["call"] in ("write", "open") and re.match(re.escape(qdir) + r"/bounce/\d+$", e["path"] or "")]
    if t.ok(bw, "qmail-send wrote bounce/N", show(ev, {S})):
        bfile = bw[0]["path"]
        n = int(bfile.rsplit("/", 1)[1])
        local = "%s/local/%d/%d" % (qdir, n % 23, n)
        last_w = [e for e in bw if e["call"] == "write"]
        start = last_w[0]["i"] if last_w else bw[0]["i"]
        rely = sp.find(ev[start:], lambda e: (e["call"] == "write" and e["path"] == local and e["data"] == b"D") or
                       (e["call"] == "unlink" and e["path"] in (local, "%s/mess/%d/%d" % (qdir, n % 23, n))))
        names = sp.same_file(ev, bfile)
        f = sp.find(ev[start:rely["i"] if rely else None], lambda e: e["call"] == "fsync" and e["path"] in names)
        t.ok(rely and f, "bounce/%d fsynced before the failure is marked done" % n, show(ev, {S}))
        d = sp.find(ev[bw[0]["i"]:rely["i"] if rely else None], lambda e: e["call"] == "fsync" and e["path"] == qdir + "/bounce")
        t.ok(rely and d, "directory bounce/ fsynced before the failure is marked done", show(ev, {S}))
        # the bounce is queued by a qmail-queue below qmail-send
        qqs = []
        for e in ev:
            if e["call"] == "exec" and e["path"] == q.bin("qmail-queue"):
                p, k = e["pid"], 0
                while p in parent and p != S and k < 50:
                    p, k = parent[p], k + 1
                if p == S:
                    qqs.append(e["pid"])
        if t.ok(qqs, "qmail-send queues the bounce through qmail-queue", show(ev)):
            check_qmail_queue(ev, parent, qdir, qqs[0], "bounce's qmail-queue")
            ex = sp.find(ev, lambda e: e["call"] == "exit" and e["pid"] == qqs[0])
            un = sp.find(ev, lambda e: e["call"] == "unlink" and e["path"] in names)
            t.ok(un and ex and un["i"] > ex["i"], "bounce/%d removed only after the bounce is queued" % n, show(ev, {S}))
    # Maildir deliveries made by the daemons
    check_maildir(ev, parent, None, q.path("alias/Maildir"), "delivery to x@", need_exit=False)
    check_maildir(ev, parent, None, q.path("alias/Maildir-snd"), "bounce delivery", need_exit=False)
t.done()
