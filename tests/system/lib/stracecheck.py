"""stracecheck: run a command under strace and ask in which order it did
its file system calls, so a test can check the queue's durability rules
(DESIGN section 3): data fsynced before the link or rename that makes it
visible, the directory fsynced after, all before the exit that reports
success.

Running
-------
    from stracecheck import trace
    tr = trace(cmd, input=b"...", stdout=fd, cwd=..., env=..., user=None,
               timeout=60, extra=())

runs ``strace -f -y -q -s 64`` on ``cmd`` (a list) with the system calls
openat open creat link linkat rename renameat renameat2 fsync fdatasync
write unlink unlinkat exit_group, plus chdir fchdir clone clone3 fork
vfork (only so relative paths and children can be followed). All keyword
arguments but ``user``, ``extra`` and ``timeout`` go to subprocess.run;
stdin/stdout/stderr default to pipes (stdout and stderr are captured
unless you pass your own).
``user="name"`` makes strace run the command as that user (strace -u), so
a set-uid program still changes uid under the trace (the test must be
root). ``extra`` adds system call names to trace. It returns a Trace:

    tr.returncode, tr.stdout, tr.stderr     as from subprocess.run
    tr.calls                                every Call, in order
    tr.main_pid                             pid of the command itself
    tr.text                                 strace's raw output (diagnostics)

A Call has: pid, name, args (raw strings), ret (int, or None for "?"),
err ("ENOENT" ... or None), ok (ret is not -1), start and end (line
numbers: a call that strace shows as <unfinished ...> and resumed later
spans both), fdpath (the path of its fd argument, from -y), paths (every
absolute path it names: fd paths and path arguments resolved against the
process's directory), target (for link/linkat/rename*: the new name; for
open*/creat: the file opened; for unlink*: the name removed).
``a.before(b)`` is true when a finished before b started.

Paths and patterns
------------------
A pattern names a path: absolute ("/tmp/x/queue/todo"), or relative,
which matches any path ending with it at a "/" ("queue/todo/123" matches
"/tmp/nqt-1/q/queue/todo/123" but not ".../xqueue/todo/123"). Glob
characters (* ? [) are allowed ("queue/mess/*/123"). A file is also known
by its other names: a successful link or rename makes its two names
aliases, so "the fsync of mess/5/123" matches fsync(3</.../pid/9.1.1>)
when pid/9.1.1 was linked to mess/5/123 (the kernel shows an fd by the
name it was opened with).

Asking
------
    tr.find(kind, pattern=None, after=None, pid=None, ok=True) -> [Call]
        kind: a system call name or one of the groups
          "fsync"   fsync fdatasync          (pattern: the file, any alias)
          "write"   write                    (pattern: the file, any alias)
          "publish" link linkat rename*      (pattern: the new name only)
          "link", "rename"                   (the same, narrower)
          "open"    open openat creat        (pattern: the file opened)
          "unlink"  unlink unlinkat          (pattern: the name removed)
          "exit"    exit_group               (pattern: the exit code, int)
        after: only calls that start after this Call finished.
    tr.first(kind, pattern, after=None) -> Call or None
    tr.exit_call(code=0, pid=None) -> exit_group(code) of the command (or pid)
    tr.aliases(path) -> set of every name the file at path had
    Trace.match(path, pattern) -> bool    the pattern rule above

    ok, why = tr.order(step, step, ...)
        Each step is (kind, pattern), a Call, or a function Call -> bool;
        ("exit", code) means the command's own exit_group(code).
        True when calls matching the steps exist in that order, each
        finishing before the next starts (earliest matches are chosen,
        which finds an order whenever one exists). ``why`` lists the
        calls chosen, or says which step had no match after which call.

    ok, why = tr.durable(file, visible, dirs_before=(), dir_after=None,
                         code=0)
        The whole rule for one published file: let P be the first call
        that made ``visible`` appear (link/rename with that target). Then
          - every write to ``file`` (any alias) before P is followed by
            an fsync of it that finishes before P starts;
          - at least one such fsync exists (even an empty file);
          - each directory in dirs_before was fsynced after its last new
            entry before P and before P started;
          - dir_after (default: the directory of ``visible``) is fsynced
            after P finished;
          - all of it before the command's exit_group(code).

    tr.dump(pattern=None) -> str   the calls touching a path, for diag()

Example
-------
    tr = trace([q.bin("qmail-queue")], input=msg, stdout=envfd)
    ok, why = tr.durable("queue/intd/%d" % n, "queue/todo/%d" % n,
                         dirs_before=["queue/mess/%d" % (n % 23),
                                      "queue/intd"])
    t.ok(ok, "qmail-queue publishes todo/N durably", why)
"""
import fnmatch
import os
import re
import shutil
import subprocess
import tempfile

SYSCALLS = ["openat", "open", "creat", "link", "linkat", "rename", "renameat",
            "renameat2", "fsync", "fdatasync", "write", "unlink", "unlinkat",
            "exit_group", "chdir", "fchdir", "clone", "clone3", "fork", "vfork"]

GROUPS = {
    "fsync": {"fsync", "fdatasync"},
    "write": {"write"},
    "link": {"link", "linkat"},
    "rename": {"rename", "renameat", "renameat2"},
    "publish": {"link", "linkat", "rename", "renameat", "renameat2"},
    "open": {"open", "openat", "creat"},
    "unlink": {"unlink", "unlinkat"},
    "exit": {"exit_group"},
}
FORKS = {"clone", "clone3", "fork", "vfork"}


def available():
    """True when strace can be run here."""
    return shutil.which("strace") is not None


# --- decoding strace's notation -------------------------------------------

_ESC = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "\\": "\\", '"': '"', "a": "\a", "b": "\b"}


def _unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "\\" or i + 1 >= len(s):
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n == "x" and i + 3 < len(s):
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        elif n.isdigit():
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in "01234567":
                j += 1
            out.append(chr(int(s[i + 1:j], 8)))
            i = j
        else:
            out.append(_ESC.get(n, n))
            i += 2
    return "".join(out)


def _split_args(s):
    """Top-level comma-separated arguments of a call."""
    args, cur, depth, i = [], [], 0, 0
    while i < len(s):
        c = s[i]
        if c == '"':
            j = i + 1
            while j < len(s) and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            cur.append(s[i:j + 1])
            i = j + 1
            continue
        if c == "<":                      # -y annotation; '>' inside is escaped
            j = s.find(">", i)
            j = len(s) - 1 if j < 0 else j
            cur.append(s[i:j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if cur or args:
        args.append("".join(cur).strip())
    return args


_FD = re.compile(r'^(-?\d+|AT_FDCWD)<(.*)>$', re.S)
_STR = re.compile(r'^"(.*)"(\.\.\.)?$', re.S)


def _fd(arg):
    """(fd, path) from '3</x>' or 'AT_FDCWD</x>', else (None, None)."""
    m = _FD.match(arg)
    if not m:
        return None, None
    return m.group(1), _unescape(m.group(2))


def _str(arg):
    m = _STR.match(arg)
    return _unescape(m.group(1)) if m else None


def _norm(p):
    if p is None:
        return None
    p = os.path.normpath(p)
    d, b = os.path.split(p)
    try:
        d = os.path.realpath(d)
    except OSError:
        pass
    return os.path.join(d, b)


class Call:
    def __init__(self, pid, name, argtext, rettext, start, end):
        self.pid, self.name, self.start, self.end = pid, name, start, end
        self.args = _split_args(argtext)
        self.rettext = rettext.strip()
        self.ret, self.err = None, None
        m = re.match(r'^(-?\d+)(?:<(.*?)>)?(?:\s+(E[A-Z0-9]+))?', self.rettext)
        if m:
            self.ret = int(m.group(1))
            self.err = m.group(3)
            self.retpath = _unescape(m.group(2)) if m.group(2) is not None else None
        else:
            self.retpath = None
        self.ok = self.ret != -1
        self.fdpath = None
        self.paths = []
        self.target = None
        self.source = None

    def before(self, other):
        return self.end < other.start

    def __repr__(self):
        return "<%d %s(%s) = %s @%d-%d>" % (self.pid, self.name, ", ".join(self.args)[:120],
                                             self.rettext, self.start, self.end)


class Trace:
    def __init__(self, text, main_pid=None, cwd=None, returncode=None, stdout=None, stderr=None):
        self.text = text
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.calls = []
        self.exits = {}
        self.main_pid = main_pid
        self._parent = {}
        self._alias = {}
        self._parse(text, _norm(cwd or os.getcwd()))

    # --- parsing ------------------------------------------------------------
    def _parse(self, text, cwd0):
        pending = {}
        cwd = {}
        pending_fork = []
        for ln, line in enumerate(text.splitlines()):
            m = re.match(r'^(?:\[pid\s+)?(\d+)\]?\s+(.*)$', line)
            if not m:
                continue
            pid, rest = int(m.group(1)), m.group(2)
            if self.main_pid is None:
                self.main_pid = pid
            if pid not in cwd:
                cwd[pid] = cwd.get(pending_fork[-1][0]) if pending_fork else cwd0
                if cwd[pid] is None:
                    cwd[pid] = cwd0
            em = re.match(r'^\+\+\+ exited with (\d+) \+\+\+', rest)
            if em:
                self.exits[pid] = int(em.group(1))
                continue
            if rest.startswith("+++") or rest.startswith("---"):
                continue
            rm = re.match(r'^<\.\.\. (\w+) resumed>(.*)$', rest)
            if rm:
                if pid not in pending:
                    continue
                name, argtext, start = pending.pop(pid)
                rest2 = argtext + rm.group(2)
                if name in FORKS:
                    pending_fork = [p for p in pending_fork if p[0] != pid]
                self._complete(pid, name, rest2, start, ln, cwd)
                continue
            um = re.match(r'^(\w+)\((.*) <unfinished \.\.\.>$', rest)
            if um:
                pending[pid] = (um.group(1), um.group(2), ln)
                if um.group(1) in FORKS:
                    pending_fork.append((pid, ln))
                continue
            cm = re.match(r'^(\w+)\((.*)$', rest)
            if cm:
                self._complete(pid, cm.group(1), cm.group(2), ln, ln, cwd)

    def _complete(self, pid, name, rest, start, end, cwd):
        # rest is "args) = ret"; the last ") = " splits them (greedy).
        m = re.match(r'^(.*)\)\s+=\s+(.*)$', rest, re.S)
        if not m:
            m = re.match(r'^(.*)\)\s*$', rest, re.S)
            argtext, rettext = (m.group(1), "?") if m else (rest, "?")
        else:
            argtext, rettext = m.group(1), m.group(2)
        c = Call(pid, name, argtext, rettext, start, end)
        here = cwd.get(pid)

        def resolve(dirarg, patharg):
            p = _str(patharg) if patharg is not None else None
            if p is None:
                return None
            if p.startswith("/"):
                return _norm(p)
            base = here
            if dirarg is not None:
                fd, dp = _fd(dirarg)
                if dp is not None:
                    base = dp
                    if fd == "AT_FDCWD":
                        cwd[pid] = _norm(dp)
            return _norm(os.path.join(base or "/", p))

        a = c.args
        for arg in a:
            fd, p = _fd(arg)
            if p is not None and fd != "AT_FDCWD":
                p = _norm(p) if p.startswith("/") else p    # pipe:[N], socket:[N]
                c.fdpath = c.fdpath or p
                c.paths.append(p)
            elif fd == "AT_FDCWD":
                cwd[pid] = _norm(p)
                here = cwd[pid]
        if name in ("open", "creat") and a:
            c.target = resolve(None, a[0])
        elif name == "openat" and len(a) >= 2:
            c.target = resolve(a[0], a[1])
        elif name in ("link", "rename") and len(a) >= 2:
            c.source, c.target = resolve(None, a[0]), resolve(None, a[1])
        elif name in ("linkat", "renameat", "renameat2") and len(a) >= 4:
            c.source, c.target = resolve(a[0], a[1]), resolve(a[2], a[3])
        elif name == "unlink" and a:
            c.target = resolve(None, a[0])
        elif name == "unlinkat" and len(a) >= 2:
            c.target = resolve(a[0], a[1])
        elif name == "chdir" and a and c.ok:
            cwd[pid] = resolve(None, a[0])
        elif name == "fchdir" and c.ok and c.fdpath:
            cwd[pid] = c.fdpath
        elif name in FORKS and c.ok and c.ret:
            self._parent[c.ret] = pid
            cwd.setdefault(c.ret, cwd.get(pid))
        if c.retpath and name in GROUPS["open"]:
            c.target = _norm(c.retpath)
        for p in (c.source, c.target):
            if p:
                c.paths.append(p)
        if name in GROUPS["publish"] and c.ok and c.source and c.target:
            self._union(c.source, c.target)
        if name == "exit_group" and a:
            try:
                c.ret = int(a[0])
            except ValueError:
                pass
            c.ok = True
        self.calls.append(c)

    # --- aliases (hard links and renames) -------------------------------------
    def _find(self, p):
        while self._alias.get(p, p) != p:
            p = self._alias[p]
        return p

    def _union(self, a, b):
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._alias[ra] = rb
            self._alias.setdefault(rb, rb)

    def aliases(self, path):
        """Every name known for the file at path (including path)."""
        if path is None:
            return set()
        r = self._find(path)
        names = {p for p in self._alias if self._find(p) == r}
        names.add(path)
        return names

    # --- matching -----------------------------------------------------------
    @staticmethod
    def match(path, pattern):
        """Does the absolute path match the pattern (see the module notes)?"""
        if path is None or pattern is None:
            return False
        pattern = str(pattern)
        glob = any(ch in pattern for ch in "*?[")
        if pattern.startswith("/"):
            pat = os.path.normpath(pattern)
            return fnmatch.fnmatchcase(path, pat) if glob else path == _norm(pat) or path == pat
        pat = os.path.normpath(pattern)
        if glob:
            return fnmatch.fnmatchcase(path, "*/" + pat)
        return path.endswith("/" + pat)

    def _matches(self, c, kind, pattern):
        names = GROUPS.get(kind, {kind})
        if c.name not in names:
            return False
        if pattern is None:
            return True
        if kind == "exit" or c.name == "exit_group":
            return c.ret == pattern
        if kind in ("publish", "link", "rename") or c.name in GROUPS["publish"]:
            return self.match(c.target, pattern)
        if c.name in GROUPS["open"] or c.name in GROUPS["unlink"]:
            return self.match(c.target, pattern)
        # fsync, write, anything on an fd: the file under any of its names
        return any(self.match(p, pattern) for p in self.aliases(c.fdpath))

    def find(self, kind, pattern=None, after=None, pid=None, ok=True):
        out = []
        for c in self.calls:
            if after is not None and not after.before(c):
                continue
            if pid is not None and c.pid != pid:
                continue
            if ok and not c.ok:
                continue
            if self._matches(c, kind, pattern):
                out.append(c)
        return out

    def first(self, kind, pattern=None, after=None, pid=None):
        f = self.find(kind, pattern, after=after, pid=pid)
        return f[0] if f else None

    def exit_call(self, code=0, pid=None):
        return self.first("exit", code, pid=pid if pid is not None else self.main_pid)

    # --- questions ------------------------------------------------------------
    def _step(self, step, after):
        if isinstance(step, Call):
            return step if after is None or after.before(step) else None
        if callable(step):
            for c in self.calls:
                if (after is None or after.before(c)) and step(c):
                    return c
            return None
        kind, pattern = step
        pid = self.main_pid if kind == "exit" else None
        return self.first(kind, pattern, after=after, pid=pid)

    def order(self, *steps):
        chosen, prev = [], None
        for i, s in enumerate(steps):
            c = self._step(s, prev)
            if c is None:
                why = ["step %d %r: no matching call%s" % (i + 1, s, "" if prev is None else " after %r" % prev)]
                if isinstance(s, tuple):
                    anywhere = self.find(s[0], s[1], ok=False)
                    why.append("matching calls anywhere: %s" % (anywhere[:6] or "none"))
                why += ["chose: %r" % x for x in chosen]
                return False, "\n".join(why)
            chosen.append(c)
            prev = c
        return True, "\n".join("%r" % c for c in chosen)

    def durable(self, file, visible, dirs_before=(), dir_after=None, code=0):
        why = []
        pub = self.first("publish", visible)
        if pub is None:
            return False, "nothing made %s visible (no link/rename with that target)\n%s" % (visible, self.dump())
        why.append("published by %r" % pub)
        writes = [c for c in self.find("write", file) if c.before(pub)]
        syncs = [c for c in self.find("fsync", file) if c.before(pub)]
        if not syncs:
            return False, "\n".join(why + ["no fsync of %s before the publishing call" % file])
        last_sync = syncs[-1]
        late = [w for w in writes if not w.before(last_sync)]
        if late:
            return False, "\n".join(why + ["write after the last fsync of %s: %r" % (file, late[0])])
        why.append("file synced by %r" % last_sync)
        for d in dirs_before:
            made = [c for c in self.calls if c.ok and c.before(pub) and c.target
                    and (c.name in GROUPS["publish"] or (c.name in GROUPS["open"] and "O_CREAT" in " ".join(c.args)))
                    and self.match(os.path.dirname(c.target), d)]
            start = made[-1] if made else None
            ds = [c for c in self.find("fsync", d, after=start) if c.before(pub)]
            if not ds:
                return False, "\n".join(why + ["directory %s not fsynced between its new entry %r and the publishing call" % (d, start)])
            why.append("dir %s synced by %r" % (d, ds[0]))
        da = dir_after or os.path.dirname(visible)
        after = self.first("fsync", da, after=pub)
        if after is None:
            return False, "\n".join(why + ["directory %s not fsynced after %r" % (da, pub)])
        why.append("dir %s synced after by %r" % (da, after))
        ex = self.exit_call(code)
        if ex is None:
            return False, "\n".join(why + ["no exit_group(%r) by pid %s" % (code, self.main_pid)])
        if not after.before(ex) or not pub.before(ex):
            return False, "\n".join(why + ["exit %r came before the directory fsync" % ex])
        why.append("then %r" % ex)
        return True, "\n".join(why)

    def dump(self, pattern=None):
        out = []
        for c in self.calls:
            if pattern is None or any(self.match(p, pattern) for p in c.paths) or \
                    any(self.match(p, pattern) for p in self.aliases(c.fdpath)):
                out.append(repr(c))
        return "\n".join(out)


def trace(cmd, user=None, extra=(), timeout=60, **kw):
    """Run cmd under strace; returns a Trace (see the module notes)."""
    d = tempfile.mkdtemp(prefix="nqstrace-")
    out = os.path.join(d, "trace")
    try:
        st = ["strace", "-f", "-y", "-q", "-s", "64", "-o", out,
              "-e", "trace=" + ",".join(SYSCALLS + list(extra)), "-e", "signal=none"]
        if user is not None:
            st += ["-u", user]
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        r = subprocess.run(st + ["--"] + list(cmd), timeout=timeout, **kw)
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read()
        return Trace(text, cwd=kw.get("cwd"), returncode=r.returncode, stdout=r.stdout, stderr=r.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)
