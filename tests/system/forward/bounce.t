#!/usr/bin/env python3
# forward failing permanently inside a real delivery (a root instance, a
# .qmail file of a real user): the message bounces to its sender, and the
# bounce in the sender's Maildir carries forward's own message, after
# the failed address as QSBMF puts it. Two permanent failures: a .qmail
# line without an address (usage, exit 100), and qmail-queue refusing
# the forwarded copy permanently (a stand-in qmail-queue through
# QMAILQUEUE that exits 31). Nothing is forwarded, the next line of the
# .qmail file is not reached.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, IS_ROOT

t = Tap()
if not IS_ROOT:
    t.skip("forward bounces through qmail-local", "needs root to create test users")
    t.done()

with Box(t, "fwb") as b:
    u = b.u
    u.maildirmake("Back")
    u.maildirmake("One")
    b.dotqmail("back", "./Back/\n")
    b.dotqmail("one", "./One/\n")
    qq = u.write("qq31", "#!/bin/sh\ncat >/dev/null\nexit 31\n", 0o755)
    b.dotqmail("usage", "| forward\n./Maildir/\n")
    b.dotqmail("refused", "| QMAILQUEUE=%s forward %s\n./Maildir/\n" % (qq, b.addr("one")))
    b.start()
    back = b.addr("back")

    for ext, token, text, what in (
            ("usage", b"fwb-token-1", "forward: usage: forward address", "forward's usage message"),
            ("refused", b"fwb-token-2", "forward: mail server permanently rejected message (#5.3.0)",
             "forward's report of qmail-queue's permanent refusal")):
        t.ok(b.deliver(b"Subject: s\n\n" + token + b"\n", [b.addr(ext)], sender=back),
             "message to user-%s done" % ext, b.q.logtext())
        got = [x for x in b.maildir(rel="Back") if token in x]
        t.eq(len(got), 1, "%s: one bounce in the sender's Maildir" % ext, b.q.logtext())
        if got:
            m = got[0]
            t.ok(m.startswith(b"Return-Path: <>\n") and b"\nSubject: failure notice\n" in m,
                 "%s: it is a bounce" % ext, m[:400])
            t.ok(("<%s>:\n%s" % (b.addr(ext), text)).encode() in m, "%s: the bounce carries %s" % (ext, what), m[:2000])
            t.ok(b"This is a permanent error" in m, "%s: as a permanent error" % ext, m[:2000])
        t.ok(not any(token in x for x in b.maildir() + b.maildir(rel="One")),
             "%s: nothing forwarded, ./Maildir/ not reached" % ext)
t.done()
