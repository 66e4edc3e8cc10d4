#!/usr/bin/env python3
# except used directly in .qmail files of a real user on a root instance:
# the program's exit code is inverted in the delivery result that
# qmail-send logs and acts on.
#   | except grep -q MARK   MARK there: grep 0 -> 100, a permanent
#                           failure (bounce, ./Maildir/ not reached);
#                           MARK absent: grep 1 -> 0, the next line
#                           delivers (no bounce)
#   | except bouncesaying   bouncesaying's 100 -> 0: delivered, no bounce
#   | except sh -c 'exit 111'   stays 111: deferred, still queued
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, IS_ROOT

t = Tap()
if not IS_ROOT:
    t.skip("except through qmail-local", "needs root to create test users")
    t.done()


class Log:
    """The qmail-send log lines written since the last call."""
    def __init__(self, q):
        self.q, self.at = q, 0

    def new(self):
        text = self.q.logtext()
        r, self.at = text[self.at:], len(text)
        return r


def result(lines, addr):
    """success / failure / deferral of the delivery to addr in lines."""
    m = re.search(r"starting delivery (\d+): msg \d+ to local " + re.escape(addr) + "\n", lines)
    if not m:
        return None
    m = re.search(r"delivery %s: (success|failure|deferral):" % m.group(1), lines)
    return m.group(1) if m else None


with Box(t, "exq") as b:
    u = b.u
    u.maildirmake("Back")
    b.dotqmail("back", "./Back/\n")
    b.dotqmail("inv", "| except grep -q SPAM-MARK\n./Maildir/\n")
    b.dotqmail("bs", "| except bouncesaying 'exq-never-said'\n./Maildir/\n")
    b.dotqmail("tmp", "| except sh -c 'exit 111'\n./Maildir/\n")
    b.start()
    back = b.addr("back")
    log = Log(b.q)

    def bounced(token):
        return [x for x in b.maildir(rel="Back") if token in x and x.startswith(b"Return-Path: <>\n")]

    def stored(token):
        return [x for x in b.maildir() if token in x]

    t.ok(b.deliver(b"Subject: a\n\nexq-token-1 SPAM-MARK\n", [b.addr("inv")], sender=back), "marked message done",
         b.q.logtext())
    lines = log.new()
    t.eq(result(lines, b.addr("inv")), "failure", "grep found it (0): except made it 100, a permanent failure", lines)
    got = bounced(b"exq-token-1")
    t.eq(len(got), 1, "the sender got one bounce", b.q.logtext())
    t.ok(got and b"This is a permanent error" in got[0] and
         ("<%s>:\nProgram exited with status 100." % b.addr("inv")).encode() in got[0],
         "a permanent-failure bounce for user-inv", got[0][:1500] if got else "")
    t.eq(stored(b"exq-token-1"), [], "the ./Maildir/ line after it was not reached")

    t.ok(b.deliver(b"Subject: b\n\nexq-token-2 clean\n", [b.addr("inv")], sender=back), "clean message done",
         b.q.logtext())
    lines = log.new()
    t.eq(result(lines, b.addr("inv")), "success", "grep did not find it (1): except made it 0, a success", lines)
    t.eq(len(stored(b"exq-token-2")), 1, "the next line delivered it to ./Maildir/")
    t.eq(bounced(b"exq-token-2"), [], "no bounce")

    t.ok(b.deliver(b"Subject: c\n\nexq-token-3\n", [b.addr("bs")], sender=back), "message to user-bs done",
         b.q.logtext())
    lines = log.new()
    t.eq(result(lines, b.addr("bs")), "success", "bouncesaying's 100 became 0: a success", lines)
    t.eq(len(stored(b"exq-token-3")), 1, "delivered to ./Maildir/")
    t.eq(bounced(b"exq-token-3"), [], "no bounce")

    t.eq(b.send(b"Subject: d\n\nexq-token-4\n", [b.addr("tmp")], sender=back), 0, "message to user-tmp queued")
    t.ok(b.wait_for(lambda: "deferral:" in b.q.logtext()[log.at:], 30), "111 stays 111: a deferral", b.q.logtext())
    lines = log.new()
    t.eq(result(lines, b.addr("tmp")), "deferral", "the delivery result is a deferral", lines)
    t.ok(b.q.queue_count() == 1, "the message stays in the queue", b.q.qstat())
    t.eq(stored(b"exq-token-4") + bounced(b"exq-token-4"), [], "neither delivered nor bounced")
t.done()
