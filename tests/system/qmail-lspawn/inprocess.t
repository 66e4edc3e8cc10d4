#!/usr/bin/env python3
# qmail-lspawn delivers in-process: one fork per delivery, no program run.
# Under strace -f: no execve at all (neither qmail-local nor qmail-getpw),
# one clone per delivery plus one for the lookup helper, and the password
# file is read only by that helper, after it became qmailp. A program
# delivery sees what it saw when qmail-local was executed (QMAILLOCAL):
# the same environment, signal dispositions and mask, umask, descriptors,
# uid, gid and groups (supplementary groups dropped). Exit codes of the
# engine map to K/D/Z; a killed helper is replaced; a waiting delivery does
# not hold up the others; uid 0 is refused. QMAILGETPW: a site's lookup
# program, run by the helper; a helper dying mid-lookup, a malformed record,
# a failing program, qmailp with uid 0: temporary failures. Single-user
# mode: no helper, no exec either.
# smoke
import os, pwd, re, signal, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lspawnlib as L
from lspawnlib import nqtest

t = nqtest.Tap()
if not nqtest.IS_ROOT or not os.path.exists("/usr/bin/strace"):
    t.skip("qmail-lspawn in-process delivery", "needs root and strace")
    t.done()

TRACE = "execve,clone,clone3,fork,vfork,setuid,setresuid,openat,open"
DUMP = ("|(env | sort; grep -E '^(Sig(Blk|Ign)|Umask)' /proc/self/status; "
        "ls -l /proc/$$/fd | sed 1d | sed 's/.* \\([0-9]*\\) -> \\([a-z]*\\).*/\\1 \\2/'; "
        "id -u; id -g; id -G) > $HOME/dump.$DEFAULT 2>&1\n")


class Traced(L.Lspawn):
    """A qmail-lspawn run under strace -f, writing the trace to path."""
    def __init__(self, q, path, env=None):
        pre = None
        who = q.as_owner()
        if who:
            pw = pwd.getpwnam(who)
            def pre():
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        e = dict(os.environ)
        e.pop("NQMAIL_HOME", None)
        e.update(env or {})
        self.p = subprocess.Popen(["strace", "-f", "-qq", "-o", path, "-e", "trace=" + TRACE,
                                   q.bin("qmail-lspawn"), "./Maildir/"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=pre, env=e, cwd="/")
        self.pending = b""


def trace_events(path):
    """[(pid, call, args, result)] of completed calls, resumed ones joined."""
    out, pending = [], {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            pid, _, rest = line.partition(" ")
            rest = rest.lstrip()
            if rest.startswith("+++") or rest.startswith("---"):
                continue
            if rest.endswith("<unfinished ...>"):
                call = rest.split("(", 1)[0]
                pending[(pid, call)] = rest[len(call) + 1:-len("<unfinished ...>")]
                continue
            if rest.startswith("<... "):
                call = rest[5:].split(" ", 1)[0]
                rest = call + "(" + pending.pop((pid, call), "") + rest.split("resumed>", 1)[1]
            call, _, tail = rest.partition("(")
            m = re.match(r"(.*)\)\s+=\s+(\S+)", tail)
            if m:
                out.append((pid, call, m.group(1), m.group(2)))
    return out


def ok_result(r):
    return r not in ("?", "") and not r.startswith("-")


def dump(u, tag):
    p = os.path.join(u.home, "dump." + tag)
    try:
        with open(p) as f:
            return f.read().splitlines()
    except OSError:
        return None


def children_named(pid, comm):
    """Children of pid whose process name is comm."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = nqtest.proc_stat(int(d))
            if st and st["ppid"] == pid and st["comm"] == comm:
                out.append(int(d))
    return out


def helpers_of(pid):
    """The lookup helpers of qmail-lspawn pid (named qmail-getpw)."""
    return children_named(pid, "qmail-getpw")


users = []
try:
    u = nqtest.TestUser("nqlsi")
    users.append(u)
    # A supplementary group, which deliveries must not keep.
    subprocess.run(["usermod", "-aG", "mail", u.name], check=True, capture_output=True)
    qmailp = pwd.getpwnam("qmailp")
    with nqtest.Instance(t) as q:
        md = u.maildirmake("Maildir")
        u.write(".qmail-dump-default", DUMP)
        u.write(".qmail-exit-default", "|exit $DEFAULT\n")
        u.write(".qmail-wait", "|while [ ! -e %s ]; do sleep 0.05; done\n" % os.path.join(q.base, "release"))
        u.write(".qmail-chatty", "|yes 'lots of output' | head -c 100000; exit 100\n")
        q.write("alias/.qmail-x", "./Maildir/\n")
        m = L.put_message(q, "From: a@remote.test\nSubject: in-process\n\nhello\n")
        tr = os.path.join(q.base, "lspawn.tr")

        # --- no program started; one fork per delivery; NSS only as qmailp
        s = Traced(q, tr)
        try:
            res = [s.one(0, m, "a@remote.test", "nqlsi@example.test"),
                   s.one(1, m, "a@remote.test", "x@example.test"),
                   s.one(2, m, "a@remote.test", "nqlsi@example.test"),
                   s.one(3, m, "a@remote.test", "@example.test")]
            t.ok(all(r[0] == "K" for r in res) and all("did 1+0+0" in r[1] for r in res[:3]),
                 "user, alias and trash deliveries succeed", res)
            files = os.listdir(os.path.join(md, "new"))
            t.eq(len(files), 2, "two messages in the user's Maildir")
            t.eq(len(os.listdir(q.path("alias/Maildir/new"))), 1, "one in alias/Maildir")
        finally:
            rc, _, err = s.close()
        ev = trace_events(tr)
        main = ev[0][0] if ev else None
        execs = [e for e in ev if e[1] == "execve" and ok_result(e[3])]
        t.eq([e[2].split(",")[0] for e in execs], ['"%s"' % q.bin("qmail-lspawn")],
             "the only program executed is qmail-lspawn itself", execs)
        forks = [e for e in ev if e[1] in ("clone", "clone3", "fork", "vfork") and ok_result(e[3])]
        t.eq(len(forks), 4, "four processes: three deliveries and one lookup helper (none for trash)", forks)
        pw_readers = set(e[0] for e in ev if e[1] in ("openat", "open") and '"/etc/passwd"' in e[2]
                         and ok_result(e[3]))
        qp = str(qmailp.pw_uid)
        became = set(e[0] for e in ev if e[1] in ("setuid", "setresuid") and ok_result(e[3])
                     and e[2].split(",")[0].strip() == qp)
        t.ok(pw_readers and main not in pw_readers and pw_readers <= became,
             "the password file is read only by a process that became qmailp", (pw_readers, became, main))
        helper_pids = pw_readers
        t.eq(len(helper_pids), 1, "one helper served every lookup")

        # --- the environment a program sees: in-process versus executed qmail-local
        env = {"NQTEST_MARK": "in the environment of qmail-lspawn"}
        got = {}
        for tag, extra in (("inproc", {}), ("exec", {"QMAILLOCAL": q.bin("qmail-local")})):
            e = dict(env)
            e.update(extra)
            s = L.Lspawn(q, env=e)
            try:
                st, text = s.one(0, m, "s@remote.test", "nqlsi-dump-%s@example.test" % tag)
                t.ok(st == "K", "program delivery (%s) succeeds" % tag, text)
            finally:
                s.close()
            got[tag] = dump(u, tag)
        a, b = got["inproc"] or [], got["exec"] or []

        def norm(lines, tag):
            """Without the variables that name the address or the time."""
            out = []
            for x in lines:
                if x.startswith(("QMAILLOCAL=", "UFLINE=")):
                    continue
                if x.startswith(("DEFAULT=", "EXT=", "EXT2=", "LOCAL=", "RECIPIENT=", "DTLINE=")):
                    x = x.replace(tag, "TAG")
                out.append(x)
            return out
        t.ok(a and norm(a, "inproc") == norm(b, "exec"),
             "environment, signals, umask, descriptors and ids are those of an executed qmail-local",
             "\n".join(x for x in set(norm(a, "inproc")) ^ set(norm(b, "exec"))))
        t.ok("NQTEST_MARK=in the environment of qmail-lspawn" in a and "LOCAL=nqlsi-dump-inproc" in a
             and "RECIPIENT=nqlsi-dump-inproc@example.test" in a and "DEFAULT=inproc" in a,
             "qmail-lspawn's environment plus qmail-command's variables", a)
        t.ok("Umask:\t0077" in a and "SigBlk:\t0000000000000000" in a, "umask 077, no signal blocked", a)
        fds = [x for x in a if len(x.split(" ")) == 2 and x.split(" ")[0].isdigit()]
        t.eq(sorted(x.split(" ")[0] for x in fds), ["0", "1", "2"], "only descriptors 0, 1, 2", a)
        t.eq(a[-3:], [str(u.uid), str(u.gid), str(u.gid)], "the user's uid and gid, no supplementary group")

        # --- exit codes and report text
        s = L.Lspawn(q)
        try:
            st, text = s.one(0, m, "s@x", "nqlsi-exit-100@example.test")
            t.ok(st == "D" and "5.2.0" in text, "program exit 100: D", (st, text))
            st, text = s.one(0, m, "s@x", "nqlsi-exit-111@example.test")
            t.ok(st == "Z" and "4.2.0" in text, "program exit 111: Z", (st, text))
            st, text = s.one(0, m, "s@x", "nqlsi-exit-0@example.test")
            t.ok(st == "K" and text == "did 0+0+1/", "program exit 0: K with qmail-local's report", (st, text))
            st, text = s.one(0, m, "s@x", "nqlsi-chatty@example.test")
            t.ok(st == "D" and 0 < len(text) <= 1000 and text.startswith("lots of output"),
                 "a chatty program's output is bounded", len(text))
            st, text = s.one(0, m, "s@x", "nqlsi-nosuch@example.test")
            t.ok(st == "D" and "5.1.1" in text, "no .qmail for the extension: D", (st, text))

            # a killed helper is replaced at the next lookup
            hs = helpers_of(s.p.pid)
            t.ok(len(hs) == 1 and nqtest.proc_uid(hs[0]) == qmailp.pw_uid,
                 "the lookup helper runs as qmailp", [(h, nqtest.proc_uid(h)) for h in hs])
            for h in hs:
                os.kill(h, signal.SIGKILL)
            time.sleep(0.2)
            st, text = s.one(1, m, "s@x", "nqlsi@example.test")
            t.ok(st == "K", "after the helper was killed, lookups still work", (st, text))
            hs2 = helpers_of(s.p.pid)
            t.ok(len(hs2) == 1 and hs2 != hs, "a new helper took its place", (hs, hs2))

            # a delivery waiting on its program does not hold up another
            s.send(2, m, "s@x", "nqlsi-wait@example.test")
            s.send(3, m, "s@x", "nqlsi@example.test")
            r = s.reports(1)
            t.eq(list(r.keys()), [3], "a later delivery finishes while an earlier one waits")
            # The waiting engine holds its report pipe and its program's
            # output pipe, none of qmail-lspawn's own (self-pipe, helper's).
            eng = children_named(s.p.pid, "qmail-local")
            pipes = set()
            for e in eng:
                for fd in os.listdir("/proc/%d/fd" % e):
                    try:
                        target = os.readlink("/proc/%d/fd/%s" % (e, fd))
                    except OSError:
                        continue
                    if target.startswith("pipe:"):
                        pipes.add(target)
            t.ok(len(eng) == 1 and len(pipes) == 2,
                 "the delivery holds no descriptor of qmail-lspawn's", (eng, pipes))
            open(os.path.join(q.base, "release"), "w").close()
            r = s.reports(1)
            t.eq(list(r.keys()), [2], "the waiting one is reported when it ends")
        finally:
            rc, rest, err = s.close()
        t.ok(rc == 0 and not helpers_of(s.p.pid), "end of input: exit 0, helper gone", (rc, err))

        # QMAILGETPW: the helper runs the site's program per lookup; a
        # helper dying in the middle of a lookup, a malformed record and a
        # failing program are temporary failures, and lookups go on.
        gp = os.path.join(q.base, "getpw")
        with open(gp, "w") as f:
            f.write('#!/bin/sh\ncase "$1" in\nkiller) kill -9 $PPID; sleep 1; exit 111 ;;\n'
                    'garbage) printf "no record here" ;;\nfails) exit 111 ;;\n'
                    '*) exec %s "$@" ;;\nesac\n' % q.bin("qmail-getpw"))
        os.chmod(gp, 0o755)
        s = L.Lspawn(q, env={"QMAILGETPW": gp})
        try:
            st, text = s.one(0, m, "s@x", "killer@example.test")
            t.ok(st == "Z" and "died" in text, "helper killed during a lookup: Z", (st, text))
            st, text = s.one(0, m, "s@x", "garbage@example.test")
            t.ok(st == "Z" and "malformed" in text, "malformed record: Z", (st, text))
            st, text = s.one(0, m, "s@x", "fails@example.test")
            t.ok(st == "Z" and "qmail-getpw" in text, "failing lookup program: Z", (st, text))
            st, text = s.one(0, m, "s@x", "nqlsi@example.test")
            t.ok(st == "K" and "did 1+0+0" in text, "then a lookup through the program delivers", (st, text))
        finally:
            s.close()

        # qmailp with uid 0 in users/ids: no lookup at all
        ids = open(q.path("users/ids")).read()
        q.write("users/ids", "".join("qmailp:0:0\n" if x.startswith("qmailp:") else x + "\n"
                                     for x in ids.splitlines()), owner="root")
        s = L.Lspawn(q)
        try:
            st, text = s.one(0, m, "s@x", "nqlsi@example.test")
            t.ok(st == "Z" and "qmailp has uid 0" in text, "qmailp as root: Z, no lookup", (st, text))
            t.eq(helpers_of(s.p.pid), [], "and no helper")
        finally:
            s.close()
        q.write("users/ids", ids, owner="root")

        # uid 0 from users/assign is refused in-process too
        q.write("users/assign", "=rootbox:root:0:0:/root:::\n.\n")
        nqtest.run([q.bin("qmail-newu")], check=True)
        s = L.Lspawn(q)
        try:
            st, text = s.one(0, m, "s@x", "rootbox@example.test")
            t.ok(st == "Z" and "root" in text, "uid 0 assignment: Z", (st, text))
        finally:
            s.close()

    # --- single-user: no helper, no exec
    o = nqtest.TestUser("nqlsio")
    users.append(o)
    with nqtest.Instance(t, mode="single", owner=o.name) as q:
        q.write("alias/.qmail-x", "./Maildir/\n")
        m = L.put_message(q, "Subject: single\n\nhi\n")
        tr = os.path.join(q.base, "single.tr")
        s = Traced(q, tr)
        try:
            st1, _ = s.one(0, m, "s@x", "x@example.test")
            st2, _ = s.one(1, m, "s@x", "x@example.test")
        finally:
            s.close()
        ev = trace_events(tr)
        execs = [e for e in ev if e[1] == "execve" and ok_result(e[3])]
        forks = [e for e in ev if e[1] in ("clone", "clone3", "fork", "vfork") and ok_result(e[3])]
        t.ok((st1, st2) == ("K", "K") and q.maildir_count("alias/Maildir") == 2,
             "single-user: two deliveries to the alias user", (st1, st2))
        t.ok(len(execs) == 1 and len(forks) == 2, "single-user: one fork per delivery, no program, no helper",
             (execs, forks))
finally:
    for x in users:
        x.remove()
t.done()
