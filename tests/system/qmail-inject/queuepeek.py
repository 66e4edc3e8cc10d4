"""queuepeek: helpers for the qmail-inject and sendmail tests.

These tests run without qmail-send: a message handed to qmail-queue stays
in the queue, so a test reads the envelope (queue/todo/N) and the message
(queue/mess/S/N) back and asserts on their bytes.

    from queuepeek import Peek
    p = Peek(q)                        # q: an nqtest.Instance
    r, msgs = p.inject("To: a\\n\\nhi\\n", args=["-a", "x@y"], env={...})
    m = msgs[0]; m.sender; m.rcpts; m.header("Date"); m.body
"""
import os, re, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nqtest import run  # noqa: E402

SPLIT = 23


def base_env(**kw):
    """A small, fixed environment: no stray USER/NAME/QMAIL* from the caller."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TZ": os.environ.get("TZ", "UTC")}
    for k, v in kw.items():
        if v is not None:
            env[k] = v
    return env


# Peak RSS is measured from a small launcher: a child forked from this
# (large) test process would inherit its high-water mark across exec.
_LAUNCH = r"""
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open("/dev/null", os.O_WRONLY)
    os.dup2(fd, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, st, ru = os.wait4(pid, 0)
sys.stdout.write("%d %d\n" % (os.waitstatus_to_exitcode(st), ru.ru_maxrss))
"""


def peak_rss(argv, stdin_path, env):
    """Run argv with stdin from the file stdin_path; returns (exit code,
    stderr text, peak RSS in KB of the program and its waited-for children)."""
    with open(stdin_path, "rb") as f:
        r = subprocess.run([sys.executable, "-S", "-c", _LAUNCH] + list(argv), stdin=f,
                           capture_output=True, env=env, timeout=120)
    code, rss = r.stdout.split()
    return int(code), r.stderr.decode("utf-8", "replace"), int(rss)


class Message:
    def __init__(self, num, envelope, data):
        self.num = num
        self.envelope = envelope
        self.data = data
        recs = envelope.split(b"\0")
        self.uid = self.pid = None
        self.sender = None
        self.rcpts = []
        for r in recs:
            if r.startswith(b"u") and self.sender is None:
                self.uid = int(r[1:])
            elif r.startswith(b"p") and self.sender is None:
                self.pid = int(r[1:])
            elif r.startswith(b"F"):
                self.sender = r[1:].decode("utf-8", "replace")
            elif r.startswith(b"T"):
                self.rcpts.append(r[1:].decode("utf-8", "replace"))
        i = data.find(b"\n\n")
        self.head = (data if i < 0 else data[:i + 1]).decode("utf-8", "replace")
        self.body = b"" if i < 0 else data[i + 2:]

    def fields(self):
        """[(name, value with folding kept)] in order."""
        out = []
        for line in self.head.splitlines(True):
            if line[:1] in (" ", "\t") and out:
                out[-1] = (out[-1][0], out[-1][1] + line)
            elif ":" in line:
                n, v = line.split(":", 1)
                out.append((n, v))
        return [(n, v.strip("\n")) for n, v in out]

    def header(self, name):
        """Values of every field called name (case-insensitive), unfolded."""
        return [re.sub(r"\n[ \t]+", " ", v).strip() for n, v in self.fields() if n.lower() == name.lower()]

    def names(self):
        return [n for n, v in self.fields()]


class Peek:
    def __init__(self, q):
        self.q = q

    def messages(self):
        todo = self.q.path("queue/todo")
        out = []
        for name in sorted(os.listdir(todo), key=int):
            num = int(name)
            with open(os.path.join(todo, name), "rb") as f:
                env = f.read()
            mess = self.q.path("queue/mess/%d/%d" % (num % SPLIT, num))
            with open(mess, "rb") as f:
                data = f.read()
            m = Message(num, env, data)
            m.mess_uid = os.stat(mess).st_uid
            out.append(m)
        return out

    def clear(self):
        for d in ("todo", "intd"):
            p = self.q.path("queue/" + d)
            for n in os.listdir(p):
                os.unlink(os.path.join(p, n))
        for s in range(SPLIT):
            p = self.q.path("queue/mess/%d" % s)
            for n in os.listdir(p):
                os.unlink(os.path.join(p, n))
        for n in os.listdir(self.q.path("queue/pid")):
            os.unlink(os.path.join(self.q.path("queue/pid"), n))

    def inject(self, text, args=(), env=None, user=None, prog="qmail-inject", timeout=120):
        """Run DIR/bin/prog with args on text; return (CompletedProcess, messages
        queued by it). The queue is emptied before and after."""
        self.clear()
        r = run([self.q.bin(prog)] + list(args), input=text, env=env if env is not None else base_env(),
                user=user or self.q.as_owner(), timeout=timeout)
        msgs = self.messages()
        self.clear()
        return r, msgs
