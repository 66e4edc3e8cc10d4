#!/usr/bin/env python3
# qmail-local: which .qmail file is used (dot-qmail(5)): exact names,
# -default at every dash level, lowercasing, missing files, empty files,
# defaultdelivery, the blank first line, the x bit, and -n.
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient, MESSAGE
from nqtest import Tap

t = Tap()
r = Recipient("dq")


def which(ext, dash="-"):
    """Deliver; every .qmail file here writes its own name to which.out."""
    r.unlink("which.out")
    rc, out, err = r.deliver(MESSAGE, dash=dash, ext=ext)
    try:
        got = r.read("which.out").decode().strip()
    except FileNotFoundError:
        got = None
    return rc, out, got


try:
    r.maildirmake("Maildir")
    names = [".qmail-a-b-c", ".qmail-a-b-default", ".qmail-a-default", ".qmail-default"]
    for n in names:
        r.write(n, "|echo %s $DEFAULT > which.out\n" % n)

    # 1. every level, the most specific first
    t.eq(which("a-b-c")[2], ".qmail-a-b-c", "exact .qmail-a-b-c")
    t.eq(which("a-b-x")[2], ".qmail-a-b-default x", "a-b-x -> .qmail-a-b-default, DEFAULT=x")
    t.eq(which("a-x-y")[2], ".qmail-a-default x-y", "a-x-y -> .qmail-a-default, DEFAULT=x-y")
    t.eq(which("z-y")[2], ".qmail-default z-y", "z-y -> .qmail-default, DEFAULT=z-y")
    t.eq(which("a-b-c-d")[2], ".qmail-a-b-default c-d", "a-b-c-d -> .qmail-a-b-default, DEFAULT=c-d")
    r.unlink(".qmail-a-b-default")
    t.eq(which("a-b-x")[2], ".qmail-a-default b-x", "without .qmail-a-b-default: .qmail-a-default")
    # 2. lowercasing, but DEFAULT keeps the case of the address
    t.eq(which("A-B-C")[2], ".qmail-a-b-c", "ext lowercased: A-B-C -> .qmail-a-b-c")
    t.eq(which("A-Xy")[2], ".qmail-a-default Xy", "DEFAULT keeps its case")
    # 3. dots become colons
    r.write(".qmail-my:list", "|echo .qmail-my:list > which.out\n")
    t.eq(which("my.list")[2], ".qmail-my:list", "my.list -> .qmail-my:list")

    # 4. nothing matches: permanent failure
    for n in names:
        r.unlink(n)
    rc, out, got = which("nothing")
    t.eq((rc, out), (100, "Sorry, no mailbox here by that name. (#5.1.1)\n"), "no .qmail for an extension: 100")
    t.eq(os.listdir(r.path("Maildir/new")), [], "nothing delivered")

    # 5. empty dash: a missing .qmail means defaultdelivery
    rc, out, got = which("", dash="")
    t.eq((rc, out, len(r.maildir())), (0, "did 1+0+0\n", 1), "no .qmail at all: defaultdelivery")
    # an empty .qmail (0 bytes) is defaultdelivery too, also for an extension
    r.clear_maildir()
    r.write(".qmail-empty", "")
    rc, out, got = which("empty")
    t.eq((rc, out, len(r.maildir())), (0, "did 1+0+0\n", 1), "empty .qmail-ext: defaultdelivery")
    # defaultdelivery with several lines (qmail-start's argument may have them)
    r.clear_maildir()
    rc, out, err = r.deliver(MESSAGE, default="./Maildir/\n|echo dd > dd.out\n")
    t.eq((rc, out, r.read("dd.out")), (0, "did 1+0+1\n", b"dd\n"), "multi-line defaultdelivery")

    # 6. a blank first line defers; blank lines later are fine
    r.write(".qmail-blank", "\n./Maildir/\n")
    rc, out, got = which("blank")
    t.eq((rc, out), (111, "Uh-oh: first line of .qmail file is blank. (#4.2.1)\n"), "blank first line: 111")
    r.clear_maildir()
    r.write(".qmail-blank", "# c\n\n./Maildir/   \t\n")
    rc, out, got = which("blank")
    t.eq((rc, out, len(r.maildir())), (0, "did 1+0+0\n", 1), "later blank line and trailing blanks fine")

    # 7. a broken line anywhere defers before anything is delivered
    r.clear_maildir()
    r.write(".qmail-broken", "./Maildir/\n&\n")
    rc, out, got = which("broken")
    t.ok(rc == 111 and "line 2" in out and r.maildir() == [], "broken line 2: 111, nothing delivered", out)

    # 8. x bit: forwards only
    r.write(".qmail-xbit", "./Maildir/\n", mode=0o744)
    rc, out, got = which("xbit")
    t.eq((rc, out), (111, "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)\n"), "x bit + file line: 111")
    r.write(".qmail-xbit", "|true\n", mode=0o744)
    rc, out, got = which("xbit")
    t.eq((rc, out), (111, "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)\n"), "x bit + program: 111")
    r.write(".qmail-plist", "&a@example.org\n+list\n|true\n")
    rc, out, got = which("plist")
    t.eq(rc, 111, "+list then a program line: 111")

    # 9. -n describes and delivers nothing
    r.clear_maildir()
    r.write(".qmail-show", "# comment\n./Maildir/\n./Mailbox\n|prog arg\n&fw@example.org\nbare@example.org\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="show", opts=["-n"])
    t.eq((rc, out), (0, "maildir ./Maildir/\nmbox ./Mailbox\nprogram prog arg\nforward fw@example.org\n"
                        "forward bare@example.org\ndid 2+2+1\n"), "-n lists the instructions")
    t.ok(r.maildir() == [] and not os.path.exists(r.path("Mailbox")), "-n delivers nothing")

    # 10. arguments that start with '-' are arguments, not options
    r.clear_maildir()
    r.write(".qmail--x", "./Maildir/\n")
    rc, out, err = r.deliver(MESSAGE, dash="-", ext="-x", sender="-n")
    t.ok(rc == 0 and r.maildir() and r.maildir()[0].startswith(b"Return-Path: <-n>\n"),
         "ext -x and sender -n are not options", out + err)

    # 11. usage
    rc, out, err = r.deliver(MESSAGE, opts=["-x"])
    t.ok(rc == 100 and "usage" in err, "unknown option: usage, 100", err)
finally:
    r.remove()
t.done()
