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
        b.check_bounce(ext, token, [text], what, back, untouched=("Maildir", "One"))
t.done()
