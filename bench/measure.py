"""measure: where the figures come from.

Accounting: one group per MTA for CPU time (cgroup v2 cpu.stat, else
cgroup v1 cpuacct, else /proc), split into the MTA's daemons and the
injecting sendmail processes, and the list of the MTA's processes (to stop
them and to attach strace to them).

Trace: counts from strace -f output: processes started, programs
executed, files created, fsyncs and every system call, in all and by
program.

Profile: perf samples of one MTA's cgroup, by program and by where the
code lives (kernel, ld.so, libc, the rest).

Memory: the peak resident size (VmHWM) and the private and proportional
memory (smaps_rollup) of processes, the process serving a given TCP
connection, and a sampler of the MTA's memory while a workload runs."""
import ctypes, os, re, resource, signal, subprocess, threading, time
from collections import Counter

from common import say, wait_for


class Accounting:
    """One group per MTA with two parts: 'daemons' (the MTA's own processes
    and everything they start) and 'inject' (the sendmail processes the
    injecting loops start, and their children). cpu(mta) gives (user, sys)
    seconds so far; the difference over a workload is what it cost.

    Without cgroups ('proc'), this process becomes a child subreaper, so
    that every process the running MTA starts stays its descendant (the
    MTAs run one after the other): the MTA's CPU is then the utime+stime+
    cutime+cstime of the living descendants plus what the reaped ones used
    (getrusage RUSAGE_CHILDREN, which includes the injecting processes)."""

    def __init__(self, mtas, want="auto"):
        self.mode, self.root = self._find(want)
        self.mtas = mtas
        if self.mode != "proc":
            self._remove_stale()
            os.mkdir(self.root)
            for m in mtas:
                os.mkdir(os.path.join(self.root, m))
                for part in ("daemons", "inject"):
                    os.mkdir(os.path.join(self.root, m, part))
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(36, 1, 0, 0, 0) != 0:      # PR_SET_CHILD_SUBREAPER
                say("warning: cannot become a child subreaper; CPU figures will miss daemons")

    def _remove_stale(self):
        """Groups left by a bench that was killed: stop what still runs in
        them (an MTA) and remove them."""
        top = os.path.dirname(self.root)
        for name in os.listdir(top):
            m = re.fullmatch(r"nqbench-(\d+)", name)
            if not m or os.path.exists("/proc/" + m.group(1)):
                continue
            say("removing the cgroup %s left by an earlier run" % name)
            for dirpath, dirs, _ in os.walk(os.path.join(top, name), topdown=False):
                procs = os.path.join(dirpath, "cgroup.procs")
                for _ in range(50):
                    with open(procs) as f:
                        pids = [int(x) for x in f.read().split()]
                    if not pids:
                        break
                    for p in pids:
                        try:
                            os.kill(p, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    time.sleep(0.1)
                try:
                    os.rmdir(dirpath)
                except OSError as e:
                    say("cannot remove %s: %s" % (dirpath, e))

    @staticmethod
    def _find(want):
        name = "nqbench-%d" % os.getpid()
        v1 = None
        with open("/proc/mounts") as f:
            for line in f:
                dev, mnt, fstype, opts = line.split()[:4]
                if fstype == "cgroup2" and want in ("auto", "v2"):
                    probe = os.path.join(mnt, name)
                    try:
                        os.mkdir(probe)
                    except OSError:
                        continue
                    ok = os.path.exists(os.path.join(probe, "cpu.stat"))
                    os.rmdir(probe)
                    if ok:
                        return "cgroup v2 cpu.stat (%s)" % mnt, probe
                if fstype == "cgroup" and "cpuacct" in opts.split(",") and want in ("auto", "v1"):
                    if os.path.exists(os.path.join(mnt, "cpuacct.usage_user")):
                        v1 = mnt
        if v1:
            return "cgroup v1 cpuacct (%s)" % v1, os.path.join(v1, name)
        if want not in ("auto", "proc"):
            raise SystemExit("bench: no cgroup %s here" % want)
        return "proc", None

    def perf_cgroup(self, mta):
        """The MTA's group as perf -G wants it (cgroup v2 only), or None."""
        if not self.mode.startswith("cgroup v2"):
            return None
        return os.path.join(os.path.basename(self.root), mta)

    def describe(self):
        if self.mode == "proc":
            return "/proc: utime+stime+cutime+cstime of the MTA's processes (the bench is " \
                   "their subreaper) plus getrusage of the reaped ones"
        return self.mode

    def procs_file(self, mta, part):
        if self.mode == "proc":
            return None
        return os.path.join(self.root, mta, part, "cgroup.procs")

    def preexec(self, mta, part="daemons"):
        """A preexec_fn putting the child into the MTA's group."""
        pf = self.procs_file(mta, part)
        def pre():
            os.setsid()
            if pf:
                with open(pf, "w") as f:
                    f.write("0\n")
        return pre

    def _cg_cpu(self, path):
        if self.mode.startswith("cgroup v2"):
            vals = {}
            with open(os.path.join(path, "cpu.stat")) as f:
                for line in f:
                    k, v = line.split()
                    vals[k] = int(v)
            return vals["user_usec"] / 1e6, vals["system_usec"] / 1e6
        with open(os.path.join(path, "cpuacct.usage_user")) as f:
            u = int(f.read())
        with open(os.path.join(path, "cpuacct.usage_sys")) as f:
            s = int(f.read())
        return u / 1e9, s / 1e9

    def cpu(self, mta, part=None):
        """(user, sys) seconds used so far by the MTA (or one part; None
        for the inject part in proc mode, where nqbench reports it)."""
        if self.mode != "proc":
            # both versions count a group's descendants in the group
            p = os.path.join(self.root, mta) if part is None else os.path.join(self.root, mta, part)
            return self._cg_cpu(p)
        if part == "inject":
            return None
        while True:                 # reap orphans, so that their time is counted
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        tck = os.sysconf("SC_CLK_TCK")
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        u, s = ru.ru_utime, ru.ru_stime
        for pid in self.pids(mta):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                u += (int(fields[11]) + int(fields[13])) / tck
                s += (int(fields[12]) + int(fields[14])) / tck
            except (OSError, IndexError, ValueError):
                pass
        return u, s

    def pids(self, mta):
        """The MTA's processes now."""
        if self.mode != "proc":
            out = []
            for part in ("daemons", "inject"):
                with open(self.procs_file(mta, part)) as f:
                    out += [int(x) for x in f.read().split()]
            return out
        # every descendant of this process (only one MTA runs at a time)
        children = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if st[0] != "Z":
                children.setdefault(int(st[1]), []).append(int(d))
        out, todo = [], list(children.get(os.getpid(), []))
        while todo:
            p = todo.pop()
            out.append(p)
            todo += children.get(p, [])
        return out

    def kill(self, mta):
        if self.mode.startswith("cgroup v2"):
            for part in ("daemons", "inject"):
                k = os.path.join(self.root, mta, part, "cgroup.kill")
                if os.path.exists(k):
                    with open(k, "w") as f:
                        f.write("1\n")
        for _ in range(3):
            for p in self.pids(mta):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if wait_for(lambda: not self.pids(mta), 5):
                return

    def remove(self):
        if self.mode == "proc":
            return
        for m in self.mtas:
            if self.pids(m):
                self.kill(m)
        # a group can be busy for a moment after its last process died
        for _ in range(50):
            for dirpath, _, _ in os.walk(self.root, topdown=False):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass
            if not os.path.exists(self.root):
                return
            time.sleep(0.1)
        say("could not remove " + self.root)


# --- strace output ------------------------------------------------------------

LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
RESULT = re.compile(r".*\)\s+=\s+(-?\d+|0x[0-9a-f]+|\?)")   # greedy: the last " = "
FSYNCS = ("fsync", "fdatasync", "sync_file_range", "syncfs", "sync", "msync")
FORKS = ("fork", "vfork", "clone", "clone3")
EXECVE = re.compile(r'^execve(?:at)?\((?:\w+, )?"([^"]*)"')
SETNAME = re.compile(r'^prctl\(PR_SET_NAME, "([^"]*)"')
SPENT = re.compile(r"<(\d+\.\d+)>$")        # strace -T: seconds in the call
# Calls that wait for something else (a client, a child, a timer, another
# daemon), and reads from a socket or a pipe (strace -y names the fd): time
# in them is waiting, not work.
WAITS = {"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2",
         "accept", "accept4", "flock", "restart_syscall", "wait4", "waitid", "nanosleep",
         "clock_nanosleep", "pause", "rt_sigsuspend", "rt_sigtimedwait"}
READS = {"read", "readv", "recvfrom", "recvmsg"}
STREAM_FD = re.compile(r"^\w+\(\d+<(?:socket|pipe|TCP|TCPv6|UNIX|UDP)")


class Trace:
    """Counts from strace -f output files, in total and per program. A
    process is named after the program it last executed (or the name it
    last gave itself with prctl PR_SET_NAME, as a forked child that runs
    linked-in code may), before that after its parent at the moment of the
    fork; the processes strace attached to are named from /proc when the
    sample starts. With strace -T, the time spent in each call is added
    up too (wall clock), split into work and waiting (WAITS; with -y,
    reads from sockets and pipes are waiting too)."""

    def __init__(self, attached):
        self.attached = set(attached)
        self.names = {p: self.program(p) for p in attached}
        # (pid, syscall, text, result or None, seconds or None), as completed
        self.records = []
        self.pids = set()

    @staticmethod
    def program(pid):
        try:
            return os.path.basename(os.readlink("/proc/%d/exe" % pid))
        except OSError:
            try:
                with open("/proc/%d/comm" % pid) as f:
                    return f.read().strip()
            except OSError:
                return "?"

    def read(self, path):
        pending = {}
        with open(path, errors="replace") as f:
            for line in f:
                m = LINE.match(line.rstrip("\n"))
                if not m:
                    continue
                pid, rest = int(m.group(1)), m.group(2)
                self.pids.add(pid)
                if rest.startswith("+++") or rest.startswith("---"):
                    continue
                r = RESUMED.match(rest)
                if r:
                    name, head = pending.pop(pid, (r.group(1), ""))
                    full = head + r.group(2)
                else:
                    c = CALL.match(rest)
                    if not c:
                        continue
                    name = c.group(1)
                    if rest.endswith("<unfinished ...>"):
                        pending[pid] = (name, rest[:-len("<unfinished ...>")])
                        continue
                    full = rest
                res = RESULT.match(full)
                ok = bool(res) and not res.group(1).startswith("-") and res.group(1) != "?"
                t = SPENT.search(full)
                self.records.append((pid, name, full, res.group(1) if ok else None,
                                     float(t.group(1)) if t else None))

    def summary(self, n):
        """Figures per message (n messages or recipients were traced)."""
        born, execs = {}, {}
        for i, (pid, name, full, ret, _) in enumerate(self.records):
            if ret is None:
                continue
            if name in FORKS and ret.isdigit():
                born[int(ret)] = (pid, i)
            elif name in ("execve", "execveat"):
                e = EXECVE.match(full)
                execs.setdefault(pid, []).append((i, os.path.basename(e.group(1)) if e else "?"))
            elif name == "prctl":
                e = SETNAME.match(full)
                if e:
                    execs.setdefault(pid, []).append((i, e.group(1)))

        def name_at(pid, i, depth=0):
            prog = None
            for j, p in execs.get(pid, ()):
                if j <= i:
                    prog = p
            if prog:
                return prog
            if pid in born and depth < 50:
                return name_at(born[pid][0], born[pid][1], depth + 1)
            return self.names.get(pid, "?")

        total = Counter()
        calls = Counter()
        seconds = Counter()        # syscall: seconds spent in it (strace -T)
        spent = {}                 # program: {syscall: seconds}, waiting left out
        waited = Counter()         # program: seconds waiting
        per = {}

        def count(prog, key):
            per.setdefault(prog, Counter())[key] += 1
            total[key] += 1

        for i, (pid, name, full, ret, secs) in enumerate(self.records):
            prog = name_at(pid, i)
            calls[name] += 1
            count(prog, "calls")
            if secs is not None:
                seconds[name] += secs
                if name in WAITS or (name in READS and STREAM_FD.match(full)):
                    waited[prog] += secs
                else:
                    spent.setdefault(prog, Counter())[name] += secs
            if ret is None:
                continue
            if name in ("open", "openat", "openat2", "creat"):
                if (name == "creat" or "O_CREAT" in full) and '"/dev/' not in full \
                   and '"/proc/' not in full:
                    count(prog, "creates")
            elif name in FSYNCS:
                count(prog, "fsyncs")
            elif name in ("execve", "execveat"):
                count(prog, "execs")
        for pid in self.pids - self.attached:
            count(name_at(pid, len(self.records)), "procs")
        out = {k: total[k] / n for k in ("procs", "execs", "creates", "fsyncs")}
        out["calls"] = {k: v / n for k, v in calls.items()}
        out["seconds"] = {k: v / n for k, v in seconds.items()}
        out["spent"] = {p: {k: v / n for k, v in c.items()} for p, c in spent.items()}
        out["waited"] = {p: v / n for p, v in waited.items()}
        out["programs"] = {p: {k: v / n for k, v in c.items()} for p, c in per.items()}
        return out


# --- perf profile ---------------------------------------------------------------

class Profile:
    """perf record of one MTA's cgroup (all its processes, nothing else on
    the machine) while a workload runs; then the share of the samples by
    program (comm) and by where the code lives (kernel, dynamic loader,
    libc, the rest)."""

    def __init__(self, cgroup, data):
        self.cgroup, self.data, self.proc = cgroup, data, None

    def start(self):
        self.proc = subprocess.Popen(["perf", "record", "-q", "-a", "-e", "cpu-clock", "-F", "999",
                                      "-G", self.cgroup, "-o", self.data],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        if self.proc.poll() is not None:
            say("perf record failed: " + self.proc.stderr.read().strip())
            self.proc = None
        return self.proc is not None

    def stop(self):
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def shares(self):
        """{program: {"kernel"|"ld.so"|"libc"|"rest": fraction of all samples}}"""
        r = subprocess.run(["perf", "report", "-i", self.data, "--no-children", "--sort", "comm,dso",
                            "--stdio", "-q", "-t", "|", "--percent-limit", "0"],
                           capture_output=True, text=True)
        out = {}
        for line in r.stdout.splitlines():
            f = [x.strip() for x in line.split("|")]
            if len(f) < 3 or not f[0].endswith("%"):
                continue
            pct, comm, dso = float(f[0][:-1]) / 100, f[1], f[2]
            where = "kernel" if dso.startswith("[kernel") else \
                    "ld.so" if dso.startswith("ld-linux") or dso.startswith("ld.so") else \
                    "libc" if dso.startswith("libc.so") or dso.startswith("libc-") else "rest"
            c = out.setdefault(comm, Counter())
            c[where] += pct
        return out


# --- memory -----------------------------------------------------------------------

def status_kib(pid, field):
    """A "Field: N kB" value of /proc/PID/status, or None (gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def smaps(pid):
    """{"Rss", "Pss", "Private"} in KiB from /proc/PID/smaps_rollup, or None."""
    out = {"Rss": 0, "Pss": 0, "Private": 0}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, rest = line.partition(":")
                v = rest.split()
                if not v or not v[0].isdigit():
                    continue
                if k in ("Rss", "Pss"):
                    out[k] = int(v[0])
                elif k in ("Private_Clean", "Private_Dirty"):
                    out["Private"] += int(v[0])
    except OSError:
        return None
    return out


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def connection_owners(pids, port, peer_port):
    """The processes among pids holding the TCP socket whose local port is
    port and whose peer is 127.0.0.1:peer_port (the server side of one of
    our connections), those that inherited it from another holder left out."""
    inodes = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            v = line.split()
            if int(v[1].split(":")[1], 16) == port and int(v[2].split(":")[1], 16) == peer_port:
                inodes.add("socket:[%s]" % v[9])
    holders = set()
    for p in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % p)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (p, fd)) in inodes:
                    holders.add(p)
                    break
            except OSError:
                pass

    def parent(p):
        try:
            with open("/proc/%d/stat" % p) as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return None
    return sorted(p for p in holders if parent(p) not in holders)


class MemSampler:
    """While a workload runs, every INTERVAL seconds: the sum of the
    proportional set sizes (PSS: shared pages divided among the processes
    sharing them) of all the MTA's processes, and the largest VmHWM of its
    processes named `server` (qmail-smtpd, smtpd). Keeps the peaks. Reading
    smaps_rollup walks page tables, so the interval is not short."""
    INTERVAL = 0.25

    def __init__(self, acct, mta, server):
        self.acct, self.mta, self.server = acct, mta, server
        self.peak_pss = 0
        self.peak_hwm = 0
        self.servers_seen = set()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def sample(self):
        total = 0
        for p in self.acct.pids(self.mta):
            m = smaps(p)
            if m:
                total += m["Pss"]
            if comm(p) == self.server:
                self.servers_seen.add(p)
                h = status_kib(p, "VmHWM")
                if h:
                    self.peak_hwm = max(self.peak_hwm, h)
        self.peak_pss = max(self.peak_pss, total)

    def run(self):
        while True:
            try:
                self.sample()
            except OSError:
                pass
            if self.stopping.wait(self.INTERVAL):
                return

    def stop(self):
        self.stopping.set()
        self.thread.join()
