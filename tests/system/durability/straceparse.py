"""straceparse: the system calls that matter for durability, read from
the output of `strace -f -y` (see trace_cmd), as a list of events in the
order they completed, with every path made absolute.

An event is a dict: {"i": index, "pid": pid, "call": name, ...}
  exec   path                      (successful execve)
  fsync  path                      (fsync or fdatasync of an fd, its path)
  link   src, dst, how             (link/linkat/rename/renameat/renameat2)
  unlink path
  open   path, flags               (successful open/openat/creat)
  write  path, data                (write/pwrite64/writev on an fd; data: bytes, maybe cut)
  exit   code                      (exit_group, or "+++ exited with N +++")
Parents come from clone/fork/vfork returns: parent[pid]."""
import os, re

TRACED = ("execve,clone,clone3,fork,vfork,chdir,fchdir,open,openat,creat,fsync,fdatasync,"
          "link,linkat,rename,renameat,renameat2,unlink,unlinkat,write,pwrite64,writev,exit_group")


def trace_cmd(out):
    """argv prefix that traces a command and its children into file out."""
    return ["strace", "-f", "-q", "-y", "-s", "128", "-o", out, "-e", "trace=" + TRACED]


_line = re.compile(r"^(\d+)\s+(.*)$")
_call = re.compile(r"^(\w+)\((.*)\)\s+=\s+(.*)$", re.S)
_unf = re.compile(r"^(\w+)\((.*?)\s*<unfinished \.\.\.>$")
_res = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_exited = re.compile(r"^\+\+\+ exited with (\d+) \+\+\+")
_fd = re.compile(r"^(-?\d+|AT_FDCWD)<(.*)>$", re.S)


def split_args(s):
    """Top-level comma split, aware of quotes and brackets."""
    out, cur, depth, q, esc = [], [], 0, False, False
    for ch in s:
        if q:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                q = False
            continue
        if ch == '"':
            q = True
        elif ch in "[{(<":
            depth += 1
        elif ch in "]})>":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if cur or out:
        out.append("".join(cur).strip())
    return out


def decode_str(a):
    """Bytes of a strace string argument ("..." maybe followed by ...)."""
    m = re.match(r'^"(.*)"(\.\.\.)?$', a, re.S)
    if not m:
        return None
    return m.group(1).encode("latin-1", "replace").decode("unicode_escape").encode("latin-1", "replace")


def fdpath(a):
    m = _fd.match(a)
    if not m:
        return None
    p = m.group(2)
    if p.endswith(" (deleted)"):
        p = p[:-len(" (deleted)")]
    return p


def parse(path, cwd0=None):
    """Events and parent map from the strace output file `path`.
    cwd0: working directory of the first traced process."""
    raw = []
    pending = {}
    with open(path, "r", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = _line.match(line)
            if not m:
                continue
            pid, rest = int(m.group(1)), m.group(2)
            mx = _exited.match(rest)
            if mx:
                raw.append((pid, "+exit", [mx.group(1)], "0"))
                continue
            if rest.startswith("---") or rest.startswith("+++"):
                continue
            mu = _unf.match(rest)
            if mu:
                pending[pid] = (mu.group(1), mu.group(2))
                continue
            mr = _res.match(rest)
            if mr:
                name, pre = pending.pop(pid, (mr.group(1), ""))
                rest = "%s(%s %s" % (name, pre, mr.group(2))
            mc = _call.match(rest)
            if mc:
                raw.append((pid, mc.group(1), split_args(mc.group(2)), mc.group(3).strip()))
            elif rest.startswith("exit_group("):
                a = rest[len("exit_group("):].split(")")[0]
                raw.append((pid, "exit_group", [a], "?"))

    parent = {}
    for pid, name, args, ret in raw:
        if name in ("clone", "clone3", "fork", "vfork"):
            m = re.match(r"^(\d+)", ret)
            if m:
                parent[int(m.group(1))] = pid
    first = raw[0][0] if raw else None
    cwd = {}
    if first is not None and cwd0:
        cwd[first] = cwd0

    def getcwd(pid):
        p = pid
        seen = 0
        while p not in cwd and p in parent and seen < 100:
            p = parent[p]
            seen += 1
        c = cwd.get(p)
        if c is not None:
            cwd[pid] = c
        return c

    def absp(pid, p, dirarg=None):
        if p is None:
            return None
        p = p.decode("latin-1") if isinstance(p, bytes) else p
        if p.startswith("/"):
            return os.path.normpath(p)
        base = fdpath(dirarg) if dirarg else None
        if base is None:
            base = getcwd(pid)
        if base is None:
            return p
        return os.path.normpath(os.path.join(base, p))

    ev = []

    def add(pid, call, **kw):
        d = {"i": len(ev), "pid": pid, "call": call}
        d.update(kw)
        ev.append(d)

    for pid, name, args, ret in raw:
        for a in args:
            if a.startswith("AT_FDCWD<"):
                cwd[pid] = fdpath(a)
                break
        ok = ret.startswith("0") or re.match(r"^\d", ret) is not None
        if name == "+exit":
            add(pid, "exit", code=int(args[0]))
            continue
        if name == "exit_group":
            try:
                add(pid, "exit", code=int(args[0]))
            except ValueError:
                pass
            continue
        if not ok:
            continue
        if name == "execve":
            add(pid, "exec", path=absp(pid, decode_str(args[0])))
        elif name == "chdir":
            p = absp(pid, decode_str(args[0]))
            if p and p.startswith("/"):
                cwd[pid] = p
        elif name == "fchdir":
            p = fdpath(args[0])
            if p:
                cwd[pid] = p
        elif name in ("fsync", "fdatasync"):
            add(pid, "fsync", path=fdpath(args[0]), how=name)
        elif name in ("link", "rename"):
            add(pid, "link", src=absp(pid, decode_str(args[0])), dst=absp(pid, decode_str(args[1])), how=name)
        elif name in ("linkat", "renameat", "renameat2"):
            add(pid, "link", src=absp(pid, decode_str(args[1]), args[0]),
                dst=absp(pid, decode_str(args[3]), args[2]), how=name)
        elif name == "unlink":
            add(pid, "unlink", path=absp(pid, decode_str(args[0])))
        elif name == "unlinkat":
            add(pid, "unlink", path=absp(pid, decode_str(args[1]), args[0]))
        elif name in ("open", "creat"):
            add(pid, "open", path=fdpath(ret) or absp(pid, decode_str(args[0])), flags=args[1] if len(args) > 1 else "")
        elif name == "openat":
            add(pid, "open", path=fdpath(ret) or absp(pid, decode_str(args[1]), args[0]),
                flags=args[2] if len(args) > 2 else "")
        elif name in ("write", "pwrite64"):
            add(pid, "write", path=fdpath(args[0]), data=decode_str(args[1]) or b"")
        elif name == "writev":
            data = b"".join(decode_str(x) or b"" for x in re.findall(r'iov_base="(?:[^"\\]|\\.)*"', ",".join(args[1:]))
                            for x in [x[len("iov_base="):]])
            add(pid, "write", path=fdpath(args[0]), data=data)
    return ev, parent


def progs(ev, parent):
    """pid -> the program it runs (last exec, else its parent's)."""
    out = {}
    for e in ev:
        if e["call"] == "exec":
            out[e["pid"]] = e["path"]
    pids = set(e["pid"] for e in ev) | set(parent)
    res = {}
    for p in pids:
        q, n = p, 0
        while q not in out and q in parent and n < 100:
            q, n = parent[q], n + 1
        res[p] = out.get(q)
    return res


def descendants(parent, top):
    """top and every pid below it."""
    kids = {}
    for c, p in parent.items():
        kids.setdefault(p, []).append(c)
    out, todo = set(), [top]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo += kids.get(p, [])
    return out


def same_file(ev, path, upto=None):
    """Every name that path had through link/rename (both directions) in
    events before index upto (all when None)."""
    names = {path}
    changed = True
    while changed:
        changed = False
        for e in ev:
            if upto is not None and e["i"] >= upto:
                break
            if e["call"] == "link":
                if e["src"] in names and e["dst"] not in names:
                    names.add(e["dst"])
                    changed = True
                if e["dst"] in names and e["src"] not in names:
                    names.add(e["src"])
                    changed = True
    return names


def find(ev, pred, start=0, end=None):
    """First event with start <= i < end matching pred, or None."""
    for e in ev[start:end]:
        if pred(e):
            return e
    return None
