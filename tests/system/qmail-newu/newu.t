#!/usr/bin/env python3
# qmail-newu: syntax checking of users/assign (a clear message with the
# line number, exit 111, the old users/cdb kept byte for byte, no
# temporary file left), the final "." line, and the atomic replacement
# (under strace: the new cdb is fsynced before it is renamed over the old
# one, and the directory is fsynced after). Root and single-user modes.
# smoke
import os, re, shutil, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import nqtest

t = nqtest.Tap()

GOOD = "=joe:joe:1001:1001:/home/joe:::\n+joe-:joe:1001:1001:/home/joe:-::\n.\n"
BAD = [
    ("=joe:joe:x:1001:/home/joe:::\n.\n", 1, "uid is not a number"),
    ("=joe:joe:1:1:/home/joe:::\n=bill:bill:1:-2:/home/bill:::\n.\n", 2, "gid is not a number"),
    ("=joe:joe:1:1:/home/joe:::\n+x:y:1:1:/h:-:\n.\n", 2, "expected 7 fields"),
    ("joe:joe:1:1:/home/joe:::\n.\n", 1, "must start with = (simple) or + (wildcard)"),
    ("=joe::1:1:/home/joe:::\n.\n", 1, "empty user name"),
    ("=joe:joe:1:1:home/joe:::\n.\n", 1, "absolute path"),
    ("=joe:joe:1:1:/home/joe:::\n", 2, "end of file before the final line"),
    ("=joe:joe:1:1:/home/joe:::", 1, "end of file before the final line"),
    ("", 1, "end of file before the final line"),
    ("=joe:joe:1:1:/home/joe:::\n\n.\n", 2, "empty line"),
    ("=joe:joe:1:1:/home/joe:::\n.x\n", 2, "the final line must be just"),
    ("=a\0b:joe:1:1:/home/joe:::\n.\n", 1, "NUL"),
    ("=" + "a" * 9000 + ":joe:1:1:/home/joe:::\n.\n", 1, "longer than 8192"),
    ("=joe:joe:99999999999:1:/home/joe:::\n.\n", 1, "uid is not a number"),
]


def cdbdump(q):
    r = subprocess.run(["cdb", "-d", q.path("users/cdb")], capture_output=True)
    return r.stdout


def check(q, label):
    q.write("users/assign", GOOD)
    r = nqtest.run([q.bin("qmail-newu")], user=q.as_owner())
    t.ok(r.returncode == 0, label + ": good assign compiles", r.stderr)
    dump = cdbdump(q)
    t.ok(b"!joe\0->joe\x001001\x001001\x00/home/joe\0\0" in dump and b"+0,1:->-" in dump,
         label + ": qmail's cdb layout (exact key with NUL, wildcard characters)", dump)
    with open(q.path("users/cdb"), "rb") as f:
        old = f.read()
    for text, line, why in BAD:
        q.write("users/assign", text)
        r = nqtest.run([q.bin("qmail-newu")], user=q.as_owner())
        err = r.stderr.decode("utf-8", "replace")
        with open(q.path("users/cdb"), "rb") as f:
            same = f.read() == old
        t.ok(r.returncode == 111 and ("line %d:" % line) in err and why in err and same
             and not os.path.exists(q.path("users/cdb.tmp")),
             "%s: %s -> line %d, old cdb kept" % (label, why, line), err)
    os.unlink(q.path("users/assign"))
    r = nqtest.run([q.bin("qmail-newu")], user=q.as_owner())
    t.ok(r.returncode == 111 and b"users/assign" in r.stderr, label + ": missing users/assign: 111", r.stderr)
    # Lenient where qmail is: text after the last colon, blanks after ".".
    q.write("users/assign", "=joe:joe:1:1:/home/joe:::trailing\r\n. \r\n")
    r = nqtest.run([q.bin("qmail-newu")], user=q.as_owner())
    t.ok(r.returncode == 0 and b"!joe\0->joe\x001\x001\x00/home/joe\0\0\n" in cdbdump(q),
         label + ": text after the last colon ignored", r.stderr)
    q.write("users/assign", ".\n")
    r = nqtest.run([q.bin("qmail-newu")], user=q.as_owner())
    t.ok(r.returncode == 0 and cdbdump(q) == b"+0,0:->\n\n", label + ": empty assign gives a cdb with only the wildcard record", cdbdump(q))


with nqtest.Instance(t) as q:
    check(q, q.mode)
    # Durability: fsync(cdb.tmp) < rename(cdb.tmp, cdb) < fsync(users/).
    q.write("users/assign", GOOD)
    if shutil.which("strace"):
        log = os.path.join(q.base, "strace.log")
        r = nqtest.run(["strace", "-f", "-o", log, "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2",
                        q.bin("qmail-newu")])
        with open(log) as f:
            lines = f.read().splitlines()
        fds = {}
        order = []
        for ln in lines:
            mo = re.search(r'openat\(AT_FDCWD, "([^"]+)".*= (\d+)$', ln)
            if mo:
                fds[mo.group(2)] = mo.group(1)
            mo = re.search(r'f(?:data)?sync\((\d+)\) += 0', ln)
            if mo:
                order.append(("fsync", fds.get(mo.group(1), "?")))
            mo = re.search(r'rename\w*\(.*"([^"]+)",.*"([^"]+)"\) += 0', ln)
            if mo:
                order.append(("rename", mo.group(1), mo.group(2)))
        tmp, cdb, users = q.path("users/cdb.tmp"), q.path("users/cdb"), q.path("users")
        try:
            i = order.index(("fsync", tmp))
            j = order.index(("rename", tmp, cdb))
            k = [n for n, o in enumerate(order) if o[0] == "fsync" and o[1].rstrip("/") in (users, q.path("users/."))]
            ok = r.returncode == 0 and i < j and k and k[-1] > j
        except ValueError:
            ok = False
        t.ok(ok, "cdb.tmp fsynced, renamed over users/cdb, users/ fsynced", "\n".join(map(str, order)))
    else:
        t.skip("durability order", "strace not installed")

if nqtest.IS_ROOT:
    owner = nqtest.TestUser("nqnewu")
    try:
        with nqtest.Instance(t, mode="single", owner="nqnewu") as q:
            check(q, "single")
    finally:
        owner.remove()
t.done()
