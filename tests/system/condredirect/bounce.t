#!/usr/bin/env python3
# condredirect failing permanently inside a real delivery (a root
# instance, a .qmail file of a real user): the message bounces to its
# sender, and the bounce in the sender's Maildir carries condredirect's
# own message. Two permanent failures: a .qmail line without a program
# (usage, exit 100), and qmail-queue refusing the redirected copy
# permanently (a stand-in qmail-queue through QMAILQUEUE that exits 31).
# The later ./Maildir/ line is not reached in either case.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, IS_ROOT

t = Tap()
if not IS_ROOT:
    t.skip("condredirect bounces through qmail-local", "needs root to create test users")
    t.done()


def bounces(b, token):
    return [x for x in b.maildir(rel="Back") if token in x]


with Box(t, "crb") as b:
    u = b.u
    u.maildirmake("Back")
    b.dotqmail("back", "./Back/\n")
    qq = u.write("qq31", "#!/bin/sh\ncat >/dev/null\nexit 31\n", 0o755)
    b.dotqmail("usage", "| condredirect %s\n./Maildir/\n" % b.addr("back"))
    b.dotqmail("refused", "| QMAILQUEUE=%s condredirect %s true\n./Maildir/\n" % (qq, b.addr("back")))
    b.start()
    back = b.addr("back")

    t.ok(b.deliver(b"Subject: one\n\ncrb-token-1\n", [b.addr("usage")], sender=back),
         "message to user-usage done", b.q.logtext())
    got = bounces(b, b"crb-token-1")
    t.eq(len(got), 1, "exactly one bounce in the sender's Maildir", b.q.logtext())
    if got:
        m = got[0]
        t.ok(m.startswith(b"Return-Path: <>\n"), "it is a bounce (null sender)", m[:300])
        t.ok(("<%s>:\ncondredirect: usage: condredirect newaddress program" % b.addr("usage")).encode() in m,
             "the bounce's text names the address, then condredirect's usage message", m[:2000])
        t.ok(b"Diagnostic-Code: x-qmail; condredirect: usage:" in m, "so does its delivery-status part", m[:2000])
    t.ok(not any(b"crb-token-1" in x for x in b.maildir()), "the ./Maildir/ line after it was not reached")
    t.ok("failure: " in b.q.logtext(), "qmail-send logged a permanent failure", b.q.logtext())

    t.ok(b.deliver(b"Subject: two\n\ncrb-token-2\n", [b.addr("refused")], sender=back),
         "message to user-refused done", b.q.logtext())
    got = [x for x in bounces(b, b"crb-token-2") if x.startswith(b"Return-Path: <>\n")]
    t.eq(len(got), 1, "qmail-queue refused the copy permanently: one bounce", b.q.logtext())
    if got:
        t.ok(("<%s>:\ncondredirect: mail server permanently rejected message" % b.addr("refused")).encode() in got[0],
             "the bounce carries condredirect's report of qmail-queue's refusal", got[0][:2000])
    t.ok(not any(b"crb-token-2" in x for x in b.maildir()), "nothing reached ./Maildir/")
t.done()
