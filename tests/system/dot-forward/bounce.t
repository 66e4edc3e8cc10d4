#!/usr/bin/env python3
# dot-forward failing permanently inside a real delivery (a root
# instance, a real user whose .qmail files run dot-forward on a
# sendmail-style file): the message bounces to its sender, and the bounce
# in the sender's Maildir carries dot-forward's message. Two permanent
# failures: a "|program" of the .forward file that exits 100 (its own
# words on stderr reach the bounce too), and qmail-queue refusing the
# forwarded copy permanently (a stand-in qmail-queue through QMAILQUEUE
# that exits 31). The next line of the .qmail file is not reached.
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers"))
from helperlib import Tap, Box, IS_ROOT

t = Tap()
if not IS_ROOT:
    t.skip("dot-forward bounces through qmail-local", "needs root to create test users")
    t.done()

with Box(t, "dfb") as b:
    u = b.u
    u.maildirmake("Back")
    u.maildirmake("One")
    b.dotqmail("back", "./Back/\n")
    b.dotqmail("one", "./One/\n")
    qq = u.write("qq31", "#!/bin/sh\ncat >/dev/null\nexit 31\n", 0o755)
    u.write("forward-prog", "# a program that refuses the message\n\"|echo dfb-said-no >&2; exit 100\"\n")
    u.write("forward-addr", "# forward elsewhere\n%s\n" % b.addr("one"))
    b.dotqmail("prog", "| dot-forward forward-prog\n./Maildir/\n")
    b.dotqmail("refused", "| QMAILQUEUE=%s dot-forward forward-addr\n./Maildir/\n" % qq)
    b.start()
    back = b.addr("back")

    for ext, token, texts, what in (
            ("prog", b"dfb-token-1", ["dfb-said-no/dot-forward: program echo dfb-said-no >&2; exit 100 exited 100"],
             "the program's words, then dot-forward's (qmail-local joins lines with '/')"),
            ("refused", b"dfb-token-2", ["dot-forward: unable to forward the message: mail server permanently rejected message (#5.3.0)"],
             "dot-forward's report of qmail-queue's permanent refusal")):
        b.check_bounce(ext, token, texts, what, back, untouched=("Maildir", "One"))
t.done()
