#!/usr/bin/env python3
# Crash safety: 500 messages are injected (qmail-inject and qmail-queue, in
# parallel) for x@NAME while qmail-send and all its children (qmail-lspawn,
# qmail-local, qmail-clean) are killed with SIGKILL at random moments, at
# least three times, and restarted. Every message whose injector exited 0
# must then be in alias/Maildir at least once; duplicates are counted and
# reported ("# duplicates: N"); the queue ends empty.
import os, random, re, signal, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import Tap, Instance

t = Tap()
NAME = "example.test"
N = int(os.environ.get("NQ_KILL9_MESSAGES", "500"))
seed = int(os.environ.get("NQ_SEED", str(int(time.time()))))
rng = random.Random(seed)
t.diag("seed %d" % seed)
tag = "%x" % rng.getrandbits(32)

with Instance(t, name=NAME) as q:
    q.write("alias/.qmail-x", "./Maildir/\n")
    q.start()
    t.ok(q.wait(lambda: q.pids("qmail-send"), 20), "qmail-send runs", q.logtext())

    accepted = set()
    refused = []
    lock = threading.Lock()

    def inject(i):
        tok = "kill9-%s-%04d" % (tag, i)
        msg = "To: x@%s\nSubject: %s\nX-Token: %s\n\nbody %s\n" % (NAME, tok, tok, tok)
        if i % 2:
            rc = q.queue(msg, "s@" + NAME, ["x@" + NAME])
        else:
            rc = q.inject(msg).returncode
        with lock:
            if rc == 0:
                accepted.add(tok)
            else:
                refused.append((tok, rc))

    done = threading.Event()
    kills = []

    def killer():
        while not done.is_set() or len(kills) < 3:
            time.sleep(rng.uniform(0.2, 1.2))
            victims = q.kill_daemons(signal.SIGKILL)
            kills.append((time.time(), len(victims)))
            time.sleep(rng.uniform(0.0, 0.3))
            q.start()
            if len(kills) >= 12:
                break

    t0 = time.time()
    kt = threading.Thread(target=killer)
    kt.start()
    with ThreadPoolExecutor(max_workers=6) as ex:
        list(ex.map(inject, range(N)))
    done.set()
    kt.join()
    t.ok(len(kills) >= 3, "qmail-send and its children were killed %d times" % len(kills))
    t.diag("accepted %d of %d, refused %d" % (len(accepted), N, len(refused)))
    t.ok(len(accepted) >= N * 0.9, "injectors accepted most messages", refused[:10])
    if not q.wait(lambda: q.pids("qmail-send"), 5):
        q.start()

    seen = {}

    def scan():
        for f in q.maildir_files("alias/Maildir"):
            if f in seen:
                continue
            try:
                data = open(f, "rb").read().decode("utf-8", "replace")
            except FileNotFoundError:
                continue
            m = re.search(r"X-Token: (kill9-\S+)", data)
            # a file counts when it is whole: the body line is there too
            seen[f] = m.group(1) if m and ("\n\nbody %s\n" % m.group(1)) in data else None
        return set(v for v in seen.values() if v)

    t.diag("injection took %.1f s" % (time.time() - t0))
    ok = q.wait(lambda: accepted <= scan(), 60)
    t.diag("all delivered %.1f s after the start" % (time.time() - t0))
    lost = sorted(accepted - scan())
    t.ok(ok and not lost, "every accepted message was delivered (%d lost)" % len(lost), "\n".join(lost[:20]))
    counts = {}
    for v in seen.values():
        if v:
            counts[v] = counts.get(v, 0) + 1
    dups = sum(c - 1 for c in counts.values() if c > 1)
    print("# duplicates: %d" % dups, flush=True)
    strays = [f for f, v in seen.items() if v is None]
    t.ok(not strays, "every delivered file is one of ours, whole", strays[:5])
    t.ok(q.wait(lambda: q.queue_count() == 0, 20), "qmail-qstat says 0 at the end", q.qstat())
    def left():
        out = []
        for f in q.queue_files()[:20]:
            try:
                n = os.stat(q.path("queue/" + f)).st_nlink
            except OSError:
                continue
            out.append("%s (links %d)" % (f, n))
        return "\n".join(out)
    t.ok(q.wait(lambda: not q.queue_files(), 5), "no file left in the queue", left())
    q.stop()
    q.kill_daemons()   # nothing of this instance outlives the test
t.done()
