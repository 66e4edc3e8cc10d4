"""smtp: the SMTP workloads of the benchmark, the same for both MTAs.

The client is Postfix's smtp-source for both: SESSIONS (20) parallel
sessions, one message of 1 KiB per connection (smtp-source's default: a
new connection for every message, as mail from the internet mostly comes),
HELO client.test, MAIL FROM the bench sender, RCPT TO the bench user. It
runs in the MTA's "inject" group, and its CPU is taken out of the MTA's.

  (s) acceptance: N messages (5000) with delivery paused, so that only the
      SMTP side works (nqmail: tcpserver, qmail-smtpd, qmail-queue and
      what they start; Postfix: smtpd, cleanup, trivial-rewrite, proxymap,
      anvil, ...); then delivery is resumed and the queue drains into the
      user's Maildir, timed too;
  (e) end-to-end: N messages more with everything running, from the first
      connection until all are in Maildir/new;
  (m) memory per connection: the peak resident size (VmHWM) of the process
      serving a connection (qmail-smtpd; Postfix's smtpd), read from
      /proc at the end of a session after a message, and watched during
      (s) and (e); its private memory; and the peak PSS of all the MTA's
      processes during (s), divided by the number of sessions;
  and, over a sample of S messages sent one at a time, what strace -f
  counts (processes, programs, files, fsyncs, system calls, by program)
  with the time spent in each system call (strace -T), and with perf P
  messages of (e) for the CPU by program."""
import os, shutil, signal, smtplib, subprocess, time

from common import CLIENT, DOMAIN, SENDER, SESSIONS, USER, machine_busy, say, write
from measure import MemSampler, Profile, Trace, connection_owners, smaps, status_kib

WARM = 2 * SESSIONS        # warm-up messages: every session slot used twice


def other(busy, cpu, secs):
    """The rest of the machine's CPU load over a workload, in percent of all
    CPUs: what the machine was busy with, less the MTA's and the client's."""
    return max(0.0, busy - cpu) * 100 / (max(secs, 1e-3) * os.cpu_count())


class Smtp:
    def __init__(self, bench):
        self.b = bench
        self.msg = self.message()

    def message(self):
        """The 1 KiB message (headers and body, LF line ends): Date and
        Message-ID included, so that neither MTA has to add them."""
        head = ("From: Bench Sender <%s>\nTo: %s@%s\nSubject: nqmail SMTP benchmark\n"
                "Date: Thu, 01 Jan 2026 00:00:00 +0000\nMessage-ID: <smtp-bench@%s>\n"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"
                % (SENDER, USER, DOMAIN, CLIENT))
        lines = ["line %02d of the benchmark message; the quick brown fox\n" % i for i in range(20)]
        text = head + "".join(lines)
        while len(text) > 1024:
            lines.pop(0)
            text = head + "".join(lines)
        text += "x" * (1023 - len(text)) + "\n"
        p = os.path.join(self.b.work, "msg-smtp")
        write(p, text)
        return p

    def source(self, mta, count, sessions):
        return [shutil.which("smtp-source") or "/usr/sbin/smtp-source",
                "-s", str(sessions), "-m", str(count), "-M", CLIENT, "-f", SENDER,
                "-t", "%s@%s" % (USER, DOMAIN), "-F", self.msg, "127.0.0.1:%d" % mta.port]

    def send(self, mta, count, sessions, dirs=(), expect=0, timeout=None):
        """smtp-source under nqbench inject (one loop, one run): inject_s is
        when smtp-source exited (all accepted), deliver_s when the watched
        directories held `expect` new entries."""
        return self.b.inject(mta, "/dev/null", None, list(dirs), expect, 1, 1,
                             timeout=timeout or self.b.args.timeout,
                             cmd=self.source(mta, count, sessions))

    def cpu(self, mta):
        """A mark for cost(): CPU seconds so far, in all and of the client."""
        return self.b.cpu(mta), self.b.cpu(mta, "inject")

    def cost(self, mta, mark, r=None):
        """CPU seconds since mark: (the MTA's own processes, with the
        client). smtp-source runs in the MTA's "inject" group (without
        cgroups nqbench counts it), and is taken out of the first."""
        c1, i1 = self.cpu(mta)
        c0, i0 = mark
        return (c1 - c0) - self.b.inject_cpu(i0, i1, r or {}), c1 - c0

    # the workloads -------------------------------------------------------------
    def run(self, mta):
        b, a = self.b, self.b.args
        R = b.results.setdefault(mta.name, {})
        n = a.messages
        new = b.fresh_maildir(b.home)
        mta.start(deliver=False, smtp=True)
        say("%s: SMTP on 127.0.0.1:%d, delivery paused; warming up" % (mta.name, mta.port))
        self.send(mta, WARM, SESSIONS)

        # (s) acceptance alone
        say("%s: (s) %d messages over SMTP, %d sessions, delivery paused" % (mta.name, n, SESSIONS))
        mem = MemSampler(b.acct, mta.name, mta.server).start()
        c0, m0, t0 = self.cpu(mta), machine_busy(), time.time()
        r = self.send(mta, n, SESSIONS)
        m1, t1 = machine_busy(), time.time()
        mem.stop()
        cpu, total = self.cost(mta, c0, r)
        R["s_accept_s"] = r.get("inject_s", -1)
        R["s_cpu_ms"] = cpu * 1000 / n
        R["s_other_pct"] = other(m1 - m0, total, t1 - t0)
        R["m_pss_kib"] = mem.peak_pss / SESSIONS
        hwm = mem.peak_hwm
        say("%s: (s) accepted %d in %.2fs" % (mta.name, n, R["s_accept_s"]))

        # ... then the queue drains
        say("%s: (s) delivery resumed; draining %d messages" % (mta.name, n + WARM))
        c0 = self.cpu(mta)
        d = self.drain(mta, [new], n + WARM)
        b.settle(mta)
        R["s_drain_s"] = d
        R["s_drain_count"] = len(os.listdir(new))
        R["s_drain_cpu_ms"] = self.cost(mta, c0)[0] * 1000 / (n + WARM)
        say("%s: (s) drained %d in %.2fs" % (mta.name, R["s_drain_count"], d))
        b.check_content(mta, new)

        # (e) end to end
        new = b.fresh_maildir(b.home)
        say("%s: (e) %d messages over SMTP to Maildir, %d sessions" % (mta.name, n, SESSIONS))
        mem = MemSampler(b.acct, mta.name, mta.server).start()
        c0, m0, t0 = self.cpu(mta), machine_busy(), time.time()
        r = self.send(mta, n, SESSIONS, [new], n)
        b.settle(mta)
        m1, t1 = machine_busy(), time.time()
        mem.stop()
        cpu, total = self.cost(mta, c0, r)
        # before the idle smtpd processes go: their peaks so far
        hwm = max(hwm, mem.peak_hwm, self.servers_hwm(mta))
        R["e_deliver_s"] = r.get("deliver_s", -1)
        R["e_accept_s"] = r.get("inject_s", -1)
        R["e_count"] = len(os.listdir(new))
        R["e_cpu_ms"] = cpu * 1000 / n
        R["e_other_pct"] = other(m1 - m0, total, t1 - t0)
        say("%s: (e) delivered %d in %.2fs" % (mta.name, R["e_count"], R["e_deliver_s"]))
        b.check_content(mta, new)

        # (m) one session more, looked at before it ends
        probe = self.probe(mta)
        b.settle(mta)       # its messages are delivered before the Maildir is replaced
        R["m_hwm_kib"] = max(hwm, probe.get("hwm", 0)) or None
        R["m_probe_hwm_kib"] = probe.get("hwm")
        R["m_private_kib"] = probe.get("private")

        if a.sample > 0:
            self.sample(mta)
        if a.perf > 0:
            self.profile(mta)
        mta.stop()

    def drain(self, mta, dirs, total):
        """Resume delivery and time it until the directories hold total."""
        lst = os.path.join(self.b.work, "watch.lst")
        write(lst, "".join(d + "\n" for d in dirs))
        w = subprocess.Popen([self.b.helper, "watch", "-W", lst, "-e", str(total),
                              "-t", str(self.b.args.timeout)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if w.stdout.readline().strip() != "ready":
            w.kill()
            w.wait()
            self.b.failures.append("%s: nqbench watch did not start" % mta.name)
            return -1
        w.stdin.write("go\n")
        w.stdin.flush()
        mta.resume()
        out, _ = w.communicate()
        kv = dict(x.split("=", 1) for x in out.split())
        if w.returncode != 0:
            self.b.failures.append("%s: the queue did not drain within %ds: %s"
                                   % (mta.name, self.b.args.timeout, out.strip()))
        return float(kv.get("deliver_s", -1))

    def servers_hwm(self, mta):
        hwm = 0
        for p in self.b.acct.pids(mta.name):
            try:
                with open("/proc/%d/comm" % p) as f:
                    if f.read().strip() != mta.server:
                        continue
            except OSError:
                continue
            hwm = max(hwm, status_kib(p, "VmHWM") or 0)
        return hwm

    def probe(self, mta, rounds=3):
        """A session with one message, stopped before QUIT: the process
        holding the server side of the connection (qmail-smtpd, smtpd) is
        looked at then. The largest of a few rounds."""
        out = {}
        with open(self.msg) as f:
            body = f.read()    # str: smtplib sends its line ends as CR LF
        for _ in range(rounds):
            try:
                c = smtplib.SMTP("127.0.0.1", mta.port, local_hostname=CLIENT, timeout=30)
                c.helo(CLIENT)
                c.sendmail(SENDER, ["%s@%s" % (USER, DOMAIN)], body)
                owners = connection_owners(self.b.acct.pids(mta.name), mta.port,
                                           c.sock.getsockname()[1])
                for p in owners:
                    h, m = status_kib(p, "VmHWM"), smaps(p)
                    if h:
                        out["hwm"] = max(out.get("hwm", 0), h)
                    if m:
                        out["private"] = max(out.get("private", 0), m["Private"])
                c.quit()
            except (OSError, smtplib.SMTPException) as e:
                self.b.notes.append("%s: memory probe failed: %s" % (mta.name, e))
                return out
        if "hwm" not in out:
            self.b.notes.append("%s: memory probe found no process serving its connection"
                                % mta.name)
        return out

    def sample(self, mta):
        """S messages, one session at a time, with strace -f attached to
        every process of the MTA (tcpserver and qmail-send; Postfix's
        master and its children): counts per message, by program, and the
        wall-clock time in each system call (-T), by program, with the
        descriptors named (-y) to tell waiting for a peer from work."""
        b, a = self.b, self.b.args
        new = b.fresh_maildir(b.home)
        say("%s: tracing %d SMTP messages with strace -f" % (mta.name, a.sample))
        attached = b.acct.pids(mta.name)
        t = Trace(attached)
        trace = os.path.join(b.work, "%s-smtp.trace" % mta.name)
        st = subprocess.Popen(["strace", "-f", "-q", "-T", "-y", "-s", "64", "-o", trace] +
                              [x for p in attached for x in ("-p", str(p))],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        b.running.append(st)
        time.sleep(1.0)
        self.send(mta, a.sample, 1, [new], a.sample)
        b.settle(mta)
        time.sleep(0.5)
        st.send_signal(signal.SIGINT)
        try:
            st.wait(30)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait()
        b.running.remove(st)
        t.read(trace)
        b.results[mta.name]["sample_s"] = t.summary(a.sample)
        if not a.keep:
            os.unlink(trace)

    def profile(self, mta):
        """(e) again, with P messages, under perf: CPU per message by program."""
        b, a = self.b, self.b.args
        cg = b.acct.perf_cgroup(mta.name)
        if not shutil.which("perf") or cg is None:
            b.notes.append("no CPU profile by program: it needs perf (Debian: linux-perf) "
                           "and cgroup v2")
            return
        new = b.fresh_maildir(b.home)
        prof = Profile(cg, os.path.join(b.work, "%s-smtp.perf" % mta.name))
        say("%s: profiling %d SMTP messages with perf" % (mta.name, a.perf))
        if not prof.start():
            b.notes.append("perf record failed for %s: no CPU profile" % mta.name)
            return
        b.running.append(prof.proc)
        c0 = self.cpu(mta)
        r = self.send(mta, a.perf, SESSIONS, [new], a.perf)
        b.settle(mta)
        cpu = self.cost(mta, c0, r)[0]
        prof.stop()
        b.running.remove(prof.proc)
        # the client (and nqbench's child before its exec) ran in the
        # group too: its samples are not the MTA's
        shares = {k: v for k, v in prof.shares().items() if k not in ("smtp-source", "nqbench")}
        b.results[mta.name]["profile_s"] = {"ms": cpu * 1000 / a.perf, "n": a.perf,
                                            "shares": shares}
        if not a.keep:
            os.unlink(prof.data)
