"""common: what every part of the benchmark shares (names, small helpers).

The bench domain, user and sender are the same for both MTAs, so that the
two deliver the same messages into the same Maildirs."""
import os, subprocess, sys, time

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DOMAIN = "bench.test"      # local domain: workload (a), a real local user
VDOMAIN = "vbench.test"    # workload (b): rN@vbench.test, one Maildir each
# The bench user, created and removed by the run; named after the run's pid,
# so that two runs on one machine (e.g. by two people) do not take each
# other's user away.
USER = "nqbench%d" % os.getpid()
USER_RE = r"nqbench(\d+)"
SENDER = "bench-sender@" + DOMAIN
SESSIONS = 20              # SMTP: parallel sessions (tcpserver -c, Postfix's smtpd maxproc)
CLIENT = "client.test"     # SMTP: the name the client gives in HELO


def say(msg):
    print("bench: " + msg, flush=True)


def fail(msg):
    print("bench: FAIL: " + msg, file=sys.stderr, flush=True)
    raise SystemExit(1)


def sh(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        fail("%s exited %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def wait_for(pred, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def files_under(path):
    n = 0
    for _, _, fs in os.walk(path):
        n += len(fs)
    return n


def machine_busy():
    """CPU seconds the whole machine has spent busy (all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
