"""remote: relaying to a remote SMTP server (issue 5), the same for both MTAs.

One receiver, bench/sink.py on 127.0.0.1:SINKPORT, started by the bench
outside the MTAs' cgroups, takes every message and counts connections,
messages and recipients. Both MTAs relay everything to it:
nqmail through control/smtproutes (a line per destination domain and the
catch-all, all [127.0.0.1]:SINKPORT), Postfix through relayhost and a
transport map with the same entries (and default_transport smtp).

  (r) N messages (5000) to one address at one destination, injected by
      L (4) parallel sendmail loops; timed from the first injection until
      the sink has the last one;
  (f) one message to R (1000) recipients spread over 10 destination
      domains; timed until the sink has every recipient.

For both: messages per second, connections the sink saw, CPU of the MTA's
processes per message (and per recipient), with and without injection."""
import os, socket, subprocess, sys, time

from common import SENDER, TOP, fail, machine_busy, say, wait_for, write
from mtas import free_port

RDOMAIN = "remote.test"
NDOM = 10


def ask(port):
    """The sink's counters: (connections, messages, recipients, last time)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"XSTAT\r\n")
        w = f.readline().split()
    return int(w[1]), int(w[2]), int(w[3]), float(w[4])


class Remote:
    def __init__(self, bench):
        self.b = bench
        self.port = free_port()
        self.sink = subprocess.Popen([sys.executable, "-B", os.path.join(TOP, "bench", "sink.py"),
                                      str(self.port)], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        bench.running.append(self.sink)
        if self.sink.stdout.readline().strip() != b"ready":
            fail("the SMTP sink did not start")
        self.empty = os.path.join(bench.work, "remote-nowatch")
        os.makedirs(self.empty, exist_ok=True)

    def sink_cpu(self):
        """CPU seconds the sink has used (it is nobody's: taken out of the
        machine's other load)."""
        try:
            with open("/proc/%d/stat" % self.sink.pid) as f:
                v = f.read().rsplit(")", 1)[1].split()
            return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def domains(self):
        return ["d%d.%s" % (i, RDOMAIN) for i in range(NDOM)]

    def configure(self, mta):
        relay = "[127.0.0.1]:%d" % self.port
        if mta.name == "nqmail":
            write(os.path.join(mta.q, "control", "smtproutes"),
                  "".join("%s:%s\n" % (d, relay) for d in self.domains() + [RDOMAIN]) +
                  ":%s\n" % relay)
        else:
            tr = os.path.join(mta.conf, "transport")
            write(tr, "".join("%s smtp:%s\n" % (d, relay) for d in self.domains() + [RDOMAIN]))
            mta.postconf("-e", "relayhost=" + relay, "default_transport=smtp",
                         "transport_maps=texthash:" + tr)
            mta.postconf("-M", "smtp/unix=smtp unix - - n - - smtp")

    def wait_sink(self, key, want, timeout):
        """Wait until the sink's counter key (1 msgs, 2 rcpts) reaches want."""
        got = [ask(self.port)]

        def done():
            got[0] = ask(self.port)
            return got[0][key] >= want
        wait_for(done, timeout, 0.05)
        return got[0]

    def run(self, mta):
        b, a = self.b, self.b.args
        R = b.results.setdefault(mta.name, {})
        self.configure(mta)
        mta.start()
        msg = b.message("msg-r", "sink@" + RDOMAIN)
        rcpt = ["sink@" + RDOMAIN]
        # warm-up: helpers start lazily, and the first connection costs more
        s0 = ask(self.port)
        b.inject(mta, msg, rcpt, [self.empty], 0, 1, 20)
        self.wait_sink(1, s0[1] + 20, 60)
        b.settle(mta)

        # (r) N messages to one destination
        per = a.messages // a.loops
        n = per * a.loops
        s0 = ask(self.port)
        k0 = self.sink_cpu()
        c0, i0, m0, t0 = b.cpu(mta), b.cpu(mta, "inject"), machine_busy(), time.time()
        say("%s: (r) %d messages relayed to one destination by %d sendmail loops"
            % (mta.name, n, a.loops))
        r = b.inject(mta, msg, rcpt, [self.empty], 0, a.loops, per, timeout=a.timeout)
        s1 = self.wait_sink(1, s0[1] + n, a.timeout)
        b.settle(mta)
        c1, i1, m1, t1 = b.cpu(mta), b.cpu(mta, "inject"), machine_busy(), time.time()
        R["r_sink_cpu_ms"] = (self.sink_cpu() - k0) * 1000 / n
        R["r_count"] = s1[1] - s0[1]
        if R["r_count"] != n:
            b.failures.append("%s: (r) the sink got %d of %d messages" % (mta.name, R["r_count"], n))
        R["r_deliver_s"] = s1[3] - t0 if R["r_count"] == n else -1
        R["r_inject_s"] = r.get("inject_s", -1)
        R["r_conns"] = s1[0] - s0[0]
        R["r_cpu_ms"] = (c1 - c0) * 1000 / n
        R["r_cpu_inject_ms"] = b.inject_cpu(i0, i1, r) * 1000 / n
        R["r_cpu_daemons_ms"] = R["r_cpu_ms"] - R["r_cpu_inject_ms"]
        R["r_other_pct"] = max(0.0, (m1 - m0) - (c1 - c0) - R["r_sink_cpu_ms"] * n / 1000) * 100 \
            / ((t1 - t0) * os.cpu_count())
        say("%s: (r) relayed %d in %.2fs over %d connections"
            % (mta.name, R["r_count"], R["r_deliver_s"], R["r_conns"]))

        # (f) one message to R recipients over NDOM domains
        nr = a.recipients
        rcpts = ["r%d@%s" % (i, self.domains()[i % NDOM]) for i in range(nr)]
        msg_f = b.message("msg-f", "undisclosed-recipients:;")
        s0 = ask(self.port)
        c0, t0 = b.cpu(mta), time.time()
        say("%s: (f) one message to %d recipients at %d domains" % (mta.name, nr, NDOM))
        b.inject(mta, msg_f, rcpts, [self.empty], 0, 1, 1, timeout=a.timeout)
        s1 = self.wait_sink(2, s0[2] + nr, a.timeout)
        b.settle(mta)
        c1 = b.cpu(mta)
        R["f_rcpts"] = s1[2] - s0[2]
        if R["f_rcpts"] != nr:
            b.failures.append("%s: (f) the sink got %d of %d recipients" % (mta.name, R["f_rcpts"], nr))
        R["f_deliver_s"] = s1[3] - t0 if R["f_rcpts"] == nr else -1
        R["f_msgs"] = s1[1] - s0[1]
        R["f_conns"] = s1[0] - s0[0]
        R["f_cpu_ms"] = (c1 - c0) * 1000 / nr
        say("%s: (f) %d recipients in %.2fs, %d messages over %d connections"
            % (mta.name, R["f_rcpts"], R["f_deliver_s"], R["f_msgs"], R["f_conns"]))
        mta.stop()

    def stop(self):
        if self.sink.poll() is None:
            self.sink.terminate()
            self.sink.wait(10)
        if self.sink in self.b.running:
            self.b.running.remove(self.sink)


def rows(row, rate, a):
    """The remote part's rows of the bench's table."""
    n = a.messages // a.loops * a.loops
    row("(r) %d msgs relayed to one destination, %d loops: until all at the sink [s]"
        % (n, a.loops), "r_deliver_s", "%.2f")
    row("(r) messages per second (higher is better)", rate("r_deliver_s", n), "%.0f")
    row("(r) injection alone: all sendmails done [s]", "r_inject_s", "%.2f")
    row("(r) messages at the sink", "r_count", "%d", False)
    row("(r) connections opened to the sink", "r_conns", "%d")
    row("(r) CPU per message, all processes [ms]", "r_cpu_ms", "%.2f")
    row("(r)   of which the injecting sendmail & co [ms]", "r_cpu_inject_ms", "%.2f")
    row("(r)   of which the MTA's daemons & deliveries [ms]", "r_cpu_daemons_ms", "%.2f")
    row("(r) the sink's CPU per message (not the MTA's) [ms]", "r_sink_cpu_ms", "%.2f")
    row("other CPU load on the machine during (r) [%]", "r_other_pct", "%.0f", False)
    row("(f) 1 msg to %d rcpts at %d domains: until all at the sink [s]" % (a.recipients, NDOM),
        "f_deliver_s", "%.2f")
    row("(f) recipients per second (higher is better)", rate("f_deliver_s", a.recipients), "%.0f")
    row("(f) recipients at the sink", "f_rcpts", "%d", False)
    row("(f) messages (SMTP transactions) at the sink", "f_msgs", "%d")
    row("(f) connections opened to the sink", "f_conns", "%d")
    row("(f) CPU per recipient, all processes [ms]", "f_cpu_ms", "%.2f")
