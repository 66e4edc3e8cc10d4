#!/usr/bin/env python3
# qmail-local: the Maildir and mbox deliveries are durable before exit 0,
# checked in the system calls (strace -f): Maildir: fsync of tmp/NAME, then
# link to new/NAME, then fsync of new/, then unlink of tmp/NAME, then exit 0;
# mbox: every write to the mbox, then its fsync, then exit 0.
import os, re, shutil, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qlhelp import Recipient, MESSAGE, QL
from nqtest import Tap

t = Tap()
if not shutil.which("strace"):
    t.skip("durability", "strace is not installed (scripts/deps.sh installs it)")
    t.done()
r = Recipient("du")
work = tempfile.mkdtemp(prefix="nql-strace-")
os.chmod(work, 0o777)
trace = os.path.join(work, "trace")
try:
    r.maildirmake("Maildir")
    r.write(".qmail", "./Maildir/\n./Mailbox\n")
    rc, out, err = r.deliver(MESSAGE, bin=shutil.which("strace"),
                             opts=["-f", "-o", trace, "-e",
                                   "trace=openat,write,fsync,fdatasync,linkat,link,renameat2,rename,unlinkat,close,exit_group",
                                   QL])
    t.eq((rc, out), (0, "did 2+0+0\n"), "delivered under strace")
    calls = [re.sub(r"^\d+\s+", "", l) for l in open(trace).read().splitlines()]

    def first(pred, start=0):
        for i in range(start, len(calls)):
            if pred(calls[i]):
                return i
        return -1

    # Maildir
    i_open = first(lambda c: c.startswith("openat(") and '"tmp/' in c and "O_EXCL" in c)
    m = re.search(r'"tmp/([^"]+)".*= (\d+)$', calls[i_open]) if i_open >= 0 else None
    t.ok(m, "tmp/NAME created exclusively")
    name, fd = (m.group(1), m.group(2)) if m else ("?", "?")
    i_fsync = first(lambda c: c.startswith("fsync(%s)" % fd), i_open + 1)
    i_link = first(lambda c: (c.startswith("linkat(") or c.startswith("renameat2(")) and '"new/%s"' % name in c)
    i_newdir = first(lambda c: c.startswith("openat(") and '"new"' in c and "O_DIRECTORY" in c, max(i_link, 0))
    nfd = re.search(r"= (\d+)$", calls[i_newdir]).group(1) if i_newdir >= 0 else "?"
    i_dsync = first(lambda c: c.startswith("fsync(%s)" % nfd), max(i_newdir, 0))
    i_unlink = first(lambda c: c.startswith("unlinkat(") and '"tmp/%s"' % name in c)
    i_exit = first(lambda c: c.startswith("exit_group(0)"))
    t.ok(0 <= i_open < i_fsync < i_link, "fsync of tmp/NAME before the link into new/",
         "open %d fsync %d link %d" % (i_open, i_fsync, i_link))
    t.ok(i_link < i_dsync < i_unlink < i_exit, "fsync of new/ after the link, then tmp/ removed, then exit 0",
         "link %d dirsync %d unlink %d exit %d" % (i_link, i_dsync, i_unlink, i_exit))
    # mbox
    i_mbox = first(lambda c: c.startswith("openat(") and '"./Mailbox"' in c)
    bfd = re.search(r"= (\d+)$", calls[i_mbox]).group(1) if i_mbox >= 0 else "?"
    writes = [i for i in range(len(calls)) if calls[i].startswith("write(%s," % bfd) and i > i_mbox]
    i_bsync = first(lambda c: c.startswith("fsync(%s)" % bfd), max(i_mbox, 0))
    t.ok(writes and max(writes) < i_bsync < i_exit, "mbox written, fsynced, then exit 0",
         "writes %r fsync %d exit %d" % (writes, i_bsync, i_exit))
finally:
    r.remove()
    shutil.rmtree(work, ignore_errors=True)
t.done()
